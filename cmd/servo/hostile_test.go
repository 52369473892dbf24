package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/testutil"
)

// multicallSource is a tiny multi-call program, as busybox is: it acts as
// the applet its argv[0] names, and named as itself it takes the applet
// from its first argument. Its "sh" applet is a shell.
const multicallSource = `package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

func main() {
	applet, args := filepath.Base(os.Args[0]), os.Args[1:]
	if applet == "multicall" && len(args) > 0 {
		applet, args = args[0], args[1:]
	}
	if applet == "sh" {
		_ = syscall.Exec("/bin/sh", append([]string{"sh"}, args...), os.Environ())
	}
	fmt.Println("applet", applet, args)
}
`

// hostile is one `servo serve` with workers, planted canaries, and two
// tenants: A (the victim, with a canary row) and B (the attacker).
type hostile struct {
	t        *testing.T
	addr     string
	pid      int
	stderr   *syncBuffer
	keyA     string
	keyB     string
	admin    string
	canaries map[string]string // what -> value
	steps    string            // directory of the allowlisted probe programs
	dbFile   string            // the SQLite file, or ""
	mu       sync.Mutex
	answers  bytes.Buffer // every answer to tenant B, for the canary sweep
}

func canary(what string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "CANARY" + strings.ToUpper(what) + hex.EncodeToString(b)
}

// stepsDir is a directory the step user can read and run programs from.
func stepsDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "servo-probes-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

func newHostile(t *testing.T, bin, backend string) *hostile {
	t.Helper()
	h := &hostile{t: t, stderr: &syncBuffer{}, canaries: map[string]string{}}
	for _, what := range []string{"admin", "signing", "env", "row", "rowenv", "globalenv", "dburl", "cwdfile"} {
		h.canaries[what] = canary(what)
	}
	h.admin = h.canaries["admin"] + "-admin-key-padding"
	h.canaries["admin"] = h.admin
	h.addr = freeAddr(t)

	// The server's own directory: its working directory, its config file
	// and (SQLite) its database, readable by root only.
	serverDir := t.TempDir()
	config := filepath.Join(serverDir, "servo.yaml")
	if err := os.WriteFile(config, []byte("runtime:\n  signing_key: "+h.canaries["signing"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(serverDir, "notes.txt"), []byte(h.canaries["cwdfile"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// The probe programs: cat and echo; run.sh, which runs the tenant's
	// shell code (as a compromised or careless allowlisted script would);
	// and a multi-call binary listed only under the name "ls", a symlink.
	h.steps = stepsDir(t)
	run := filepath.Join(h.steps, "run.sh")
	if err := os.WriteFile(run, []byte("#!/bin/sh\neval \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "multicall.go")
	if err := os.WriteFile(src, []byte(multicallSource), 0o600); err != nil {
		t.Fatal(err)
	}
	multicall := filepath.Join(h.steps, "multicall")
	build := exec.Command("go", "build", "-o", multicall, src)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the multi-call probe: %v\n%s", err, out)
	}
	if err := os.Chmod(multicall, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(multicall, filepath.Join(h.steps, "ls")); err != nil {
		t.Fatal(err)
	}

	env := []string{
		"SERVO_ADMIN_KEY=" + h.admin,
		"SERVO_LOG_LEVEL=debug",
		"SERVO_HTTP_ADDR=" + h.addr,
		"SERVO_RUNTIME_ALLOWED_COMMANDS=/bin/cat,/bin/echo,/usr/bin/id," + run + "," + filepath.Join(h.steps, "ls"),
		// An operator's mistake: the server's own address on the list.
		"SERVO_RUNTIME_ALLOWED_HOSTS=" + h.addr + ",localhost:" + strings.Split(h.addr, ":")[1],
		"SERVO_RUNTIME_ISOLATION=bwrap",
		"CANARY_SERVER_ENV=" + h.canaries["env"],
		"PATH=" + os.Getenv("PATH"),
	}
	switch backend {
	case "postgres":
		d := testdb.Fresh(t)
		if err := d.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		env = append(env, "SERVO_DATABASE_URL="+d.AppURL+"&application_name="+h.canaries["dburl"], "SERVO_APP_ROLE="+testdb.AppRole)
	default:
		h.dbFile = filepath.Join(serverDir, "servo.db")
		env = append(env, "SERVO_DATABASE_URL="+h.dbFile)
		delete(h.canaries, "dburl") // an SQLite path is no secret; the file's content is
	}
	for _, k := range []struct {
		tenant string
		dst    *string
	}{{"victim", &h.keyA}, {"attacker", &h.keyB}} {
		got := servo(t, append(env, "SERVO_CONFIG="+config), "keys", "create", "--tenant", k.tenant)
		if got.code != 0 {
			t.Fatalf("keys create: %+v", got)
		}
		*k.dst = strings.TrimSpace(got.stdout)
	}

	cmd := exec.Command(bin, "--config", config, "serve")
	cmd.Env = env
	cmd.Dir = serverDir
	cmd.Stderr = h.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h.pid = cmd.Process.Pid
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	p := &serveProcess{addr: h.addr}
	if !p.waitReady(30 * time.Second) {
		t.Fatalf("servo serve never became ready; stderr:\n%s", h.stderr)
	}

	// The canaries really are where a step would look for them.
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", h.pid))
	if err != nil || !bytes.Contains(environ, []byte(h.canaries["env"])) || !bytes.Contains(environ, []byte(h.admin)) {
		t.Fatalf("the server's environment does not hold the canaries (%v)", err)
	}
	return h
}

// call sends a request and keeps the attacker's answers for the sweep.
func (h *hostile) call(method, path, key string, body any) (int, []byte) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+h.addr+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	out, _ := io.ReadAll(res.Body)
	if key == h.keyB {
		h.mu.Lock()
		h.answers.Write(out)
		h.answers.WriteByte('\n')
		h.mu.Unlock()
	}
	return res.StatusCode, out
}

func (h *hostile) must(want int, method, path, key string, body any) []byte {
	h.t.Helper()
	got, out := h.call(method, path, key, body)
	if got != want {
		h.t.Fatalf("%s %s = %d %s, want %d", method, path, got, out, want)
	}
	return out
}

// probe creates tenant B's asset with spec, materializes it, waits for it
// to end and returns its status and log (the events and the run are read
// too, for the sweep).
func (h *hostile) probe(name string, spec map[string]any) (string, string) {
	h.t.Helper()
	h.must(http.StatusCreated, "POST", "/api/v1/assets", h.keyB, map[string]any{"name": name, "compute": spec})
	var trig struct {
		RunID string `json:"run_id"`
	}
	if err := json.Unmarshal(h.must(http.StatusAccepted, "POST", "/api/v1/materialize", h.keyB, map[string]any{"asset_name": name}), &trig); err != nil {
		h.t.Fatal(err)
	}
	var run struct {
		Status string `json:"status"`
	}
	ended := testutil.Eventually(60*time.Second, func() bool {
		if err := json.Unmarshal(h.must(http.StatusOK, "GET", "/api/v1/runs/"+trig.RunID, h.keyB, nil), &run); err != nil {
			h.t.Fatal(err)
		}
		return run.Status == "success" || run.Status == "failed" || run.Status == "timeout" || run.Status == "cancelled"
	})
	if !ended {
		h.t.Fatalf("probe %s still %s", name, run.Status)
	}
	h.must(http.StatusOK, "GET", "/api/v1/runs/"+trig.RunID+"/events", h.keyB, nil)
	var logs struct {
		Logs string `json:"logs"`
	}
	if err := json.Unmarshal(h.must(http.StatusOK, "GET", "/api/v1/runs/"+trig.RunID+"/logs", h.keyB, nil), &logs); err != nil {
		h.t.Fatal(err)
	}
	return run.Status, logs.Logs
}

func shell(code string, env map[string]string, steps string) map[string]any {
	spec := map[string]any{"kind": "command", "argv": []string{filepath.Join(steps, "run.sh"), code}, "timeout": "30s"}
	if env != nil {
		spec["env"] = env
	}
	return spec
}

// TestHostileSteps runs, as tenant B against a real `servo serve` (both
// backends) whose environment, config file, working directory, database
// and tenant A's rows hold canary secrets, the probes a hostile tenant
// would try; no canary may come back in any run log, run event, API answer
// or server log line. Each probe's outcome is checked too, so that a probe
// that silently did nothing cannot pass.
func TestHostileSteps(t *testing.T) {
	t.Parallel()
	bin := buildServo(t)
	stepUser, err := user.Lookup(testdb.StepUser)
	if err != nil {
		t.Fatalf("the step account %s is missing (useradd --system --no-create-home --shell /usr/sbin/nologin %s): %v", testdb.StepUser, testdb.StepUser, err)
	}
	for _, backend := range []string{"postgres", "sqlite"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, bin, backend)
			s := h.steps

			// Tenant A's canary row: an asset whose description and
			// compute env hold secrets.
			h.must(http.StatusCreated, "POST", "/api/v1/assets", h.keyA, map[string]any{
				"name": "payroll", "description": h.canaries["row"],
				"compute": map[string]any{"kind": "command", "argv": []string{"/bin/echo"}, "env": map[string]string{"PAYROLL_TOKEN": h.canaries["rowenv"]}},
			})
			// A global asset whose env holds the operator's secret.
			h.must(http.StatusCreated, "POST", "/api/v1/assets", h.admin, map[string]any{
				"name":    "shared-loader",
				"compute": map[string]any{"kind": "command", "argv": []string{"/bin/echo"}, "env": map[string]string{"WAREHOUSE_TOKEN": h.canaries["globalenv"]}},
			})
			if h.dbFile != "" {
				// The SQLite files hold A's row: reading them would leak it.
				var all []byte
				for _, p := range []string{h.dbFile, h.dbFile + "-wal"} {
					b, _ := os.ReadFile(p)
					all = append(all, b...)
				}
				if !bytes.Contains(all, []byte(h.canaries["row"])) {
					t.Fatal("the SQLite files do not hold tenant A's canary row")
				}
			}

			// Start-up variables are refused on create and on PATCH.
			h.must(http.StatusCreated, "POST", "/api/v1/assets", h.keyB, map[string]any{"name": "patched", "compute": shell("true", nil, s)})
			for name, value := range map[string]string{
				"BASH_ENV":   "/proc/self/fd/0",
				"ENV":        "/tmp/x",
				"LD_PRELOAD": "/tmp/evil.so",
				"PATH":       s + ":/usr/bin:/bin",
				"HOME":       "/proc",
			} {
				for _, r := range []struct{ method, path string }{{"POST", "/api/v1/assets"}, {"PATCH", "/api/v1/assets/patched"}} {
					code, out := h.call(r.method, r.path, h.keyB, map[string]any{"name": "env-" + strings.ToLower(name), "compute": shell("cat /proc/$PPID/environ", map[string]string{name: value}, s)})
					if code != http.StatusUnprocessableEntity || !strings.Contains(string(out), "compute.env."+name) {
						t.Errorf("%s %s with env %s = %d %s, want 422 naming compute.env.%s", r.method, r.path, name, code, out, name)
					}
				}
			}

			type result struct{ status, log string }
			results := map[string]result{}
			run := func(name string, spec map[string]any) result {
				st, log := h.probe(name, spec)
				results[name] = result{st, log}
				t.Logf("probe %s: %s %q", name, st, log)
				return results[name]
			}

			// Who and where the step is.
			r := run("whoami", shell("id; echo HOME=$HOME TMPDIR=$TMPDIR; pwd; env | sort", nil, s))
			if !strings.Contains(r.log, "uid="+stepUser.Uid+"(") && !strings.Contains(r.log, "uid="+stepUser.Uid+" ") {
				t.Errorf("the step does not run as %s (uid %s): %q", testdb.StepUser, stepUser.Uid, r.log)
			}
			if strings.Contains(r.log, "uid=0") || strings.Contains(r.log, "CANARY_SERVER_ENV") {
				t.Errorf("the step runs as root or sees the server's variables: %q", r.log)
			}
			// The environment is exactly the built one.
			for _, want := range []string{"PATH", "HOME", "TMPDIR", "LANG", "SERVO_TENANT_ID", "SERVO_EXECUTION_ID"} {
				if !strings.Contains(r.log, "\n"+want+"=") {
					t.Errorf("the step's environment lacks %s: %q", want, r.log)
				}
			}
			if !strings.Contains(r.log, "\nPATH=/usr/local/bin:/usr/bin:/bin\n") || !strings.Contains(r.log, "\nLANG=C.UTF-8\n") {
				t.Errorf("PATH or LANG is not the fixed one: %q", r.log)
			}

			// The server's environment, through every pid a step can name.
			// (NULs become spaces: the probes are about what is read, not
			// about storing NUL bytes.)
			run("ppid-environ", shell("cat /proc/$PPID/environ /proc/$PPID/cmdline | tr '\\000' ' '", nil, s))
			r = run("pid1-environ", shell("echo environ:; cat /proc/1/environ | od -c | head -5; cat /proc/1/cmdline | tr '\\000' ' '; echo; ls /proc", nil, s))
			if r.status != "success" || !strings.HasPrefix(r.log, "environ:\n0000000\n") {
				t.Errorf("the /proc/1 probe: %s %q, want success and an empty environment", r.status, r.log)
			}
			run("server-pid-environ", shell(fmt.Sprintf("cat /proc/%d/environ; cat /proc/%d/cmdline; ls -la /proc/%d/cwd/ /proc/%d/fd/", h.pid, h.pid, h.pid, h.pid), nil, s))
			run("all-pids", shell("for p in /proc/[0-9]*; do echo $p; cat $p/environ $p/cmdline | tr '\\000' ' '; done; ps -ef", nil, s))
			run("cat-server-environ", map[string]any{"kind": "command", "argv": []string{"/bin/cat", fmt.Sprintf("/proc/%d/environ", h.pid)}})
			// The working directories: the step's parent's, and the server's.
			run("ppid-cwd", shell("ls -la /proc/$PPID/cwd/; cat /proc/$PPID/cwd/* /proc/$PPID/root/etc/shadow", nil, s))
			run("server-cwd", shell(fmt.Sprintf("cat /proc/%d/cwd/servo.yaml /proc/%d/cwd/notes.txt", h.pid, h.pid), nil, s))
			// The server's files: its database, its config, sockets.
			if h.dbFile != "" {
				r = run("sqlite-file", map[string]any{"kind": "command", "argv": []string{"/bin/cat", h.dbFile, h.dbFile + "-wal"}})
				if r.status != "failed" {
					t.Errorf("reading the SQLite file: %s, want failed", r.status)
				}
				run("sqlite-file-shell", shell("cat "+h.dbFile+"*; ls -la "+filepath.Dir(h.dbFile), nil, s))
			}
			r = run("filesystem", shell("ls -la / /tmp /run /var/run/postgresql /root /work /etc 2>&1; cat /etc/shadow", nil, s))
			if strings.Contains(r.log, "shadow\n") || strings.Contains(r.log, "postgresql\n") {
				t.Errorf("the sandbox shows the host's files: %q", r.log)
			}
			// A multi-call binary allowlisted as "ls" (a symlink) stays ls:
			// argv[0] is the name on the list, never the program's own.
			r = run("multicall-as-ls", map[string]any{"kind": "command", "argv": []string{filepath.Join(s, "ls"), "sh", "-c", "cat /proc/$PPID/environ; id"}})
			if r.status != "success" || !strings.HasPrefix(r.log, "applet ls [sh -c") {
				t.Errorf("the symlinked multi-call entry ran as %q (%s), want the ls applet", r.log, r.status)
			}
			// ... and the program under its own name is not on the list.
			for _, argv := range [][]string{{filepath.Join(s, "multicall"), "sh", "-c", "id"}, {"multicall", "sh"}, {"sh", "-c", "id"}, {"../" + filepath.Base(s) + "/ls"}} {
				code, out := h.call("POST", "/api/v1/assets", h.keyB, map[string]any{"name": "mc", "compute": map[string]any{"kind": "command", "argv": argv}})
				if code != http.StatusUnprocessableEntity {
					t.Errorf("argv %q = %d %s, want 422", argv, code, out)
				}
			}
			// An http step aimed at the server's own port, though listed.
			port := strings.Split(h.addr, ":")[1]
			for _, u := range []string{"http://" + h.addr + "/api/v1/tenants", "http://localhost:" + port + "/api/v1/assets", "http://127.0.0.1:" + port + "/api/v1/health"} {
				code, out := h.call("POST", "/api/v1/assets", h.keyB, map[string]any{"name": "self-call", "compute": map[string]any{"kind": "http", "url": u}})
				if code != http.StatusUnprocessableEntity || !strings.Contains(string(out), "this server itself") {
					t.Errorf("http step to %s = %d %s, want 422: the server itself", u, code, out)
				}
			}
			// Tenant A's row and the global asset's secret, through the API.
			h.call("GET", "/api/v1/assets/payroll", h.keyB, nil)
			h.call("GET", "/api/v1/assets?limit=500", h.keyB, nil)
			h.call("GET", "/api/v1/assets/shared-loader", h.keyB, nil)
			h.call("GET", "/api/v1/assets/shared-loader/lineage", h.keyB, nil)
			h.call("GET", "/api/v1/runs?limit=500", h.keyB, nil)
			// Tenant B's own env values are its own to see.
			h.must(http.StatusCreated, "POST", "/api/v1/assets", h.keyB, map[string]any{"name": "own-env", "compute": shell("true", map[string]string{"B_TOKEN": "b-own-value"}, s)})
			if out := h.must(http.StatusOK, "GET", "/api/v1/assets/own-env", h.keyB, nil); !bytes.Contains(out, []byte("b-own-value")) {
				t.Errorf("tenant B does not see its own env value: %s", out)
			}

			// The sweep: no canary anywhere B or an operator's log can see.
			time.Sleep(200 * time.Millisecond) // let the last log lines land
			h.mu.Lock()
			answers := h.answers.String()
			h.mu.Unlock()
			logs := h.stderr.String()
			if !strings.Contains(logs, `"isolation":"bwrap"`) {
				t.Errorf("the server log does not say steps run in bwrap:\n%s", logs)
			}
			for what, c := range h.canaries {
				if strings.Contains(answers, c) {
					t.Errorf("canary %s came back in an API answer", what)
				}
				if strings.Contains(logs, c) {
					t.Errorf("canary %s is in the server's log", what)
				}
				for name, r := range results {
					if strings.Contains(r.log, c) {
						t.Errorf("canary %s is in the log of probe %s", what, name)
					}
				}
			}
		})
	}
}
