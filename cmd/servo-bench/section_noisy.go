package main

// The noisy-neighbour section: how much tenant B's flood costs tenant A.
//
// It runs a Servo server of its own in a child process (this binary,
// re-executed with noisyServerEnv set), built as `servo serve` builds it
// with the default limits (the per-tenant ingestion time budget,
// http.tenant_ingest_share, included; SERVO_* variables change them),
// OpenLineage ingestion and a runtime allowed to run /bin/sleep, on a
// fresh database. A child process, so that its
// resident memory is the server's alone. Then:
//
//  1. eight tenants send one 10 MiB OpenLineage event each, at once,
//     resending after a 429 until it is stored; the row reports the
//     server's peak RSS (VmHWM) against its idle RSS;
//  2. tenant A alone: point reads, and trigger-to-start of a command step;
//  3. the same while tenant B floods: 10 concurrent /lineage/batch loops
//     (retrying 50 ms after a 429) and 100 queued /bin/sleep steps.
//
// The ratios are flood over alone, in the same run. The log adds the
// child's CPU use in both phases; SERVO_BENCH_NOISY_CPUPROFILE=FILE writes
// its CPU profile while B floods.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/config"
	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/openlineage"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/transport/api"
)

// noisyServerEnv, set to the pool size, makes this binary run the
// section's server instead of the suite.
const noisyServerEnv = "SERVO_BENCH_NOISY_SERVER_POOL"

// noisyProfileEnv, set to a file path, makes the child write a CPU profile
// of itself while tenant B floods (go tool pprof reads it).
const noisyProfileEnv = "SERVO_BENCH_NOISY_CPUPROFILE"

func init() {
	if pool := os.Getenv(noisyServerEnv); pool != "" {
		if err := noisyServer(pool); err != nil {
			fmt.Fprintln(os.Stderr, "servo-bench noisy server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	registerSection(section{Name: "noisy", Run: runNoisy})
}

// noisyHello is what the child prints on its first stdout line.
type noisyHello struct {
	URL  string            `json:"url"`
	Keys map[string]string `json:"keys"` // tenant -> API key
}

// noisyTenants are the tenants of the section: a, b and m0..m7.
func noisyTenants() []string {
	ts := []string{"noisy-a", "noisy-b"}
	for i := range 8 {
		ts = append(ts, fmt.Sprintf("noisy-m%d", i))
	}
	return ts
}

// noisyServer runs the child: a Servo server until stdin closes.
func noisyServer(pool string) error {
	ctx := context.Background()
	// The defaults, but the benchmark's pool size; SERVO_* variables of the
	// environment still apply, to try other limits.
	cfg, err := config.Load(config.Options{Environ: append(os.Environ(), "SERVO_DATABASE_MAX_OPEN_CONNS="+pool)})
	if err != nil {
		return err
	}
	db, err := testdb.Create(ctx)
	if err != nil {
		return err
	}
	defer db.Drop()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	log := zap.NewNop()
	store, err := repository.Open(ctx, db.AppURL, repository.PoolConfig{MaxOpen: cfg.Database.MaxOpenConns, ConnectTimeout: 10 * time.Second}, log)
	if err != nil {
		return err
	}
	defer func() { _ = store.Close() }()
	rcfg := runtime.Config{
		Policy:              runtime.Policy{Commands: []string{"/bin/sleep"}},
		MaxRunningPerTenant: cfg.Runtime.MaxRunningPerTenant, Workers: cfg.Runtime.Workers,
		Lease: cfg.Runtime.Lease, KillGrace: time.Second,
	}
	svc, d, err := newService(store, rcfg, log)
	if err != nil {
		return err
	}
	rt, err := newRuntime(svc, d, rcfg, log)
	if err != nil {
		return err
	}
	if err := rt.Start(ctx); err != nil {
		return err
	}
	defer func() { _ = stopWithin(rt, 2*time.Second) }()
	srv, err := api.New(api.Config{
		RequestTimeout: cfg.HTTP.RequestTimeout, TenantInflight: cfg.TenantInflight(), DecodeBudget: int64(cfg.HTTP.DecodeBudget),
		TenantIngestShare: float64(cfg.HTTP.TenantIngestShare),
	}, api.Deps{DB: store, Log: log, Version: "bench"})
	if err != nil {
		return err
	}
	ol, err := openlineage.New(svc, store, openlineage.Options{Log: log, Mode: openlineage.Lenient})
	if err != nil {
		return err
	}
	srv.MountAPI(svc, api.APIOptions{OpenLineage: ol})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer func() { _ = hs.Close() }()

	hello := noisyHello{URL: "http://" + ln.Addr().String(), Keys: map[string]string{}}
	sys := domain.WithSystem(ctx)
	for _, t := range noisyTenants() {
		secret, _, err := svc.CreateAPIKey(sys, service.CreateAPIKeyInput{TenantID: t, CreateTenant: true})
		if err != nil {
			return err
		}
		hello.Keys[t] = secret
	}
	if err := json.NewEncoder(os.Stdout).Encode(hello); err != nil {
		return err
	}
	// Until the parent closes stdin; "profile" and "stop" lines start and
	// stop a CPU profile into the file noisyProfileEnv names, if any.
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		path := os.Getenv(noisyProfileEnv)
		if path == "" {
			continue
		}
		switch lines.Text() {
		case "profile":
			f, err := os.Create(path)
			if err != nil {
				return err
			}
			defer func() { _ = f.Close() }()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
		case "stop":
			pprof.StopCPUProfile()
		}
	}
	return nil
}

// noisy is the parent's view of the child server.
type noisy struct {
	e      *env
	url    string
	keys   map[string]string
	pid    int
	client *http.Client
	stdin  io.Writer // lines to the child: "profile", "stop"
}

func runNoisy(ctx context.Context, e *env) ([]row, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), noisyServerEnv+"="+strconv.Itoa(e.o.Pool))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("noisy server did not start: %w", err)
	}
	var hello noisyHello
	if err := json.Unmarshal(line, &hello); err != nil {
		return nil, fmt.Errorf("noisy server said %q: %w", line, err)
	}
	n := &noisy{e: e, url: hello.URL, keys: hello.Keys, pid: cmd.Process.Pid, client: httpClient(64), stdin: stdin}

	mem, err := n.memoryRow(ctx)
	if err != nil {
		return nil, err
	}
	read, start, err := n.floodRows(ctx)
	if err != nil {
		return nil, err
	}
	return []row{read, start, mem}, nil
}

// procKB reads a field of the child's /proc status, in kB.
func (n *noisy) procKB(field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == field+":" {
			v, _ := strconv.Atoi(f[1])
			return v
		}
	}
	return 0
}

// cpuTime is the CPU time the child has used so far (user and system).
func (n *noisy) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n.pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ
}

// cpuShare is the child's CPU time over dur, in cores.
func cpuShare(used, dur time.Duration) float64 {
	if dur <= 0 {
		return 0
	}
	return used.Seconds() / dur.Seconds()
}

// post sends a JSON body as tenant and returns the status.
func (n *noisy) post(ctx context.Context, tenant, path string, body []byte) (int, []byte, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, n.url+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+n.keys[tenant])
	req.Header.Set("Content-Type", "application/json")
	res, err := n.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	return res.StatusCode, b, nil
}

// bigEvent is a valid RunEvent of about size bytes, most of them a run
// facet of many small objects, which is what costs memory to decode.
func bigEvent(size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"eventType":"COMPLETE","eventTime":%q,"producer":"https://example.com/bench","schemaURL":%q,`,
		time.Now().UTC().Format(time.RFC3339Nano), openlineage.SpecURL+"#/$defs/RunEvent")
	fmt.Fprintf(&b, `"job":{"namespace":"bench","name":"big-%s"},"inputs":[],"outputs":[],"run":{"runId":%q,"facets":{"bench":{"_producer":"https://example.com/bench","_schemaURL":"https://example.com/bench.json","rows":[`,
		uuid.NewString()[:8], uuid.NewString())
	for i := 0; b.Len() < size-64; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"k":"v%07d","n":%d}`, i, i)
	}
	b.WriteString(`]}}}}`)
	return b.Bytes()
}

// memoryRow sends eight 10 MiB events at once, one per tenant, each until
// it is stored, and reports the child's peak resident memory.
func (n *noisy) memoryRow(ctx context.Context) (row, error) {
	size := api.MaxLineageBodyBytes - 4096
	if n.e.o.Short && os.Getenv("SERVO_BENCH_NOISY_FULL_EVENTS") == "" {
		size = 1 << 20
	}
	events := make([][]byte, 8)
	for i := range events {
		events[i] = bigEvent(size)
	}
	idle := n.procKB("VmRSS")
	// Each sender is a well-behaved client: after a 429 it waits the
	// Retry-After second and sends again, until its event is stored.
	var wg sync.WaitGroup
	var refused, busy atomic.Int64
	errs := make([]error, len(events))
	t0 := time.Now()
	for i := range events {
		wg.Go(func() {
			for time.Since(t0) < 3*time.Minute {
				st, b, err := n.post(ctx, fmt.Sprintf("noisy-m%d", i), "/api/v1/lineage", events[i])
				switch {
				case err != nil:
					errs[i] = err
					return
				case st == http.StatusCreated:
					return
				case st == http.StatusTooManyRequests:
					refused.Add(1)
					time.Sleep(time.Second)
				case st == http.StatusServiceUnavailable:
					// The database was busy (a pool wait ran out): a
					// client retries as after a 429.
					busy.Add(1)
					time.Sleep(time.Second)
				default:
					errs[i] = fmt.Errorf("status %d: %.300s", st, b)
					return
				}
			}
			errs[i] = fmt.Errorf("event %d not stored within 3 minutes", i)
		})
	}
	wg.Wait()
	took := time.Since(t0)
	if err := errors.Join(errs...); err != nil {
		return row{}, fmt.Errorf("big events: %w", err)
	}
	if b := busy.Load(); b > 0 {
		logf("noisy: %d answers 503 (database busy) while storing the big events", b)
	}
	peak := n.procKB("VmHWM")
	logf("noisy: 8 events of %.1f MiB all stored in %s after %d answers 429; child RSS idle %d MB, peak %d MB",
		float64(size)/(1<<20), took.Round(time.Millisecond), refused.Load(), idle/1024, peak/1024)
	return row{
		Name:    fmt.Sprintf("noisy: peak RSS of the server while 8 clients send a %.0f MiB event each at once (resending after 429): %d MB (idle %d MB; %d answers 429; all stored in %s)", float64(size)/(1<<20), peak/1024, idle/1024, refused.Load(), took.Round(time.Millisecond)),
		Clients: 8, Target: "<= 300 MB",
		Servo: result{N: len(events), P50: took, P99: took},
	}, nil
}

// floodRows measures A alone, then while B floods.
func (n *noisy) floodRows(ctx context.Context) (row, row, error) {
	const a, b = "noisy-a", "noisy-b"
	o := n.e.o
	// A's data: assets to read, and a quick command step to trigger.
	var ids []string
	for i := range 50 {
		st, body, err := n.post(ctx, a, "/api/v1/assets", fmt.Appendf(nil, `{"name":"a.asset.%d"}`, i))
		if err != nil || st != http.StatusCreated {
			return row{}, row{}, fmt.Errorf("create A's asset: %d %s %v", st, body, err)
		}
		var out struct {
			Asset struct {
				ID string `json:"id"`
			} `json:"asset"`
		}
		_ = json.Unmarshal(body, &out)
		ids = append(ids, out.Asset.ID)
	}
	if st, body, err := n.post(ctx, a, "/api/v1/assets", []byte(`{"name":"a.quick","compute":{"kind":"command","argv":["/bin/sleep","0"]}}`)); err != nil || st != http.StatusCreated {
		return row{}, row{}, fmt.Errorf("create A's step: %d %s %v", st, body, err)
	}
	sleep := "30"
	steps := 100
	if o.Short {
		sleep, steps = "5", 20
	}
	if st, body, err := n.post(ctx, b, "/api/v1/assets", fmt.Appendf(nil, `{"name":"b.slow","compute":{"kind":"command","argv":["/bin/sleep",%q]}}`, sleep)); err != nil || st != http.StatusCreated {
		return row{}, row{}, fmt.Errorf("create B's step: %d %s %v", st, body, err)
	}

	clients := 4
	reads := func() result {
		return runLoad(ctx, clients, o.Duration, func(ctx context.Context, w, i int) error {
			req, _ := http.NewRequest(http.MethodGet, n.url+"/api/v1/assets/"+ids[(w*31+i)%len(ids)], nil)
			req.Header.Set("Authorization", "Bearer "+n.keys[a])
			return do(ctx, n.client, req, http.StatusOK)
		})
	}
	samples := 5
	if o.Short {
		samples = 2
	}
	starts := func() (result, error) { return n.triggerToStart(ctx, a, "a.quick", samples) }

	c0, t0 := n.cpuTime(), time.Now()
	aloneRead := reads()
	aloneCPU := cpuShare(n.cpuTime()-c0, time.Since(t0))
	aloneStart, err := starts()
	if err != nil {
		return row{}, row{}, err
	}
	logf("noisy: A alone: point read p50 %s p99 %s (server %.2f cores); trigger-to-start p50 %s max %s", fmtDur(aloneRead.P50), fmtDur(aloneRead.P99), aloneCPU, fmtDur(aloneStart.P50), fmtDur(aloneStart.P99))

	// B floods: its slow steps first, then its batches.
	for i := range steps {
		if st, body, err := n.post(ctx, b, "/api/v1/materialize", fmt.Appendf(nil, `{"asset_name":"b.slow","partition_key":"p%d"}`, i)); err != nil || st != http.StatusAccepted {
			return row{}, row{}, fmt.Errorf("queue B's step: %d %s %v", st, body, err)
		}
	}
	fctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var batches, refused atomic.Int64
	var floodErr atomic.Value
	for w := range 10 {
		wg.Go(func() {
			for i := 0; fctx.Err() == nil; i++ {
				st, body, err := n.post(fctx, b, "/api/v1/lineage/batch", floodBatch(w, i))
				switch {
				case fctx.Err() != nil:
					return
				case err != nil:
					floodErr.CompareAndSwap(nil, err.Error())
					return
				case st == http.StatusTooManyRequests:
					refused.Add(1)
					time.Sleep(50 * time.Millisecond)
				case st == http.StatusOK:
					batches.Add(1)
				default:
					floodErr.CompareAndSwap(nil, fmt.Sprintf("batch: %d %.200s", st, body))
					return
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond) // let the flood build up
	_, _ = io.WriteString(n.stdin, "profile\n")
	c0, t0 = n.cpuTime(), time.Now()
	floodRead := reads()
	floodCPU := cpuShare(n.cpuTime()-c0, time.Since(t0))
	_, _ = io.WriteString(n.stdin, "stop\n")
	floodStart, err := starts()
	stop()
	wg.Wait()
	if err != nil {
		return row{}, row{}, err
	}
	if fe := floodErr.Load(); fe != nil {
		return row{}, row{}, fmt.Errorf("the flood of tenant B failed: %v", fe)
	}
	logf("noisy: B's flood: %d batches of 100 events stored, %d refused with 429", batches.Load(), refused.Load())
	logf("noisy: A under the flood: point read p50 %s p99 %s (server %.2f cores); trigger-to-start p50 %s max %s", fmtDur(floodRead.P50), fmtDur(floodRead.P99), floodCPU, fmtDur(floodStart.P50), fmtDur(floodStart.P99))

	ratio := func(x, y time.Duration) float64 {
		if y == 0 {
			return 0
		}
		return float64(x) / float64(y)
	}
	read := row{
		Name:    fmt.Sprintf("noisy: A's GET /api/v1/assets/{id} while B floods (10 batch loops, %d queued sleep %ss steps; %d batches stored, %d 429s); p99 ratio %.2fx", steps, sleep, batches.Load(), refused.Load(), ratio(floodRead.P99, aloneRead.P99)),
		Clients: clients, Servo: floodRead, Baseline: "A alone, same run", Base: aloneRead, Latency: true, Target: "p99 <= 3x",
	}
	start := row{
		Name:    fmt.Sprintf("noisy: A's trigger-to-start of a command step while B floods (max %s, alone max %s%s)", fmtDur(floodStart.P99), fmtDur(aloneStart.P99), n.capped(floodStart)),
		Clients: 1, Servo: floodStart, Baseline: "A alone, same run", Base: aloneStart, Latency: true, Target: "<= 2 s",
	}
	return read, start, nil
}

// capped notes a trigger-to-start series cut short at startCap.
func (n *noisy) capped(r result) string {
	if r.Errors == 0 {
		return ""
	}
	return fmt.Sprintf("; a run did not start within %s, stopped at sample %d", n.startCap(), r.N)
}

// floodBatch is a batch of 100 events of B's, each a run of its own with
// two inputs and two outputs.
func floodBatch(w, i int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	at := time.Now().UTC().Format(time.RFC3339Nano)
	for k := range 100 {
		if k > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"eventType":"COMPLETE","eventTime":%q,"producer":"https://example.com/bench","schemaURL":%q,"run":{"runId":%q},"job":{"namespace":"flood","name":"job-%d-%d"},`+
			`"inputs":[{"namespace":"flood","name":"in-%d-%d-a"},{"namespace":"flood","name":"in-%d-%d-b"}],"outputs":[{"namespace":"flood","name":"out-%d-%d-a"},{"namespace":"flood","name":"out-%d-%d-b"}]}`,
			at, openlineage.SpecURL+"#/$defs/RunEvent", uuid.NewString(), w, k, w, k, w, k, w, i, w, i)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// noisyStartCap bounds the wait for one run to start (a tenth of it with
// -short).
const noisyStartCap = 60 * time.Second

func (n *noisy) startCap() time.Duration {
	if n.e.o.Short {
		return noisyStartCap / 10
	}
	return noisyStartCap
}

// triggerToStart materializes asset as tenant samples times, one after the
// other, and times each from the trigger to the first poll that sees the
// run started (running or finished).
func (n *noisy) triggerToStart(ctx context.Context, tenant, asset string, samples int) (result, error) {
	var lat []time.Duration
	for s := range samples {
		t0 := time.Now()
		st, body, err := n.post(ctx, tenant, "/api/v1/materialize", fmt.Appendf(nil, `{"asset_name":%q,"partition_key":"s%d-%d"}`, asset, s, t0.UnixNano()))
		if err != nil || st != http.StatusAccepted {
			return result{}, fmt.Errorf("materialize %s: %d %s %v", asset, st, body, err)
		}
		var tr struct {
			RunID string `json:"run_id"`
		}
		if err := json.Unmarshal(body, &tr); err != nil {
			return result{}, err
		}
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.url+"/api/v1/runs/"+tr.RunID, nil)
			req.Header.Set("Authorization", "Bearer "+n.keys[tenant])
			res, err := n.client.Do(req)
			if err != nil {
				return result{}, err
			}
			var run struct {
				Run struct {
					State string `json:"state"`
				} `json:"run"`
				State string `json:"state"`
			}
			err = json.NewDecoder(res.Body).Decode(&run)
			_ = res.Body.Close()
			if err != nil {
				return result{}, err
			}
			st := run.Run.State
			if st == "" {
				st = run.State
			}
			if st != "" && st != "pending" && st != "queued" {
				break
			}
			if time.Since(t0) > n.startCap() {
				// Behind another tenant's backlog: report the cap and stop.
				logf("noisy: run %s of %s not started within %s", tr.RunID, tenant, n.startCap())
				lat = append(lat, time.Since(t0))
				r := result{N: len(lat), Errors: 1}
				slices.Sort(lat)
				r.P50, r.P99 = lat[len(lat)/2], lat[len(lat)-1]
				return r, nil
			}
			time.Sleep(5 * time.Millisecond)
		}
		lat = append(lat, time.Since(t0))
	}
	r := result{N: len(lat)}
	slices.Sort(lat)
	r.P50, r.P99 = lat[len(lat)/2], lat[len(lat)-1]
	return r, nil
}
