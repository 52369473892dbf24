package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/testdb"
)

// runAs runs bin with args as the step account (an unprivileged user) in
// env, for at most a while, and returns its exit code and stderr. A serve
// that starts is stopped once ready returns true for its stderr.
func runAs(t *testing.T, bin string, env []string, ready func(string) bool, args ...string) (int, string) {
	t.Helper()
	u, err := user.Lookup(testdb.StepUser)
	if err != nil {
		t.Fatalf("the account %s is missing: %v", testdb.StepUser, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	for {
		select {
		case <-done:
			return cmd.ProcessState.ExitCode(), stderr.String()
		case <-time.After(100 * time.Millisecond):
			if ready != nil && ready(stderr.String()) {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				<-done
				return -1, stderr.String()
			}
		}
	}
}

// TestServeRefusesUnisolatedSteps starts serve and worker as an
// unprivileged user with command steps on and no bwrap on PATH: with no way
// to isolate steps they refuse to start and say what to set; with
// runtime.isolation=none they start, warn, and /api/v1/health shows it. As
// root, a step user that does not exist is refused too. With command steps
// off nothing is refused.
func TestServeRefusesUnisolatedSteps(t *testing.T) {
	t.Parallel()
	dir := hostStepDir(t) // the unprivileged server runs from and writes here
	b, err := os.ReadFile(buildServo(t))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "servo")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	base := []string{"PATH=/nonexistent", "SERVO_DATABASE_URL=" + filepath.Join(dir, "servo.db"), "SERVO_RUNTIME_ALLOWED_COMMANDS=/bin/echo"}
	for _, sub := range []string{"serve", "worker"} {
		code, stderr := runAs(t, bin, append(base, "SERVO_HTTP_ADDR="+freeAddr(t)), nil, sub)
		if code != 1 || !strings.Contains(stderr, "command steps cannot be isolated") ||
			!strings.Contains(stderr, "apt-get install bubblewrap") || !strings.Contains(stderr, "runtime.isolation=none") {
			t.Errorf("%s without isolation = exit %d\n%s\nwant exit 1 and what to set", sub, code, stderr)
		}
	}

	// runtime.isolation=none: starts, warns, and says so on /api/v1/health.
	addr := freeAddr(t)
	var health map[string]any
	code, stderr := runAs(t, bin, append(base, "SERVO_HTTP_ADDR="+addr, "SERVO_RUNTIME_ISOLATION=none"), func(string) bool {
		res, err := http.Get("http://" + addr + "/api/v1/health")
		if err != nil {
			return false
		}
		defer func() { _ = res.Body.Close() }()
		return json.NewDecoder(res.Body).Decode(&health) == nil
	}, "serve")
	if code != -1 || health["step_isolation"] != "none" {
		t.Errorf("serve with runtime.isolation=none: exit %d, health %v\n%s", code, health, stderr)
	}
	if !strings.Contains(stderr, `"level":"warn"`) || !strings.Contains(stderr, "runtime.isolation=none") {
		t.Errorf("serve with runtime.isolation=none does not warn:\n%s", stderr)
	}

	// Commands off: nothing to isolate, nothing refused.
	addr = freeAddr(t)
	code, stderr = runAs(t, bin, []string{"PATH=/nonexistent", "SERVO_DATABASE_URL=" + filepath.Join(dir, "off.db"), "SERVO_HTTP_ADDR=" + addr}, func(string) bool {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			_ = res.Body.Close()
		}
		return err == nil
	}, "serve")
	if code != -1 {
		t.Errorf("serve with command steps off = exit %d\n%s", code, stderr)
	}

	// As root: a step user that does not exist.
	path, env := sqliteEnv(t)
	_ = path
	got := servo(t, append(env, "SERVO_RUNTIME_ALLOWED_COMMANDS=/bin/echo", "SERVO_RUNTIME_STEP_USER=no-such-servo-user", "SERVO_HTTP_ADDR="+freeAddr(t)), "serve")
	if got.code != 1 || !strings.Contains(got.stderr, "no-such-servo-user") {
		t.Errorf("serve with a missing step user = %+v", got)
	}
	got = servo(t, append(env, "SERVO_RUNTIME_ALLOWED_COMMANDS=/bin/echo", "SERVO_RUNTIME_STEP_USER=0:0", "SERVO_HTTP_ADDR="+freeAddr(t)), "serve")
	if got.code != 1 || !strings.Contains(got.stderr, "never run as root") {
		t.Errorf("serve with step user root = %+v", got)
	}
}
