package main

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

func init() {
	registerSection(section{Name: "latency", Run: measureLatency})
}

// Row names of the latency section.
const (
	latencyRiverRow   = "bare River: insert to work start"
	latencyRunningRow = "materialize observed asset: trigger to running"
	latencySuccessRow = "materialize observed asset: trigger to success (recorded transitions)"
	latencyChainRow   = "20-step chain of observed assets: overhead per step"
)

// chainSteps is the length of the chain workflow.
const chainSteps = 20

// measureLatency measures how soon a run starts and ends once triggered,
// against bare River on the same database: a no-op job's wait from its
// insert to the start of its work function, with River's pgx driver on a
// pgx pool of its own (LISTEN/NOTIFY, FetchCooldown at its 1 ms minimum,
// 10 workers). The River samples and the Servo triggers alternate.
// Servo's times come from the run's recorded transitions: the trigger
// request's start to the transition's time.
func measureLatency(ctx context.Context, e *env) ([]row, error) {
	samples, chains := 200, 5
	if e.o.Short {
		samples, chains = 5, 1
	}
	br, err := startBareRiver(ctx, e.base.owner.Config().ConnString())
	if err != nil {
		return nil, fmt.Errorf("bare river: %w", err)
	}
	defer br.stop()
	name := fmt.Sprintf("bench.latency.%d", time.Now().UnixNano())
	if err := e.post(ctx, "/api/v1/assets", fmt.Sprintf(`{"name":%q}`, name), http.StatusCreated, nil); err != nil {
		return nil, err
	}
	var river, running, success []time.Duration
	for i := range samples + 1 {
		r, err := br.sample(ctx)
		if err != nil {
			return nil, fmt.Errorf("bare river: %w", err)
		}
		toRunning, toSuccess, err := e.triggerObserved(ctx, name)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			continue // warm-up
		}
		river, running, success = append(river, r), append(running, toRunning), append(success, toSuccess)
	}
	base := percentiles(river)
	rows := []row{
		{Name: latencyRiverRow, Clients: 1, Servo: base, Target: "reference (about 1.3ms p50 on a quiet machine)"},
		{Name: latencyRunningRow, Clients: 1, Servo: percentiles(running), Baseline: latencyRiverRow, Base: base, Latency: true,
			Target: "p50 <= 15ms, p99 <= 50ms"},
		{Name: latencySuccessRow, Clients: 1, Servo: percentiles(success), Baseline: latencyRiverRow, Base: base, Latency: true,
			Target: "p50 <= 15ms, p99 <= 50ms, <= 10x"},
	}
	chain, err := e.chainOverhead(ctx, chains)
	if err != nil {
		return nil, fmt.Errorf("chain: %w", err)
	}
	rows = append(rows, row{Name: latencyChainRow, Clients: 1, Servo: chain, Baseline: latencyRiverRow, Base: base, Latency: true,
		Target: "<= 20ms"})
	return rows, nil
}

// percentiles returns the p50 and p99 of samples (kept in order).
func percentiles(samples []time.Duration) result {
	s := slices.Clone(samples)
	slices.Sort(s)
	if len(s) == 0 {
		return result{}
	}
	return result{N: len(s), P50: s[len(s)*50/100], P99: s[min(len(s)-1, len(s)*99/100)]}
}

// bareRiverClient is a River client of its own working no-op jobs.
type bareRiverClient struct {
	pool    *pgxpool.Pool
	client  *river.Client[pgx.Tx]
	queue   string
	started chan time.Time
}

// latencyArgs is the bare River job.
type latencyArgs struct{}

// Kind implements river.JobArgs.
func (latencyArgs) Kind() string { return "bench_latency_noop" }

type latencyWorker struct {
	river.WorkerDefaults[latencyArgs]
	started chan<- time.Time
}

func (w *latencyWorker) Work(context.Context, *river.Job[latencyArgs]) error {
	w.started <- time.Now()
	return nil
}

// startBareRiver starts a River client on url with River's pgx driver.
func startBareRiver(ctx context.Context, url string) (*bareRiverClient, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	started := make(chan time.Time, 1)
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &latencyWorker{started: started}); err != nil {
		pool.Close()
		return nil, err
	}
	queue := fmt.Sprintf("bench_latency_%d", time.Now().UnixNano())
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Workers: workers, Queues: map[string]river.QueueConfig{queue: {MaxWorkers: 10}},
		FetchCooldown: river.FetchCooldownMin,
	})
	if err != nil {
		pool.Close()
		return nil, err
	}
	if err := client.Start(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return &bareRiverClient{pool: pool, client: client, queue: queue, started: started}, nil
}

// sample inserts one job and returns how long after the insert began its
// work function started.
func (b *bareRiverClient) sample(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	if _, err := b.client.Insert(ctx, latencyArgs{}, &river.InsertOpts{Queue: b.queue}); err != nil {
		return 0, err
	}
	select {
	case at := <-b.started:
		d := at.Sub(t0)
		time.Sleep(2 * time.Millisecond) // past the insert notification's cooldown
		return d, nil
	case <-time.After(30 * time.Second):
		return 0, fmt.Errorf("job not worked within 30s")
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// stop stops the client and closes its pool.
func (b *bareRiverClient) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = b.client.Stop(ctx)
	b.pool.Close()
}

// runEventTimes returns when the run entered each state, as its
// transitions recorded it (the first time for each state).
func (e *env) runEventTimes(ctx context.Context, id string) (map[string]time.Time, error) {
	var evs struct {
		Events []struct {
			To string    `json:"to"`
			At time.Time `json:"at"`
		} `json:"events"`
	}
	if err := e.getJSON(ctx, "/api/v1/runs/"+id+"/events", e.data.BigKey, &evs); err != nil {
		return nil, err
	}
	at := map[string]time.Time{}
	for _, ev := range evs.Events {
		if _, ok := at[ev.To]; !ok {
			at[ev.To] = ev.At
		}
	}
	return at, nil
}

// waitSucceeded polls the run until it succeeded and returns the times of
// its transitions.
func (e *env) waitSucceeded(ctx context.Context, id string) (map[string]time.Time, error) {
	begin := time.Now()
	for {
		var run struct {
			Status string `json:"status"`
			Run    struct {
				Status string `json:"status"`
			} `json:"run"`
		}
		if err := e.getJSON(ctx, "/api/v1/runs/"+id, e.data.BigKey, &run); err != nil {
			return nil, err
		}
		st := cmp.Or(run.Run.Status, run.Status)
		switch st {
		case "success":
			return e.runEventTimes(ctx, id)
		case "failed", "cancelled", "upstream_failed":
			return nil, fmt.Errorf("run %s ended %s", id, st)
		}
		if time.Since(begin) > time.Minute {
			return nil, fmt.Errorf("run %s not done within a minute (status %q)", id, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// triggerObserved materializes the observed asset name and returns the
// time from the start of the trigger request to the run's start and to its
// success.
func (e *env) triggerObserved(ctx context.Context, name string) (toRunning, toSuccess time.Duration, err error) {
	var tr struct {
		RunID string `json:"run_id"`
	}
	t0 := time.Now()
	if err := e.post(ctx, "/api/v1/materialize", fmt.Sprintf(`{"asset_name":%q}`, name), http.StatusAccepted, &tr); err != nil {
		return 0, 0, err
	}
	at, err := e.waitSucceeded(ctx, tr.RunID)
	if err != nil {
		return 0, 0, err
	}
	if at["running"].IsZero() || at["succeeded"].IsZero() {
		return 0, 0, fmt.Errorf("run %s: transitions %v lack running or succeeded", tr.RunID, at)
	}
	return at["running"].Sub(t0), at["succeeded"].Sub(t0), nil
}

// chainOverhead creates a workflow of chainSteps observed assets, each
// downstream of the one before, triggers it n times and returns the
// overhead per step of each run: its time from the start of the trigger
// request to its success, over the steps (observed steps do no work).
func (e *env) chainOverhead(ctx context.Context, n int) (result, error) {
	prefix := fmt.Sprintf("bench.chain.%d", time.Now().UnixNano())
	names := make([]string, chainSteps)
	for i := range names {
		names[i] = fmt.Sprintf("%s.%02d", prefix, i)
		if err := e.post(ctx, "/api/v1/assets", fmt.Sprintf(`{"name":%q}`, names[i]), http.StatusCreated, nil); err != nil {
			return result{}, err
		}
		if i > 0 {
			body := fmt.Sprintf(`{"upstream":%q,"downstream":%q,"dependency_type":"data"}`, names[i-1], names[i])
			if err := e.post(ctx, "/api/v1/dependencies", body, http.StatusCreated, nil); err != nil {
				return result{}, err
			}
		}
	}
	body := fmt.Sprintf(`{"name":%q,"assets":["%s"]}`, prefix, strings.Join(names, `","`))
	if err := e.post(ctx, "/api/v1/workflows", body, http.StatusCreated, nil); err != nil {
		return result{}, err
	}
	var per []time.Duration
	for range n {
		var tr struct {
			RunID string `json:"run_id"`
		}
		t0 := time.Now()
		if err := e.post(ctx, "/api/v1/workflows/"+prefix+"/trigger", "", http.StatusAccepted, &tr); err != nil {
			return result{}, err
		}
		at, err := e.waitSucceeded(ctx, tr.RunID)
		if err != nil {
			return result{}, err
		}
		if at["succeeded"].IsZero() {
			return result{}, fmt.Errorf("workflow run %s: transitions %v lack succeeded", tr.RunID, at)
		}
		per = append(per, at["succeeded"].Sub(t0)/chainSteps)
	}
	return percentiles(per), nil
}

// post sends body (JSON, or nothing) to path as the measured tenant,
// checks the status and decodes the answer into dst (when not nil).
func (e *env) post(ctx context.Context, path, body string, want int, dst any) error {
	req, err := http.NewRequest(http.MethodPost, e.servo+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.data.BigKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return doJSON(ctx, e.client, req, want, dst)
}
