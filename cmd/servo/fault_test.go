package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/testutil"
)

// pgCluster is a throwaway PostgreSQL cluster of one test, on a free
// loopback port in a temporary directory, so that the test may stop and
// restart it without touching the shared test server the other packages
// use.
type pgCluster struct {
	bin  string // directory of initdb and pg_ctl
	dir  string // holds data/, the socket and the log
	port int
	cred *syscall.Credential // the postgres OS user when the test runs as root
}

// newPGCluster initialises and starts a cluster that is stopped and
// deleted when the test ends. PostgreSQL refuses to run as root, so as
// root the cluster belongs to the postgres OS user.
func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	c := &pgCluster{}
	if matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(matches) > 0 {
		sort.Strings(matches)
		c.bin = filepath.Dir(matches[len(matches)-1])
	} else if p, err := exec.LookPath("initdb"); err == nil {
		c.bin = filepath.Dir(p)
	} else {
		t.Fatal("the fault tests need PostgreSQL's initdb and pg_ctl (in /usr/lib/postgresql/*/bin or on PATH)")
	}
	// Not t.TempDir: the postgres OS user must be able to reach it.
	dir, err := os.MkdirTemp("", "servo-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, the fault tests need the postgres OS user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	if out, err := c.cmd("initdb", "-D", c.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.start(t)
	t.Cleanup(func() { _ = c.cmd("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop").Run() })
	return c
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

func (c *pgCluster) cmd(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

// start starts the cluster and waits until it accepts connections.
func (c *pgCluster) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", c.port, c.dir)
	if out, err := c.cmd("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "log"), "-o", opts, "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// stop shuts the cluster down the way `pg_ctlcluster restart` does: fast
// mode, which disconnects every client and rolls back open transactions.
func (c *pgCluster) stop(t *testing.T) {
	t.Helper()
	if out, err := c.cmd("pg_ctl", "-D", c.data(), "-m", "fast", "-w", "-t", "60", "stop").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// url returns a URL of the cluster as user (the trust method takes any
// password).
func (c *pgCluster) url(user, db string) string {
	return fmt.Sprintf("postgres://%s:x@127.0.0.1:%d/%s?sslmode=disable", user, c.port, db)
}

// servoDB creates the application role and a migrated database on c and
// returns the environment of a `servo serve` on it, with a tenant key.
func (c *pgCluster) servoDB(t *testing.T) (env []string, key string) {
	t.Helper()
	admin, err := sql.Open("pgx", c.url("postgres", "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	for _, q := range []string{
		"CREATE ROLE " + testdb.AppRole + " LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE",
		"CREATE DATABASE servo",
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	env = []string{
		"SERVO_DATABASE_URL=" + c.url(testdb.AppRole, "servo"),
		"SERVO_MIGRATE_DATABASE_URL=" + c.url("postgres", "servo"),
		"SERVO_APP_ROLE=" + testdb.AppRole,
		"SERVO_LOG_LEVEL=warn",
		"SERVO_HTTP_REQUEST_TIMEOUT=3s",
	}
	if got := servo(t, env, "migrate", "up"); got.code != 0 {
		t.Fatalf("migrate up = %+v", got)
	}
	created := servo(t, env, "keys", "create", "--tenant", "fault")
	if created.code != 0 {
		t.Fatalf("keys create = %+v", created)
	}
	return env, strings.TrimSpace(created.stdout)
}

// serveProcess is a `servo serve` process of the built binary.
type serveProcess struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuffer
	exited chan struct{}
}

// startServeBinary runs bin serve on a free loopback port and waits until
// it is ready. The process is killed when the test ends.
func startServeBinary(t *testing.T, bin string, env []string) *serveProcess {
	t.Helper()
	p := &serveProcess{addr: freeAddr(t), stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--no-workers")
	p.cmd.Env = append(append([]string{}, env...), "SERVO_HTTP_ADDR="+p.addr, "SERVO_DATABASE_CONNECT_TIMEOUT=20s")
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	if !p.waitReady(30 * time.Second) {
		t.Fatalf("servo serve never became ready; stderr:\n%s", p.stderr)
	}
	return p
}

// readyz returns the status of GET /readyz, or 0 when there was no answer.
func (p *serveProcess) readyz() int {
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Get("http://" + p.addr + "/readyz")
	if err != nil {
		return 0
	}
	_ = res.Body.Close()
	return res.StatusCode
}

func (p *serveProcess) waitReady(within time.Duration) bool {
	return testutil.Eventually(within, func() bool { return p.readyz() == http.StatusOK })
}

func (p *serveProcess) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// writeLoad posts assets with unique names from a few goroutines until
// ctx ends, against whatever address addr() returns at the time, and
// records every answer.
type writeLoad struct {
	mu       sync.Mutex
	acked    []string      // names answered 201
	statuses map[int]int   // status -> count; 0 is a transport error
	slowest  time.Duration // longest answer of any kind
	byPhase  map[string]map[int]int
	phase    string
	samples  map[int]string // a body per status, for failure messages
}

func newWriteLoad() *writeLoad {
	return &writeLoad{statuses: map[int]int{}, byPhase: map[string]map[int]int{}, samples: map[int]string{}, phase: "before"}
}

func (w *writeLoad) setPhase(p string) {
	w.mu.Lock()
	w.phase = p
	w.mu.Unlock()
}

func (w *writeLoad) run(ctx context.Context, workers int, key string, addr func() string) *sync.WaitGroup {
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("w%d-%d", g, i)
				body, _ := json.Marshal(map[string]string{"name": name})
				req, _ := http.NewRequest("POST", "http://"+addr()+"/api/v1/assets", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+key)
				start := time.Now()
				res, err := client.Do(req)
				took := time.Since(start)
				status := 0
				var text []byte
				if err == nil {
					status = res.StatusCode
					text, _ = io.ReadAll(res.Body)
					_ = res.Body.Close()
				} else {
					text = []byte(err.Error())
				}
				w.mu.Lock()
				w.statuses[status]++
				if w.byPhase[w.phase] == nil {
					w.byPhase[w.phase] = map[int]int{}
				}
				w.byPhase[w.phase][status]++
				if _, ok := w.samples[status]; !ok {
					w.samples[status] = string(text)
				}
				if status == http.StatusCreated {
					w.acked = append(w.acked, name)
				}
				if took > w.slowest {
					w.slowest = took
				}
				w.mu.Unlock()
				if status != http.StatusCreated {
					time.Sleep(50 * time.Millisecond) // no busy loop while the server is down
				}
			}
		}()
	}
	return &wg
}

// checkAcked fails unless every acknowledged name is an asset now.
func checkAcked(t *testing.T, addr, key string, acked []string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	have := map[string]bool{}
	for offset := 0; ; offset += 500 {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/api/v1/assets?limit=500&offset=%d", addr, offset), nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Assets []struct {
				Name string `json:"name"`
			} `json:"assets"`
		}
		err = json.NewDecoder(res.Body).Decode(&list)
		_ = res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("list assets: %d %v", res.StatusCode, err)
		}
		for _, a := range list.Assets {
			have[a.Name] = true
		}
		if len(list.Assets) < 500 {
			break
		}
	}
	var missing []string
	for _, n := range acked {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d acknowledged writes are missing, e.g. %v", len(missing), len(acked), missing[:min(5, len(missing))])
	}
}

// TestPostgresRestartUnderLoad restarts PostgreSQL in the middle of a
// 30-second write load against a real `servo serve`: the server keeps
// running, /readyz is 503 while the database is down and 200 after,
// writes during the outage fail fast with 503 (never a hang or a 500), and
// every write answered 201 is there afterwards.
func TestPostgresRestartUnderLoad(t *testing.T) {
	t.Parallel()
	bin := buildServo(t)
	pg := newPGCluster(t)
	env, key := pg.servoDB(t)
	srv := startServeBinary(t, bin, env)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	load := newWriteLoad()
	wg := load.run(ctx, 4, key, func() string { return srv.addr })

	time.Sleep(8 * time.Second)
	load.setPhase("outage")
	pg.stop(t)
	outageStart := time.Now()
	// While it is down: not ready, and writes answered quickly.
	sawNotReady := false
	for time.Since(outageStart) < 5*time.Second {
		if s := srv.readyz(); s == http.StatusServiceUnavailable {
			sawNotReady = true
		} else if s == http.StatusOK {
			t.Errorf("/readyz = 200 while PostgreSQL is stopped")
		}
		time.Sleep(250 * time.Millisecond)
	}
	pg.start(t)
	load.setPhase("after")
	if !srv.waitReady(30 * time.Second) {
		t.Fatalf("/readyz did not come back to 200 after PostgreSQL restarted; stderr:\n%s", srv.stderr)
	}
	recovered := time.Since(outageStart)
	wg.Wait()

	if !srv.alive() {
		t.Fatalf("servo serve exited during the outage; stderr:\n%s", srv.stderr)
	}
	if !sawNotReady {
		t.Error("/readyz never answered 503 while PostgreSQL was stopped")
	}
	load.mu.Lock()
	defer load.mu.Unlock()
	t.Logf("answers %v by phase %v; slowest %s; ready again %s after the stop; %d acknowledged",
		load.statuses, load.byPhase, load.slowest, recovered.Round(time.Millisecond), len(load.acked))
	for status, n := range load.statuses {
		if status != http.StatusCreated && status != http.StatusServiceUnavailable {
			t.Errorf("%d answers with status %d (0: no answer within 5s), e.g. %s", n, status, load.samples[status])
		}
	}
	if load.byPhase["outage"][http.StatusServiceUnavailable] == 0 {
		t.Errorf("no write got 503 during the outage: %v", load.byPhase["outage"])
	}
	if load.byPhase["before"][http.StatusCreated] == 0 || load.byPhase["after"][http.StatusCreated] == 0 {
		t.Errorf("writes did not succeed before and after the outage: %v", load.byPhase)
	}
	checkAcked(t, srv.addr, key, load.acked)
}

// TestServeKilledUnderLoad kills `servo serve` with SIGKILL under a write
// load, starts it again, and finds every write it had answered 201.
func TestServeKilledUnderLoad(t *testing.T) {
	t.Parallel()
	bin := buildServo(t)
	d := testdb.Fresh(t)
	env := []string{
		"SERVO_DATABASE_URL=" + d.AppURL, "SERVO_MIGRATE_DATABASE_URL=" + d.OwnerURL,
		"SERVO_APP_ROLE=" + testdb.AppRole, "SERVO_LOG_LEVEL=warn",
	}
	if got := servo(t, env, "migrate", "up"); got.code != 0 {
		t.Fatalf("migrate up = %+v", got)
	}
	created := servo(t, env, "keys", "create", "--tenant", "crash")
	if created.code != 0 {
		t.Fatalf("keys create = %+v", created)
	}
	key := strings.TrimSpace(created.stdout)

	var mu sync.Mutex
	srv := startServeBinary(t, bin, env)
	addr := func() string { mu.Lock(); defer mu.Unlock(); return srv.addr }
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
	defer cancel()
	load := newWriteLoad()
	wg := load.run(ctx, 4, key, addr)

	time.Sleep(4 * time.Second)
	load.setPhase("killed")
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-srv.exited
	next := startServeBinary(t, bin, env)
	mu.Lock()
	srv = next
	mu.Unlock()
	load.setPhase("after")
	wg.Wait()

	load.mu.Lock()
	defer load.mu.Unlock()
	t.Logf("answers %v by phase %v; %d acknowledged", load.statuses, load.byPhase, len(load.acked))
	if load.byPhase["after"][http.StatusCreated] == 0 {
		t.Errorf("no write succeeded after the restart: %v", load.byPhase)
	}
	for status, n := range load.statuses {
		if status != http.StatusCreated && status != 0 {
			t.Errorf("%d answers with status %d, e.g. %s", n, status, load.samples[status])
		}
	}
	checkAcked(t, addr(), key, load.acked)
}

// TestRunSurvivesPostgresRestart stops PostgreSQL while a step runs, so that
// the step finishes with nowhere to report to, then starts it again: the
// run must end (succeeded, or failed with a reason), never stay running.
func TestRunSurvivesPostgresRestart(t *testing.T) {
	t.Parallel()
	bin := buildServo(t)
	c := newPGCluster(t)
	env, key := c.servoDB(t)
	dir := hostStepDir(t)
	step := filepath.Join(dir, "step.sh")
	if err := os.WriteFile(step, []byte("#!/bin/sh\ntouch "+dir+"/started\nsleep 3\necho done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The step marks the host's filesystem, which a bwrap sandbox hides: it
	// runs as the step user only (TestHostileSteps covers the sandbox).
	env = append(env, "SERVO_RUNTIME_ALLOWED_COMMANDS="+step, "SERVO_RUNTIME_LEASE=10s", "SERVO_RUNTIME_ISOLATION=user", "PATH="+os.Getenv("PATH"))
	api := startServeBinary(t, bin, env)
	worker := exec.Command(bin, "worker")
	worker.Env = env
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = worker.Process.Kill(); _ = worker.Wait() })

	call := func(method, path, body string) (int, map[string]any) {
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, "http://"+api.addr+path, r)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return 0, nil
		}
		defer func() { _ = res.Body.Close() }()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	if code, body := call("POST", "/api/v1/assets", `{"name":"slow","compute":{"kind":"command","argv":["`+step+`"],"timeout":"5s","retry":{"max_attempts":3,"initial_interval":"500ms"}}}`); code != http.StatusCreated {
		t.Fatalf("create asset: %d %v", code, body)
	}
	code, body := call("POST", "/api/v1/materialize", `{"asset_name":"slow"}`)
	if code != http.StatusAccepted {
		t.Fatalf("materialize: %d %v", code, body)
	}
	runID := body["run_id"].(string)
	testutil.WaitFor(t, 30*time.Second, func() bool { _, err := os.Stat(filepath.Join(dir, "started")); return err == nil }, "the step to start")

	c.stop(t)
	time.Sleep(4 * time.Second) // the step ends while the database is away
	c.start(t)

	var final map[string]any
	testutil.WaitFor(t, 90*time.Second, func() bool {
		code, run := call("GET", "/api/v1/runs/"+runID, "")
		if code == http.StatusOK && run["state"] != "running" && run["state"] != "queued" && run["state"] != "pending" {
			final = run
			return true
		}
		return false
	}, "run %s to end after the database came back", runID)
	if final["status"] != "success" && (final["status"] != "failed" || final["error"] == nil) {
		t.Fatalf("run after the restart = %v", final)
	}
	t.Logf("run ended %s (state %s, attempt %v)", final["status"], final["state"], final["attempt"])
}
