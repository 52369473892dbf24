package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// result is one measurement: throughput and latency percentiles.
type result struct {
	RPS      float64
	P50, P99 time.Duration
	N        int
	Errors   int64
	// CPU is the CPU time this process (server, load generator and
	// baselines alike) spent per completed call while measuring: a figure
	// of the work a call costs that a busy machine disturbs less than
	// throughput.
	CPU time.Duration
}

// op is one request of a load: worker w's i-th call.
type op func(ctx context.Context, w, i int) error

// runLoad calls fn from clients goroutines, each in a closed loop, for dur
// after a short warm-up, and reports the completed calls per second and
// the latency percentiles. Failed calls count as errors, not as samples.
func runLoad(ctx context.Context, clients int, dur time.Duration, fn op) result {
	warm := min(dur/5, 500*time.Millisecond)
	ctx, cancel := context.WithTimeout(ctx, warm+dur)
	defer cancel()
	begin := time.Now().Add(warm)
	var (
		mu      sync.Mutex
		all     []time.Duration
		errs    atomic.Int64
		wg      sync.WaitGroup
		firstEr atomic.Value
	)
	cpuAtBegin := make(chan time.Duration, 1)
	go func() {
		select {
		case <-time.After(time.Until(begin)):
		case <-ctx.Done():
		}
		cpuAtBegin <- cpuTime()
	}()
	for w := range clients {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 4096)
			for i := 0; ctx.Err() == nil; i++ {
				t0 := time.Now()
				err := fn(ctx, w, i)
				if ctx.Err() != nil {
					break // cut off by the deadline: neither sample nor error
				}
				if t0.Before(begin) {
					continue
				}
				if err != nil {
					errs.Add(1)
					firstEr.CompareAndSwap(nil, err.Error())
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	cpu := cpuTime() - <-cpuAtBegin
	r := result{N: len(all), Errors: errs.Load(), RPS: float64(len(all)) / elapsed.Seconds()}
	if len(all) > 0 {
		r.CPU = cpu / time.Duration(len(all))
	}
	if e := firstEr.Load(); e != nil {
		logf("  %d errors, first: %v", r.Errors, e)
	}
	if len(all) == 0 {
		return r
	}
	slices.Sort(all)
	r.P50 = all[len(all)*50/100]
	r.P99 = all[min(len(all)-1, len(all)*99/100)]
	return r
}

// median3 repeats a measurement and keeps the median of each figure.
func medianOf(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	var errs int64
	n := 0
	for _, r := range rs {
		errs += r.Errors
		n += r.N
	}
	return result{
		RPS:    pick(func(r result) float64 { return r.RPS }),
		P50:    time.Duration(pick(func(r result) float64 { return float64(r.P50) })),
		P99:    time.Duration(pick(func(r result) float64 { return float64(r.P99) })),
		N:      n,
		Errors: errs,
		CPU:    time.Duration(pick(func(r result) float64 { return float64(r.CPU) })),
	}
}

// cpuTime returns the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// httpClient is a keep-alive client for loopback load.
func httpClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conns * 2,
			MaxIdleConnsPerHost: conns * 2,
			MaxConnsPerHost:     0,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// do sends one request and drains the answer, failing unless the status is
// want.
func do(ctx context.Context, c *http.Client, req *http.Request, want int) error {
	res, err := c.Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != want {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 200))
		return fmt.Errorf("%s %s: status %d: %s", req.Method, req.URL.Path, res.StatusCode, body)
	}
	// Read the whole answer, as a client must, without keeping it: a
	// multi-megabyte lineage answer would otherwise cost the load
	// generator, which shares the CPUs with the server, more than the
	// server spends on it.
	_, err = io.Copy(io.Discard, res.Body)
	return err
}
