package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	goruntime "runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/servo-data/servo/internal/backfill"
	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/service/freshness"
	"github.com/servo-data/servo/internal/service/schedule"
	"github.com/servo-data/servo/internal/testdb"
	"github.com/servo-data/servo/internal/transport/api"
)

// options configure one run of the suite.
type options struct {
	Short bool
	// CPUProfile, when set, receives a CPU profile of one extra run of the
	// measurement Profile names ("point" or "lineage").
	CPUProfile, Profile string
	// MemProfile, when set, receives allocation profiles from before and
	// after the same extra run (see env.profile).
	MemProfile string
	Duration   time.Duration
	Clients    int
	Repeat     int
	Pool       int
	Out        string
	SeedOnly   bool
	Sizes      sizes
	// Only, when not empty, is a comma-separated list of the sections to
	// run ("core" and the registered ones); the others are left out.
	Only string
}

// row is one line of the table: a Servo figure and the baseline it is held
// against.
type row struct {
	Name     string
	Clients  int
	Servo    result
	Baseline string
	Base     result
	// Ratio is Servo over the baseline: throughput for throughput rows,
	// p50 time for latency rows (Latency set).
	Latency bool
	Target  string
}

// ratio returns the row's ratio, or 0 without a baseline.
func (r row) ratio() float64 {
	if r.Baseline == "" {
		return 0
	}
	if r.Latency {
		if r.Base.P50 == 0 {
			return 0
		}
		return float64(r.Servo.P50) / float64(r.Base.P50)
	}
	if r.Base.RPS == 0 {
		return 0
	}
	return r.Servo.RPS / r.Base.RPS
}

// env is what the measurements run against.
type env struct {
	o        options
	servo    string // base URL of the Servo server
	base     *baseline
	data     *seeded
	client   *http.Client
	deepOff  int    // offset of the deep list page
	deepCur  string // cursor of the same page
	lineageN int    // nodes the baseline lineage reaches, root excluded
	lineageE int    // edges of the lineage answer
	pgVer    string
}

// run executes the suite and writes the report to w (and to o.Out).
func run(ctx context.Context, o options, w io.Writer) error {
	if err := o.checkOnly(); err != nil {
		return err
	}
	started := time.Now()
	db, err := testdb.Create(ctx)
	if err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	if !o.SeedOnly {
		defer db.Drop()
	}
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	logf("database %s created and migrated", db.Name)

	// The Servo server, built as `servo serve` builds it. Its logger
	// encodes every line as JSON, as in production, into io.Discard.
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	store, err := repository.Open(ctx, db.AppURL, repository.PoolConfig{MaxOpen: o.Pool, ConnectTimeout: 10 * time.Second}, log)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer func() { _ = store.Close() }()
	if err := store.CheckSafety(ctx); err != nil {
		return fmt.Errorf("safety check: %w", err)
	}
	svc, d, err := newService(store, runtime.Config{}, log)
	if err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	rt, err := newRuntime(svc, d, runtime.Config{}, log)
	if err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	rt.UseBackfills(backfill.New(store, svc, d))
	if err := rt.Start(ctx); err != nil {
		return fmt.Errorf("start runtime: %w", err)
	}
	defer func() { _ = stopWithin(rt, 5*time.Second) }()

	data, err := seed(ctx, svc, db.OwnerURL, o.Sizes, logf)
	if err != nil {
		return err
	}
	if o.SeedOnly {
		_, err := fmt.Fprintf(w, "%s\nbig tenant %s, DAG tenant %s, DAG root %s\n", db.OwnerURL, data.BigTenant, data.DAGTenant, data.DAGRoot)
		return err
	}

	srv, err := api.New(api.Config{Addr: "127.0.0.1:0"}, api.Deps{DB: store, Pool: store, Log: log, Version: "bench"})
	if err != nil {
		return err
	}
	// Freshness as servo serve wires it: every successful materialization
	// records it, and the asset routes answer it.
	fresh := freshness.New(store, schedule.SystemClock{})
	svc.ObserveRuns(fresh)
	srv.MountAPI(svc, api.APIOptions{Backfills: rt.Backfills(), Freshness: fresh})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer func() { _ = hs.Close() }()

	base, err := startBaseline(ctx, db.OwnerURL, db.AppURL, int32(o.Pool))
	if err != nil {
		return fmt.Errorf("baseline server: %w", err)
	}
	defer base.close()

	e := &env{o: o, servo: "http://" + ln.Addr().String(), base: base, data: data, client: httpClient(o.Clients)}
	if err := e.prepare(ctx); err != nil {
		return err
	}
	var rows []row
	rss := "not measured (core rows left out)"
	switch {
	case o.selected(coreSection):
		if rows, rss, err = e.measure(ctx); err != nil {
			return err
		}
	case o.selected(pointSection):
		if rows, rss, err = e.measurePoint(ctx); err != nil {
			return err
		}
	}
	more, err := e.measureSections(ctx)
	if err != nil {
		return err
	}
	rows = append(rows, more...)
	report := e.report(rows, rss, time.Since(started))
	if _, err := io.WriteString(w, report); err != nil {
		return err
	}
	if o.Out != "" {
		if err := writeReport(o.Out, report); err != nil {
			return err
		}
		logf("wrote %s", o.Out)
	}
	return nil
}

// prepare finds the deep page's offset and cursor and checks both servers
// answer.
func (e *env) prepare(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, e.base.owner.Config().ConnString())
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(ctx) }()
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&e.pgVer); err != nil {
		return err
	}
	pages := min(1000, e.o.Sizes.BigAssets/50)
	e.deepOff = (pages - 1) * 50
	var c domain.Cursor
	err = conn.QueryRow(ctx, `SELECT created_at, id FROM assets WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1`,
		e.data.BigTenant, e.deepOff-1).Scan(&c.CreatedAt, &c.ID)
	if err != nil {
		return fmt.Errorf("deep cursor: %w", err)
	}
	e.deepCur = c.Encode()
	if e.lineageN, err = e.base.lineageQuery(ctx, e.data.DAGRoot, e.o.Sizes.Layers); err != nil {
		return err
	}
	logf("deep page: offset %d; lineage reaches %d nodes", e.deepOff, e.lineageN)
	// Same answers by offset and by cursor, or the comparison is void.
	var byOff, byCur struct {
		Assets []struct{ ID string } `json:"assets"`
	}
	if err := e.getJSON(ctx, fmt.Sprintf("/api/v1/assets?limit=50&offset=%d", e.deepOff), e.data.BigKey, &byOff); err != nil {
		return err
	}
	if err := e.getJSON(ctx, "/api/v1/assets?limit=50&cursor="+e.deepCur, e.data.BigKey, &byCur); err != nil {
		return err
	}
	if len(byOff.Assets) == 0 || len(byOff.Assets) != len(byCur.Assets) || byOff.Assets[0].ID != byCur.Assets[0].ID {
		return fmt.Errorf("the deep page by offset and by cursor differ")
	}
	var lin struct {
		Nodes []json.RawMessage `json:"nodes"`
		Edges []json.RawMessage `json:"edges"`
	}
	if err := e.getJSON(ctx, e.lineagePath(), e.data.DAGKey, &lin); err != nil {
		return err
	}
	if len(lin.Nodes) != e.lineageN {
		return fmt.Errorf("lineage over HTTP holds %d nodes, the recursive query %d", len(lin.Nodes), e.lineageN)
	}
	nodes, edges, err := e.base.lineageEdgesQuery(ctx, e.data.DAGRoot, e.o.Sizes.Layers)
	if err != nil {
		return err
	}
	if nodes != e.lineageN+1 || edges != len(lin.Edges) {
		return fmt.Errorf("lineage over HTTP holds %d nodes and %d edges, the equivalent query %d and %d (root included)", len(lin.Nodes), len(lin.Edges), nodes, edges)
	}
	e.lineageE = edges
	return nil
}

func (e *env) lineagePath() string {
	return fmt.Sprintf("/api/v1/assets/%s/lineage?direction=downstream&depth=%d", e.data.DAGRoot, e.o.Sizes.Layers)
}

func (e *env) get(path, key string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, e.servo+path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return req
}

func (e *env) getJSON(ctx context.Context, path, key string, dst any) error {
	res, err := e.client.Do(e.get(path, key).WithContext(ctx))
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("GET %s: %d %.300s", path, res.StatusCode, b)
	}
	return json.NewDecoder(res.Body).Decode(dst)
}

// repeat runs a measurement o.Repeat times and keeps the medians.
func (e *env) repeat(name string, fn func() (result, error)) (result, error) {
	rs := make([]result, 0, e.o.Repeat)
	for range e.o.Repeat {
		r, err := fn()
		if err != nil {
			return result{}, fmt.Errorf("%s: %w", name, err)
		}
		rs = append(rs, r)
	}
	return report(name, rs)
}

// report logs the median of rs and fails on failed requests.
func report(name string, rs []result) (result, error) {
	m := medianOf(rs)
	logf("%-44s %9.0f req/s  p50 %-10s p99 %-10s cpu %-8s/call (%d samples, %d errors)", name, m.RPS, fmtDur(m.P50), fmtDur(m.P99), fmtDur(m.CPU), m.N, m.Errors)
	if m.Errors > 0 {
		return m, fmt.Errorf("%s: %d failed requests", name, m.Errors)
	}
	return m, nil
}

// series is one thing measured: a name for the log and one measurement.
type series struct {
	name string
	run  func() result
}

// interleaved runs every series once per repetition, in turn, so that a
// slow spell of the shared machine falls on all of them alike, and returns
// the median of each.
func (e *env) interleaved(ss ...series) ([]result, error) {
	all := make([][]result, len(ss))
	for range e.o.Repeat {
		for i, s := range ss {
			all[i] = append(all[i], s.run())
		}
	}
	out := make([]result, len(ss))
	for i, s := range ss {
		var err error
		if out[i], err = report(s.name, all[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// loadGET returns a measurement of GET requests to Servo (paths made per
// call by pathOf) from clients clients.
func (e *env) loadGET(ctx context.Context, clients int, key string, pathOf func(w, i int) string) func() result {
	return func() result {
		return runLoad(ctx, clients, e.o.Duration, func(ctx context.Context, w, i int) error {
			return do(ctx, e.client, e.get(pathOf(w, i), key), http.StatusOK)
		})
	}
}

// profile runs fn once more, under the profilers -cpuprofile and
// -memprofile ask for, when -profile names this measurement. The
// allocation profile is written twice, before the run (FILE.base) and
// after it (FILE): `go tool pprof -sample_index=alloc_space -base
// FILE.base FILE` shows the run's allocations alone. The run's allocations
// per request, load generator included, are logged either way.
func (e *env) profile(ctx context.Context, what string, fn func() result) error {
	if (e.o.CPUProfile == "" && e.o.MemProfile == "") || e.o.Profile != what {
		return nil
	}
	writeAllocs := func(path string) error {
		if e.o.MemProfile == "" {
			return nil
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		return errors.Join(pprof.Lookup("allocs").WriteTo(f, 0), f.Close())
	}
	if err := writeAllocs(e.o.MemProfile + ".base"); err != nil {
		return err
	}
	var cpu *os.File
	if e.o.CPUProfile != "" {
		var err error
		if cpu, err = os.Create(e.o.CPUProfile); err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			_ = cpu.Close()
			return err
		}
	}
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	r := fn()
	goruntime.ReadMemStats(&after)
	if cpu != nil {
		pprof.StopCPUProfile()
		if err := cpu.Close(); err != nil {
			return err
		}
	}
	if err := writeAllocs(e.o.MemProfile); err != nil {
		return err
	}
	// The warm-up's requests allocate too: count them in with the samples
	// at the measured rate.
	reqs := float64(r.N) * (1 + float64(min(e.o.Duration/5, 500*time.Millisecond))/float64(e.o.Duration))
	logf("profiled %s: %.0f req/s, p50 %s; about %.0f allocations and %.0f bytes per request (load generator included); wrote %s %s",
		what, r.RPS, fmtDur(r.P50), float64(after.Mallocs-before.Mallocs)/reqs, float64(after.TotalAlloc-before.TotalAlloc)/reqs, e.o.CPUProfile, e.o.MemProfile)
	return nil
}

// measure runs every measurement; it returns the table and the process's
// resident memory after the point-read load.
func (e *env) measure(ctx context.Context) ([]row, string, error) {
	d := e.data
	n := e.o.Clients
	rows, rss, err := e.measurePoint(ctx)
	if err != nil {
		return nil, "", err
	}

	// Lists: the first page, and a deep page by offset and by cursor, each
	// held against the first page.
	first := row{Name: "GET /api/v1/assets?limit=50 (first page)", Clients: n}
	deepOff := row{Name: fmt.Sprintf("... page %d by offset=%d", e.deepOff/50+1, e.deepOff), Clients: n, Baseline: "first page", Latency: true}
	deepCur := row{Name: fmt.Sprintf("... page %d by cursor", e.deepOff/50+1), Clients: n, Baseline: "first page", Latency: true, Target: "<= 1.5x"}
	count := row{Name: "COUNT(*) of the tenant's assets, what ?count=exact adds (bare pgx)", Clients: 1}
	res, err := e.interleaved(
		series{"servo list first page", e.loadGET(ctx, n, d.BigKey, func(int, int) string { return "/api/v1/assets?limit=50" })},
		series{"servo list deep page by offset", e.loadGET(ctx, n, d.BigKey, func(int, int) string {
			return fmt.Sprintf("/api/v1/assets?limit=50&offset=%d", e.deepOff)
		})},
		series{"servo list deep page by cursor", e.loadGET(ctx, n, d.BigKey, func(int, int) string {
			return "/api/v1/assets?limit=50&cursor=" + e.deepCur
		})},
		series{"bare COUNT(*) of the tenant's assets", func() result {
			return runLoad(ctx, 1, e.o.Duration, func(ctx context.Context, _, _ int) error {
				var c int64
				return e.base.owner.QueryRow(ctx, "SELECT count(*) FROM assets WHERE tenant_id = $1", d.BigTenant).Scan(&c)
			})
		}},
	)
	if err != nil {
		return nil, "", err
	}
	first.Servo, deepOff.Servo, deepCur.Servo, count.Servo = res[0], res[1], res[2], res[3]
	deepOff.Base, deepCur.Base = first.Servo, first.Servo
	rows = append(rows, first, deepOff, deepCur, count)

	// Creates.
	create := row{Name: "POST /api/v1/assets", Clients: n}
	stamp := time.Now().UnixNano()
	rep := 0
	res, err = e.interleaved(series{"servo create asset", func() result {
		rep++
		return runLoad(ctx, n, e.o.Duration, func(ctx context.Context, w, i int) error {
			body := fmt.Sprintf(`{"name":"bench.new.%d.%d.%d.%d","asset_type":"table"}`, stamp, rep, w, i)
			req, _ := http.NewRequest(http.MethodPost, e.servo+"/api/v1/assets", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+d.BigKey)
			req.Header.Set("Content-Type", "application/json")
			return do(ctx, e.client, req, http.StatusCreated)
		})
	}})
	if err != nil {
		return nil, "", err
	}
	create.Servo = res[0]
	rows = append(rows, create)

	// Lineage: one client, so that the figures are latencies; against the
	// equivalent statement (nodes with their rows and the edges) and
	// against the closure's node rows alone (a lower bound).
	name := fmt.Sprintf("lineage downstream depth %d (%d nodes, %d edges)", e.o.Sizes.Layers, e.lineageN, e.lineageE)
	lin := row{Name: name, Clients: 1, Baseline: "one WITH RECURSIVE query: nodes + edges (bare pgx)", Latency: true, Target: "<= 1.5x"}
	linLB := row{Name: name, Clients: 1, Baseline: "one WITH RECURSIVE query: node rows only (bare pgx)", Latency: true}
	servoLineage := e.loadGET(ctx, 1, d.DAGKey, func(int, int) string { return e.lineagePath() })
	if err := e.profile(ctx, "lineage", servoLineage); err != nil {
		return nil, "", err
	}
	res, err = e.interleaved(
		series{"servo lineage", servoLineage},
		series{"baseline recursive query, nodes + edges", func() result {
			return runLoad(ctx, 1, e.o.Duration, func(ctx context.Context, _, _ int) error {
				_, _, err := e.base.lineageEdgesQuery(ctx, d.DAGRoot, e.o.Sizes.Layers)
				return err
			})
		}},
		series{"baseline recursive query, node rows only", func() result {
			return runLoad(ctx, 1, e.o.Duration, func(ctx context.Context, _, _ int) error {
				_, err := e.base.lineageQuery(ctx, d.DAGRoot, e.o.Sizes.Layers)
				return err
			})
		}},
	)
	if err != nil {
		return nil, "", err
	}
	lin.Servo, lin.Base, linLB.Base = res[0], res[1], res[2]
	linLB.Servo = lin.Servo
	rows = append(rows, lin, linLB)

	// Trigger to success of an observed asset's materialization.
	trig := row{Name: "materialize observed asset: trigger to success", Clients: 1}
	if trig.Servo, err = e.repeat("servo trigger-to-success", func() (result, error) { return e.triggerToSuccess(ctx) }); err != nil {
		return nil, "", err
	}
	rows = append(rows, trig)
	return rows, rss, nil
}

// measurePoint measures the point reads of Servo and of both baselines in
// turn; it returns their two rows and the process's resident memory after
// the point-read load.
func (e *env) measurePoint(ctx context.Context) ([]row, string, error) {
	d := e.data
	n := e.o.Clients
	ids := d.PointIDs
	pick := func(w, i int) string { return ids[(w*7919+i)%len(ids)].String() }

	pr := row{Name: "GET /api/v1/assets/{id}", Clients: n, Baseline: "pgx in BEGIN + set_config + COMMIT", Target: ">= 0.9x"}
	bare := row{Name: "GET /api/v1/assets/{id}", Clients: n, Baseline: "bare pgx point read", Target: ">= 0.75x, p99 <= 2x"}
	txURL := e.base.url + "/tx/" + d.BigTenant + "/"
	baseGET := func(url string) func() result {
		return func() result {
			return runLoad(ctx, n, e.o.Duration, func(ctx context.Context, w, i int) error {
				req, _ := http.NewRequest(http.MethodGet, url+pick(w, i), nil)
				return do(ctx, e.client, req, http.StatusOK)
			})
		}
	}
	servoPoint := e.loadGET(ctx, n, d.BigKey, func(w, i int) string { return "/api/v1/assets/" + pick(w, i) })
	if err := e.profile(ctx, "point", servoPoint); err != nil {
		return nil, "", err
	}
	if err := e.profile(ctx, "point-bare", baseGET(e.base.url+"/bare/")); err != nil {
		return nil, "", err
	}
	rss := ""
	res, err := e.interleaved(
		series{"servo point read", func() result { r := servoPoint(); rss = memory(); return r }},
		series{"baseline pgx tx + set_config", baseGET(txURL)},
		series{"baseline bare pgx", baseGET(e.base.url + "/bare/")},
	)
	if err != nil {
		return nil, "", err
	}
	pr.Servo, pr.Base, bare.Base = res[0], res[1], res[2]
	bare.Servo = pr.Servo
	return []row{pr, bare}, rss, nil
}

// triggerToSuccess materializes an observed asset (one with no compute
// spec) several times in a row and times each run from the trigger request
// to the first poll that sees it succeeded.
func (e *env) triggerToSuccess(ctx context.Context) (result, error) {
	key := e.data.BigKey
	name := fmt.Sprintf("bench.observed.%d", time.Now().UnixNano())
	body := fmt.Sprintf(`{"name":%q}`, name)
	req, _ := http.NewRequest(http.MethodPost, e.servo+"/api/v1/assets", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if err := do(ctx, e.client, req, http.StatusCreated); err != nil {
		return result{}, err
	}
	samples := 10
	if e.o.Short {
		samples = 2
	}
	var lat []time.Duration
	begin := time.Now()
	for range samples {
		t0 := time.Now()
		req, _ := http.NewRequest(http.MethodPost, e.servo+"/api/v1/materialize", strings.NewReader(fmt.Sprintf(`{"asset_name":%q}`, name)))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := e.client.Do(req.WithContext(ctx))
		if err != nil {
			return result{}, err
		}
		var tr struct {
			RunID string `json:"run_id"`
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != http.StatusAccepted || json.Unmarshal(b, &tr) != nil {
			return result{}, fmt.Errorf("materialize: %d %.200s", res.StatusCode, b)
		}
		for {
			var run struct {
				Run struct {
					Status string `json:"status"`
				} `json:"run"`
				Status string `json:"status"`
			}
			if err := e.getJSON(ctx, "/api/v1/runs/"+tr.RunID, key, &run); err != nil {
				return result{}, err
			}
			st := run.Run.Status
			if st == "" {
				st = run.Status
			}
			if st == "success" {
				break
			}
			if st == "failed" || st == "cancelled" || st == "upstream_failed" {
				return result{}, fmt.Errorf("run %s ended %s", tr.RunID, st)
			}
			if time.Since(t0) > 60*time.Second {
				return result{}, fmt.Errorf("run %s not done within 60s (status %q)", tr.RunID, st)
			}
			time.Sleep(2 * time.Millisecond)
		}
		lat = append(lat, time.Since(t0))
	}
	r := result{N: len(lat), RPS: float64(len(lat)) / time.Since(begin).Seconds()}
	slices.Sort(lat)
	r.P50 = lat[len(lat)/2]
	r.P99 = lat[len(lat)-1]
	return r, nil
}

// memory reports the process's resident set now and at its peak. Servo
// runs in this process, with the load generator and the baseline pools.
func memory() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	var rss, hwm string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "VmRSS:" {
			rss = f[1] + " kB"
		}
		if len(f) >= 2 && f[0] == "VmHWM:" {
			hwm = f[1] + " kB"
		}
	}
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return fmt.Sprintf("RSS %s (peak %s), Go heap in use %.1f MB", rss, hwm, float64(ms.HeapInuse)/(1<<20))
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return d.Round(time.Millisecond).String()
}

// report renders the results as Markdown.
func (e *env) report(rows []row, rss string, took time.Duration) string {
	var b bytes.Buffer
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "Measured %s on %s: nproc %d, PostgreSQL %s, %s; %d clients, %s per measurement, median of %d; suite took %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), host, goruntime.NumCPU(), e.pgVer, goruntime.Version(),
		e.o.Clients, e.o.Duration, e.o.Repeat, took.Round(time.Second))
	sz := e.o.Sizes
	fmt.Fprintf(&b, "Seed: %d assets over %d tenants (%d in the measured tenant), a DAG of %d layers x %d nodes with %d parents each, %d runs. Server pool: %d connections; baseline pools: %d each.\n\n",
		sz.Assets, sz.Tenants, sz.BigAssets, sz.Layers, sz.Width, sz.Parents, sz.Runs, e.o.Pool, e.o.Pool)
	b.WriteString("| Measurement | Clients | Servo req/s | Servo p50 | Servo p99 | Baseline | Baseline req/s | Baseline p50 | Baseline p99 | Ratio | Target |\n")
	b.WriteString("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		base, brps, bp50, bp99, ratio := "-", "-", "-", "-", "-"
		if r.Baseline != "" {
			base, brps, bp50, bp99 = r.Baseline, fmt.Sprintf("%.0f", r.Base.RPS), fmtDur(r.Base.P50), fmtDur(r.Base.P99)
			kind := "req/s"
			if r.Latency {
				kind = "p50 time"
			}
			ratio = fmt.Sprintf("%.2fx (%s)", r.ratio(), kind)
		}
		target := r.Target
		if target == "" {
			target = "-"
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Name, r.Clients, r.Servo.RPS, fmtDur(r.Servo.P50), fmtDur(r.Servo.P99), base, brps, bp50, bp99, ratio, target)
	}
	fmt.Fprintf(&b, "\nMemory after the point-read load (server, load generator and baselines share the process): %s.\n", rss)
	return b.String()
}

// Markers around the generated part of BENCHMARKS.md.
const (
	beginMarker = "<!-- servo-bench:begin -->"
	endMarker   = "<!-- servo-bench:end -->"
)

// writeReport puts the report between the markers of path, keeping the
// hand-written text around them, or writes a new file.
func writeReport(path, report string) error {
	generated := beginMarker + "\n" + report + endMarker
	old, err := os.ReadFile(path)
	if err == nil {
		s := string(old)
		i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
		if i >= 0 && j > i {
			return os.WriteFile(path, []byte(s[:i]+generated+s[j+len(endMarker):]), 0o644)
		}
	}
	return os.WriteFile(path, []byte("# Benchmarks\n\nWritten by `make bench` (cmd/servo-bench).\n\n"+generated+"\n"), 0o644)
}

// runtimeDB is the runtime's view of store, as `servo serve` wires it:
// workers listen for new jobs on the store's job pool.
func runtimeDB(store *repository.Store) (runtime.DB, error) {
	pool, err := store.JobPool()
	if err != nil {
		return runtime.DB{}, err
	}
	return runtime.DB{Pool: store.SQLDB(), Postgres: true, TxFrom: repository.SQLTx, Listen: runtime.WorkDriverOf(riverpgxv5.New(pool))}, nil
}

// newService returns the use cases over store, dispatching runs to the
// queue of cfg and checking compute specs against its policy.
func newService(store *repository.Store, cfg runtime.Config, log *zap.Logger) (*service.Service, *runtime.Dispatcher, error) {
	db, err := runtimeDB(store)
	if err != nil {
		return nil, nil, err
	}
	d, err := runtime.NewDispatcher(db, cfg.Queue, log)
	if err != nil {
		return nil, nil, err
	}
	return service.New(store, d, cfg.ComputePolicy()), d, nil
}

// newRuntime returns a runtime working the runs of svc that d dispatches.
func newRuntime(svc *service.Service, d *runtime.Dispatcher, cfg runtime.Config, log *zap.Logger) (*runtime.Runtime, error) {
	return runtime.New(svc, svc.Engine(), d, cfg, log)
}

// stopWithin stops rt, letting running steps finish for up to d.
func stopWithin(rt *runtime.Runtime, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return rt.Stop(ctx)
}
