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
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/checks"
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
	// checks are the step's check results; checksErr says they could not
	// be read.
	checks    []checks.Reported
	checksErr error
}

// runContext is what a step sees of its run, in its environment (command)
// or its request body (http), named as the servo SDK reads them.
type runContext struct {
	RunID        string `json:"execution_id"`
	WorkflowID   string `json:"workflow_id"`
	TenantID     string `json:"tenant_id"`
	AssetID      string `json:"asset_id"`
	AssetName    string `json:"asset_name"`
	PartitionKey string `json:"partition_key"`
	Attempt      int    `json:"attempt"`
	// CheckResultsPath is where a command step writes its check results.
	CheckResultsPath string `json:"-"`
	// Partition is the run's partition context; nil without one.
	Partition *service.PartitionContext `json:"partition,omitempty"`
}

func newRunContext(plan *service.RunPlan) runContext {
	rc := runContext{
		RunID: plan.Run.ID.String(), TenantID: plan.Run.TenantID, AssetID: plan.Asset.ID.String(),
		AssetName: plan.Asset.Name, PartitionKey: plan.Run.PartitionKey, Attempt: plan.Run.Attempt,
		Partition: plan.Partition,
	}
	if plan.Run.WorkflowID != nil {
		rc.WorkflowID = plan.Run.WorkflowID.String()
	}
	return rc
}

// partitionContext is SERVO_PARTITION_CONTEXT.
func (rc runContext) partitionContext() string {
	m := map[string]any{"partition_key": rc.PartitionKey, "execution_id": rc.RunID, "attempt": rc.Attempt}
	if p := rc.Partition; p != nil {
		m["partition_type"], m["timezone"], m["format"], m["upstream_partitions"] = p.PartitionType, p.Timezone, p.Format, p.UpstreamPartitions
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// executor runs one attempt of a compute spec.
type executor struct {
	policy     Policy
	sandbox    *sandbox
	grace      time.Duration
	signingKey []byte
	client     *http.Client
}

// newHTTPClient is the http steps' client: no redirects followed (an
// allowed host cannot bounce a step elsewhere), no proxy from the
// environment, and a dialer that refuses the server's own listeners
// whatever name led there.
func newHTTPClient(p Policy) *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, port, err := net.SplitHostPort(address)
		if err == nil && p.isSelf(host, port) {
			return errSelf
		}
		return err
	}}
	return &http.Client{
		Transport:     &http.Transport{Proxy: nil, DialContext: d.DialContext, ForceAttemptHTTP2: true, TLSHandshakeTimeout: 10 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// errSelf refuses a connection to the server's own listener.
var errSelf = errors.New("an http step cannot call this server itself")

// observedOutput is the kept output of a run of an observed asset.
const observedOutput = "observed asset: nothing to run\n"

// run executes plan's spec until it ends, times out, or stop is closed
// (cancellation or shutdown).
func (x *executor) run(ctx context.Context, plan *service.RunPlan, stop <-chan struct{}) result {
	spec := plan.Asset.Compute
	if spec == nil {
		return result{outcome: succeeded, output: observedOutput}
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

func (x *executor) command(ctx context.Context, plan *service.RunPlan, spec *domain.ComputeSpec, timeout time.Duration, stop <-chan struct{}) result {
	path, err := x.policy.commandPath(spec)
	if err != nil {
		return result{outcome: refused, message: err.Error()}
	}
	network, err := x.sandbox.stepNetwork(spec)
	if err != nil {
		return result{outcome: refused, message: "refused at run time: " + err.Error()}
	}
	dir, err := x.sandbox.workDir()
	if err != nil {
		return result{outcome: failed, message: "create working directory: " + err.Error()}
	}
	// Removed in the background once the results file is read.
	defer x.sandbox.discard(dir)
	out := newTailBuffer(domain.MaxRunLogBytes)
	rc := newRunContext(plan)
	// The work directory is mounted at the same path in the sandbox, so the
	// step and the worker name the results file alike.
	rc.CheckResultsPath = filepath.Join(dir, CheckResultsFile)
	// argv as given (no shell, no splicing), argv[0] as the allowlist names it.
	cmd, launched, err := x.sandbox.command(path, spec.Argv[1:], stepEnv(x.sandbox.path, dir, rc, spec), dir, network)
	if err != nil {
		return result{outcome: failed, message: "start: " + err.Error()}
	}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group (set by the sandbox), so children die with it;
	// SIGKILL when the worker dies.
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	done, err := startOnLockedThread(cmd)
	launched(err == nil)
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
	res := result{outcome: end, message: msg, output: text, truncated: truncated}
	res.checks, res.checksErr = readCheckResults(rc.CheckResultsPath)
	return res
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

func (x *executor) http(ctx context.Context, plan *service.RunPlan, spec *domain.ComputeSpec, timeout time.Duration, stop <-chan struct{}) result {
	if err := x.policy.Allow(spec); err != nil {
		return result{outcome: refused, message: "refused at run time: " + err.Error()}
	}
	if len(x.signingKey) == 0 {
		return result{outcome: refused, message: "refused at run time: this server has no signing key for http steps"}
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
		if errors.Is(err, errSelf) {
			return result{outcome: refused, message: "refused at run time: " + errSelf.Error()}
		}
		if errors.Is(rctx.Err(), context.DeadlineExceeded) {
			return result{outcome: timedOut, message: fmt.Sprintf("timed out after %s", timeout)}
		}
		return result{outcome: failed, message: err.Error()}
	}
	defer func() { _ = res.Body.Close() }()
	out := newTailBuffer(domain.MaxRunLogBytes)
	head := &headBuffer{max: checks.MaxReportBytes + 1}
	_, _ = io.Copy(io.MultiWriter(out, head), io.LimitReader(res.Body, 16<<20))
	text, truncated := out.String()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return result{outcome: failed, message: "HTTP " + res.Status, output: text, truncated: truncated}
	}
	r := result{outcome: succeeded, output: text, truncated: truncated}
	r.checks, r.checksErr = checks.BodyReport(head.Bytes())
	return r
}
