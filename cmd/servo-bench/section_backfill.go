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

// bareRiver inserts n no-op jobs into a River client of its own, as the
// runtime runs on PostgreSQL (River's pgx driver, which listens for new
// jobs; 10 workers, 200ms poll as the fallback, the minimum fetch
// cooldown), and times them to the last one worked.
func (e *env) bareRiver(ctx context.Context, n int) (result, error) {
	cfg, err := pgxpool.ParseConfig(e.base.owner.Config().ConnString())
	if err != nil {
		return result{}, err
	}
	cfg.MaxConns = int32(e.o.Pool)
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return result{}, err
	}
	defer db.Close()
	var done atomic.Int64
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &noopWorker{done: &done}); err != nil {
		return result{}, err
	}
	queue := fmt.Sprintf("bench_noop_%d", time.Now().UnixNano())
	client, err := river.NewClient(riverpgxv5.New(db), &river.Config{
		Workers: workers, Queues: map[string]river.QueueConfig{queue: {MaxWorkers: 10}},
		FetchPollInterval: 200 * time.Millisecond, FetchCooldown: river.FetchCooldownMin,
	})
	if err != nil {
		return result{}, err
	}
	if err := client.Start(ctx); err != nil {
		return result{}, err
	}
	defer func() { _ = client.Stop(context.WithoutCancel(ctx)) }()
	t0 := time.Now()
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: noopArgs{}, InsertOpts: &river.InsertOpts{Queue: queue}}
	}
	if _, err := client.InsertMany(ctx, params); err != nil {
		return result{}, err
	}
	for done.Load() < int64(n) {
		if time.Since(t0) > 5*time.Minute {
			return result{}, fmt.Errorf("river jobs not done within 5m (%d of %d)", done.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	d := time.Since(t0)
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
