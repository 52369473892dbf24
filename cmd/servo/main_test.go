package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/testutil"
	"github.com/servo-data/servo/migrations"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// syncBuffer is a bytes.Buffer safe for the server's goroutines to write
// while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// invocation is one run of the command line.
type invocation struct {
	code           int
	stdout, stderr string
}

// servo runs the command line with only the given environment. A command
// that runs for a minute (a serve that was meant to fail) is interrupted.
func servo(t *testing.T, env []string, args ...string) invocation {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	code := run(ctx, args, &stdout, &stderr, env)
	return invocation{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func sqliteEnv(t *testing.T) (string, []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "servo.db")
	return path, []string{"SERVO_DATABASE_URL=" + path, "SERVO_LOG_LEVEL=debug"}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	got := servo(t, nil, "version")
	want := fmt.Sprintf("servo dev (%s %s/%s)\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if got.code != 0 || got.stdout != want {
		t.Errorf("version = %+v, want exit 0 and %q", got, want)
	}
}

func TestVersionIgnoresBadConfig(t *testing.T) {
	t.Parallel()
	if got := servo(t, []string{"SERVO_LOG_LEVEL=loud"}, "version"); got.code != 0 {
		t.Errorf("version with a bad config = %+v, want exit 0", got)
	}
}

func TestErrorsExitNonZero(t *testing.T) {
	t.Parallel()
	badFile := filepath.Join(t.TempDir(), "servo.yaml")
	if err := os.WriteFile(badFile, []byte("http:\n  adress: :1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{name: "unknown command", args: []string{"launch"}, want: `unknown command "launch"`},
		{name: "unknown flag", args: []string{"serve", "--port=1"}, want: "unknown flag: --port"},
		{name: "stray argument", args: []string{"serve", "now"}, want: `unknown command "now"`},
		{name: "migrate without subcommand", args: []string{"migrate"}, want: "up, down or status"},
		{name: "bad environment value", env: []string{"SERVO_LOG_LEVEL=loud"}, args: []string{"serve"}, want: "log.level"},
		{name: "unknown key in --config file", args: []string{"--config", badFile, "serve"}, want: "unknown key(s) http.adress"},
		{name: "unknown key in SERVO_CONFIG file", env: []string{"SERVO_CONFIG=" + badFile}, args: []string{"migrate", "status"}, want: "unknown key(s) http.adress"},
		{name: "missing --config file", args: []string{"--config", badFile + ".missing", "serve"}, want: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := servo(t, tt.env, tt.args...)
			if got.code != 1 {
				t.Errorf("exit code = %d, want 1", got.code)
			}
			if !strings.HasPrefix(got.stderr, "servo: error: ") || !strings.Contains(got.stderr, tt.want) {
				t.Errorf("stderr = %q, want a servo error containing %q", got.stderr, tt.want)
			}
			if got.stdout != "" {
				t.Errorf("stdout = %q, want nothing", got.stdout)
			}
		})
	}
}

func statusLines(ids []string, applied int) string {
	var b strings.Builder
	for i, id := range ids {
		state := "pending"
		if i < applied {
			state = "applied"
		}
		fmt.Fprintf(&b, "%s\t%s\n", id, state)
	}
	return b.String()
}

func TestMigrateSQLite(t *testing.T) {
	t.Parallel()
	ids, err := migrations.IDs("sqlite")
	if err != nil || len(ids) == 0 {
		t.Fatalf("migrations.IDs = %v, %v", ids, err)
	}
	_, env := sqliteEnv(t)

	step := func(want string, args ...string) {
		t.Helper()
		got := servo(t, env, args...)
		if got.code != 0 || got.stdout != want {
			t.Fatalf("servo %s = exit %d, stdout %q, want %q; stderr:\n%s", strings.Join(args, " "), got.code, got.stdout, want, got.stderr)
		}
	}
	step(statusLines(ids, 0), "migrate", "status")
	var applied strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&applied, "applied %s\n", id)
	}
	step(applied.String(), "migrate", "up")
	step(statusLines(ids, len(ids)), "migrate", "status")
	step("no pending migrations\n", "migrate", "up")
	for i := len(ids) - 1; i >= 0; i-- {
		step("rolled back "+ids[i]+"\n", "migrate", "down")
		step(statusLines(ids, i), "migrate", "status")
	}
	got := servo(t, env, "migrate", "down")
	if got.code != 1 || !strings.Contains(got.stderr, "nothing to roll back") {
		t.Errorf("down with nothing applied = %+v, want exit 1 and a clear error", got)
	}
}

func TestMigrateUsesMigrateURL(t *testing.T) {
	t.Parallel()
	ids, err := migrations.IDs("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	serveDB, migrateDB := filepath.Join(dir, "serve.db"), filepath.Join(dir, "migrate.db")
	env := []string{"SERVO_DATABASE_URL=" + serveDB, "SERVO_MIGRATE_DATABASE_URL=" + migrateDB}
	if got := servo(t, env, "migrate", "up"); got.code != 0 {
		t.Fatalf("migrate up = %+v", got)
	}
	if got := servo(t, []string{"SERVO_DATABASE_URL=" + migrateDB}, "migrate", "status"); got.stdout != statusLines(ids, len(ids)) {
		t.Errorf("migrate_url database status = %q, want all applied", got.stdout)
	}
	if got := servo(t, []string{"SERVO_DATABASE_URL=" + serveDB}, "migrate", "status"); got.stdout != statusLines(ids, 0) {
		t.Errorf("database.url database status = %q, want untouched", got.stdout)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// server is `servo serve` running in the background.
type server struct {
	addr   string
	cancel context.CancelFunc
	done   chan int
	stderr *syncBuffer
}

func startServe(t *testing.T, env []string) *server {
	t.Helper()
	addr := freeAddr(t)
	env = append(env, "SERVO_HTTP_ADDR="+addr, "SERVO_DATABASE_CONNECT_TIMEOUT=10s")
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{addr: addr, cancel: cancel, done: make(chan int, 1), stderr: &syncBuffer{}}
	go func() { s.done <- run(ctx, []string{"serve"}, &syncBuffer{}, s.stderr, env) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	return s
}

// health polls /api/v1/health until it answers or serve exits.
func (s *server) health(t *testing.T) (int, map[string]string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	var resp *http.Response
	answered := testutil.Eventually(30*time.Second, func() bool {
		select {
		case code := <-s.done:
			s.done <- code
			t.Fatalf("serve exited with %d before answering; stderr:\n%s", code, s.stderr)
		default:
		}
		var err error
		resp, err = client.Get("http://" + s.addr + "/api/v1/health")
		return err == nil
	})
	if !answered {
		t.Fatalf("serve never answered; stderr:\n%s", s.stderr)
	}
	var body map[string]string
	err := json.NewDecoder(resp.Body).Decode(&body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatalf("decode health: %v", err)
	}
	return resp.StatusCode, body
}

// stop sends the equivalent of SIGTERM and returns the exit code.
func (s *server) stop(t *testing.T) int {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		s.done <- code
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
		return -1
	}
}

func TestServeSQLite(t *testing.T) {
	t.Parallel()
	path, env := sqliteEnv(t)
	s := startServe(t, env)
	code, body := s.health(t)
	if code != http.StatusOK || body["status"] != "ok" || body["database"] != "ok" || body["version"] != "dev" {
		t.Errorf("health = %d %v", code, body)
	}
	if got := s.stop(t); got != 0 {
		t.Errorf("exit code after shutdown = %d, want 0; stderr:\n%s", got, s.stderr)
	}
	logs := s.stderr.String()
	for _, want := range []string{`"msg":"database schema is up to date"`, `"msg":"shutting down"`, `"msg":"stopped"`, `"msg":"database pool closed"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}

	// serve migrated the file it served.
	ids, err := migrations.IDs("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	if got := servo(t, []string{"SERVO_DATABASE_URL=" + path}, "migrate", "status"); got.stdout != statusLines(ids, len(ids)) {
		t.Errorf("status after serve = %q, want every migration applied", got.stdout)
	}
}

func TestServeWarnsAboutUnknownVariables(t *testing.T) {
	t.Parallel()
	_, env := sqliteEnv(t)
	s := startServe(t, append(env, "SERVO_HTTP_ADRR=:1"))
	s.health(t)
	s.stop(t)
	if logs := s.stderr.String(); !strings.Contains(logs, `"name":"SERVO_HTTP_ADRR"`) {
		t.Errorf("no warning about SERVO_HTTP_ADRR:\n%s", logs)
	}
}

func TestServeReportsBusyPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	_, env := sqliteEnv(t)
	got := servo(t, append(env, "SERVO_HTTP_ADDR="+ln.Addr().String()), "serve")
	if got.code != 1 || !strings.Contains(got.stderr, "servo: error: listen on "+ln.Addr().String()) {
		t.Errorf("serve on a busy port = %+v", got)
	}
}

func TestServePostgres(t *testing.T) {
	t.Parallel()
	d := testdb.Fresh(t)
	env := []string{
		"SERVO_DATABASE_URL=" + d.AppURL,
		"SERVO_MIGRATE_DATABASE_URL=" + d.OwnerURL,
		"SERVO_APP_ROLE=" + testdb.AppRole,
		"SERVO_DATABASE_CONNECT_TIMEOUT=10s",
		"SERVO_HTTP_ADDR=127.0.0.1:0", // should a refusal fail, serve on loopback only
	}

	// Before migrations the server refuses the schema.
	got := servo(t, env, "serve")
	if got.code != 1 || !strings.Contains(got.stderr, "database safety check: refusing to serve") {
		t.Fatalf("serve on an unmigrated schema = %+v, want exit 1 and a refusal", got)
	}

	if got := servo(t, env, "migrate", "up"); got.code != 0 || !strings.Contains(got.stdout, "applied ") {
		t.Fatalf("migrate up = %+v", got)
	}

	// As the schema owner (a superuser here) the server refuses to start.
	ownerEnv := append(append([]string{}, env...), "SERVO_DATABASE_URL="+d.OwnerURL)
	got = servo(t, ownerEnv, "serve")
	if got.code != 1 || !strings.Contains(got.stderr, "servo: error: database safety check: refusing to serve as role") {
		t.Errorf("serve as superuser = %+v, want exit 1 and a refusal", got)
	}

	// As the application role it serves.
	s := startServe(t, env)
	code, body := s.health(t)
	if code != http.StatusOK || body["database"] != "ok" {
		t.Errorf("health = %d %v", code, body)
	}
	if got := s.stop(t); got != 0 {
		t.Errorf("exit code after shutdown = %d; stderr:\n%s", got, s.stderr)
	}
}
