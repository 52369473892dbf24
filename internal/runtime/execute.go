package runtime

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
)

// outcome is how one attempt ended.
type outcome int

const (
	succeeded outcome = iota
	failed
	timedOut
	// refused: the spec may not run here; retrying cannot help.
	refused
	// stopped: the attempt was cut short by cancellation or shutdown.
	stopped
)

// result is one attempt's outcome with its message and output.
type result struct {
	outcome   outcome
	message   string
	output    string
	truncated bool
}

// runContext is what a step sees of its run, in its environment (command)
// or its request body (http), named as the servo SDK reads them.
type runContext struct {
	ExecutionID  string `json:"execution_id"`
	WorkflowID   string `json:"workflow_id"`
	TenantID     string `json:"tenant_id"`
	AssetID      string `json:"asset_id"`
	AssetName    string `json:"asset_name"`
	PartitionKey string `json:"partition_key"`
	Attempt      int    `json:"attempt"`
}

func newRunContext(plan *service.ExecutionPlan) runContext {
	rc := runContext{
		ExecutionID: plan.Run.ID.String(), TenantID: plan.Run.TenantID, AssetID: plan.Asset.ID.String(),
		AssetName: plan.Asset.Name, PartitionKey: plan.Run.PartitionKey, Attempt: plan.Run.Attempt,
	}
	if plan.Run.WorkflowID != nil {
		rc.WorkflowID = plan.Run.WorkflowID.String()
	}
	return rc
}

// partitionContext is SERVO_PARTITION_CONTEXT.
func (rc runContext) partitionContext() string {
	b, _ := json.Marshal(map[string]any{"partition_key": rc.PartitionKey, "execution_id": rc.ExecutionID, "attempt": rc.Attempt})
	return string(b)
}

// environ builds a command's environment: a minimal base (PATH, HOME,
// LANG, TMPDIR from the server), then the spec's variables, then the run
// context, which the spec cannot override.
func (rc runContext) environ(spec *domain.ComputeSpec) []string {
	env := []string{}
	for _, k := range []string{"PATH", "HOME", "LANG", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for k, v := range spec.Env {
		if strings.HasPrefix(strings.ToUpper(k), "SERVO_") {
			continue
		}
		env = append(env, k+"="+v)
	}
	return append(env,
		"SERVO_EXECUTION_ID="+rc.ExecutionID,
		"SERVO_WORKFLOW_ID="+rc.WorkflowID,
		"SERVO_TENANT_ID="+rc.TenantID,
		"SERVO_ASSET_ID="+rc.AssetID,
		"SERVO_ASSET_NAME="+rc.AssetName,
		"SERVO_PARTITION_KEY="+rc.PartitionKey,
		"SERVO_PARTITION_CONTEXT="+rc.partitionContext(),
	)
}

// executor runs one attempt of a compute spec.
type executor struct {
	policy     Policy
	grace      time.Duration
	signingKey []byte
	client     *http.Client
}

// run executes plan's spec until it ends, times out, or stop is closed
// (cancellation or shutdown).
func (x *executor) run(ctx context.Context, plan *service.ExecutionPlan, stop <-chan struct{}) result {
	spec := plan.Asset.Compute
	if spec == nil {
		return result{outcome: succeeded, output: "observed asset: nothing to run\n"}
	}
	timeout := spec.TimeoutDuration()
	switch spec.Kind {
	case domain.ComputeCommand:
		return x.command(ctx, plan, spec, timeout, stop)
	case domain.ComputeHTTP:
		return x.http(ctx, plan, spec, timeout, stop)
	}
	return result{outcome: refused, message: "unknown compute kind " + strconv.Quote(spec.Kind)}
}

func (x *executor) command(ctx context.Context, plan *service.ExecutionPlan, spec *domain.ComputeSpec, timeout time.Duration, stop <-chan struct{}) result {
	path, err := x.policy.commandPath(spec)
	if err != nil {
		return result{outcome: refused, message: err.Error()}
	}
	dir, err := os.MkdirTemp("", "servo-run-")
	if err != nil {
		return result{outcome: failed, message: "create working directory: " + err.Error()}
	}
	defer func() { _ = os.RemoveAll(dir) }()
	out := newTailBuffer(domain.MaxRunLogBytes)
	cmd := exec.Command(path, spec.Argv[1:]...) // argv as given: no shell, no splicing
	cmd.Env = newRunContext(plan).environ(spec)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	// Its own group, so children die with it; SIGKILL when the worker dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	done, err := startOnLockedThread(cmd)
	if err != nil {
		return result{outcome: failed, message: "start: " + err.Error()}
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()

	var end outcome
	var msg string
	select {
	case err = <-done:
		if err == nil {
			end = succeeded
		} else {
			end, msg = failed, err.Error()
		}
	case <-timer.C:
		x.kill(cmd, done)
		end, msg = timedOut, fmt.Sprintf("timed out after %s", timeout)
	case <-stop:
		x.kill(cmd, done)
		end, msg = stopped, "stopped"
	case <-ctx.Done():
		x.kill(cmd, done)
		end, msg = stopped, "stopped: "+ctx.Err().Error()
	}
	text, truncated := out.String()
	return result{outcome: end, message: msg, output: text, truncated: truncated}
}

// startOnLockedThread starts cmd and waits for it on one goroutine locked
// to its OS thread. Linux sends the parent-death signal when the thread that
// created the child exits, not the process; the Go runtime ends a thread
// when a goroutine exits while locked to it, so the creating thread must
// outlive the child. The channel receives cmd.Wait's result.
func startOnLockedThread(cmd *exec.Cmd) (<-chan error, error) {
	started := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		defer goruntime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		done <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return done, nil
}

// kill sends SIGTERM to the command's process group, then SIGKILL after the
// grace period, and waits for it to exit.
func (x *executor) kill(cmd *exec.Cmd, done <-chan error) {
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(x.grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
}

// SignatureHeader and TimestampHeader carry an http step's signature:
// hex HMAC-SHA256 over "<timestamp>.<body>" with the tenant's secret.
const (
	SignatureHeader = "X-Servo-Signature"
	TimestampHeader = "X-Servo-Timestamp"
)

// TenantSecret derives a tenant's signing secret from the server's key.
func TenantSecret(key []byte, tenantID string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("servo-tenant-signing-secret:" + tenantID))
	return m.Sum(nil)
}

// Sign returns the signature of body at timestamp ts.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (x *executor) http(ctx context.Context, plan *service.ExecutionPlan, spec *domain.ComputeSpec, timeout time.Duration, stop <-chan struct{}) result {
	if err := x.policy.Allow(spec); err != nil {
		return result{outcome: refused, message: "refused at run time: " + err.Error()}
	}
	body, err := json.Marshal(newRunContext(plan))
	if err != nil {
		return result{outcome: failed, message: err.Error()}
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-rctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, spec.URL, bytes.NewReader(body))
	if err != nil {
		return result{outcome: refused, message: err.Error()}
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, Sign(TenantSecret(x.signingKey, plan.Run.TenantID), ts, body))
	res, err := x.client.Do(req)
	if err != nil {
		select {
		case <-stop:
			return result{outcome: stopped, message: "stopped"}
		default:
		}
		if errors.Is(rctx.Err(), context.DeadlineExceeded) {
			return result{outcome: timedOut, message: fmt.Sprintf("timed out after %s", timeout)}
		}
		return result{outcome: failed, message: err.Error()}
	}
	defer func() { _ = res.Body.Close() }()
	out := newTailBuffer(domain.MaxRunLogBytes)
	_, _ = io.Copy(out, io.LimitReader(res.Body, 16<<20))
	text, truncated := out.String()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return result{outcome: failed, message: "HTTP " + res.Status, output: text, truncated: truncated}
	}
	return result{outcome: succeeded, output: text, truncated: truncated}
}
