package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

func init() {
	registerSection(section{Name: "backfill", Run: measureBackfill})
}

// backfillPartitions and backfillConcurrency size the backfill row.
const (
	backfillPartitions  = 1000
	backfillConcurrency = 50
)

// measureBackfill times a backfill of an observed daily asset through the
// API, from the request to the poll that sees it succeeded, against the
// same number of no-op jobs through a bare River client on the same
// database with the runtime's worker count and poll interval. The
// difference, divided by the partitions, is the backfill's overhead per
// partition: creating, launching, settling and advancing each one.
func measureBackfill(ctx context.Context, e *env) ([]row, error) {
	n := backfillPartitions
	if e.o.Short {
		n = 40
	}
	servo := row{Name: fmt.Sprintf("backfill %d partitions, observed asset, max_concurrency %d: partitions/s", n, backfillConcurrency), Clients: 1,
		Baseline: fmt.Sprintf("%d no-op River jobs, same workers", n)}
	var err error
	if servo.Servo, err = e.repeat("servo backfill", func() (result, error) { return e.backfillOnce(ctx, n) }); err != nil {
		return nil, err
	}
	if servo.Base, err = e.repeat("bare river jobs", func() (result, error) { return e.bareRiver(ctx, n) }); err != nil {
		return nil, err
	}
	over := time.Duration(float64(time.Second)/servo.Servo.RPS - float64(time.Second)/servo.Base.RPS)
	logf("backfill overhead per partition over a bare River job: %s", fmtDur(over))
	servo.Target = "overhead/partition " + fmtDur(over)
	return []row{servo}, nil
}

// backfillOnce backfills n daily partitions of a new observed asset and
// reports partitions per second; P50 holds the wall time.
func (e *env) backfillOnce(ctx context.Context, n int) (result, error) {
	key := e.data.BigKey
	name := fmt.Sprintf("bench.backfill.%d", time.Now().UnixNano())
	post := func(path, body string, want int, dst any) error {
		req, _ := http.NewRequest(http.MethodPost, e.servo+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		return doJSON(ctx, e.client, req, want, dst)
	}
	if err := post("/api/v1/assets", fmt.Sprintf(`{"name":%q,"partitions":{"type":"time_daily","start_date":"2020-01-01"}}`, name), http.StatusCreated, nil); err != nil {
		return result{}, err
	}
	end := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n-1).Format("2006-01-02")
	var bf struct {
		Backfill struct {
			ID string `json:"id"`
		} `json:"backfill"`
	}
	t0 := time.Now()
	body := fmt.Sprintf(`{"asset":%q,"range":{"start":"2020-01-01","end":%q},"max_concurrency":%d}`, name, end, backfillConcurrency)
	if err := post("/api/v1/backfills", body, http.StatusAccepted, &bf); err != nil {
		return result{}, err
	}
	for {
		var got struct {
			Backfill struct {
				State     string `json:"state"`
				Succeeded int    `json:"succeeded"`
			} `json:"backfill"`
		}
		if err := e.getJSON(ctx, "/api/v1/backfills/"+bf.Backfill.ID, key, &got); err != nil {
			return result{}, err
		}
		switch got.Backfill.State {
		case "succeeded":
			d := time.Since(t0)
			return result{RPS: float64(n) / d.Seconds(), P50: d, P99: d, N: 1}, nil
		case "failed", "cancelled":
			return result{}, fmt.Errorf("backfill ended %s", got.Backfill.State)
		}
		if time.Since(t0) > 10*time.Minute {
			return result{}, fmt.Errorf("backfill not done within 10m (%d succeeded)", got.Backfill.Succeeded)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// noopArgs is the baseline's job.
type noopArgs struct{}

// Kind implements river.JobArgs.
func (noopArgs) Kind() string { return "bench_noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	done *atomic.Int64
}

func (w *noopWorker) Work(context.Context, *river.Job[noopArgs]) error {
	w.done.Add(1)
	return nil
}

// noopRiver is a bare River client on a pool of its own, as the runtime
// runs on PostgreSQL: River's pgx driver, which listens for new jobs (200ms
// poll as the fallback), the minimum fetch cooldown. Its workers count the
// no-op jobs they work.
type noopRiver struct {
	db     *pgxpool.Pool
	client *river.Client[pgx.Tx]
	queue  string
	done   atomic.Int64
}

// startNoopRiver starts a noopRiver on url with conns connections and
// workers workers, on a queue of its own named after name.
func startNoopRiver(ctx context.Context, url string, conns, workers int, name string) (*noopRiver, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(conns)
	r := &noopRiver{queue: fmt.Sprintf("bench_%s_%d", name, time.Now().UnixNano())}
	if r.db, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, err
	}
	ws := river.NewWorkers()
	if err := river.AddWorkerSafely(ws, &noopWorker{done: &r.done}); err != nil {
		r.db.Close()
		return nil, err
	}
	r.client, err = river.NewClient(riverpgxv5.New(r.db), &river.Config{
		Workers: ws, Queues: map[string]river.QueueConfig{r.queue: {MaxWorkers: workers}},
		FetchPollInterval: 200 * time.Millisecond, FetchCooldown: river.FetchCooldownMin,
	})
	if err == nil {
		err = r.client.Start(ctx)
	}
	if err != nil {
		r.db.Close()
		return nil, err
	}
	return r, nil
}

// opts are the insert options of the client's jobs.
func (r *noopRiver) opts() *river.InsertOpts { return &river.InsertOpts{Queue: r.queue} }

// waitDone waits until n jobs have been worked since t0, for 5 minutes at
// most, and returns the time since t0.
func (r *noopRiver) waitDone(t0 time.Time, n int) (time.Duration, error) {
	for r.done.Load() < int64(n) {
		if time.Since(t0) > 5*time.Minute {
			return 0, fmt.Errorf("river jobs not done within 5m (%d of %d)", r.done.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(t0), nil
}

// stop stops the client and closes its pool.
func (r *noopRiver) stop(ctx context.Context) {
	_ = r.client.Stop(context.WithoutCancel(ctx))
	r.db.Close()
}

// bareRiver inserts n no-op jobs at once into a noopRiver with the
// runtime's 10 workers and times them to the last one worked.
func (e *env) bareRiver(ctx context.Context, n int) (result, error) {
	r, err := startNoopRiver(ctx, e.base.owner.Config().ConnString(), e.o.Pool, 10, "noop")
	if err != nil {
		return result{}, err
	}
	defer r.stop(ctx)
	t0 := time.Now()
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: noopArgs{}, InsertOpts: r.opts()}
	}
	if _, err := r.client.InsertMany(ctx, params); err != nil {
		return result{}, err
	}
	d, err := r.waitDone(t0, n)
	if err != nil {
		return result{}, err
	}
	return result{RPS: float64(n) / d.Seconds(), P50: d, P99: d, N: 1}, nil
}

// doJSON sends req, checks its status and decodes the body into dst
// (when not nil).
func doJSON(ctx context.Context, c *http.Client, req *http.Request, want int, dst any) error {
	res, err := c.Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %.300s", req.Method, req.URL.Path, res.StatusCode, want, b)
	}
	if dst == nil {
		return nil
	}
	return json.Unmarshal(b, dst)
}
