package repository

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// JobPoolConns is the most connections the job pool opens, besides the
// one River's listener takes out of it and keeps for LISTEN.
const JobPoolConns = 4

// jobPool is the store's pgx pool for the job queue, opened on first use.
type jobPool struct {
	mu     sync.Mutex
	pool   *pgxpool.Pool
	closed bool
}

// errNoJobPool is JobPool's answer on SQLite, which has no LISTEN.
var errNoJobPool = errors.New("the job pool needs PostgreSQL")

// JobPool returns a pgx pool on the store's PostgreSQL database, as the
// store's role, for the job queue's workers: River's pgx driver fetches
// and completes jobs over it and keeps one of its connections to LISTEN
// for new ones. The pool is opened on the first call (it connects lazily),
// holds at most JobPoolConns connections besides the listener's, and is
// closed with the store, which must come after the workers stopped.
func (s *Store) JobPool() (*pgxpool.Pool, error) {
	if s.dialect != Postgres {
		return nil, errNoJobPool
	}
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	if s.jobs.closed {
		return nil, errors.New("job pool: the store is closed")
	}
	if s.jobs.pool != nil {
		return s.jobs.pool, nil
	}
	cfg, err := pgxpool.ParseConfig(s.url)
	if err != nil {
		return nil, fmt.Errorf("job pool: %w", err)
	}
	cfg.MaxConns = JobPoolConns
	if s.maxLifetime > 0 {
		cfg.MaxConnLifetime = s.maxLifetime
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("job pool: %w", err)
	}
	s.jobs.pool = pool
	return pool, nil
}

// jobPoolCloseWait bounds how long Close waits for the job pool's
// connections to come back: a River client that failed to stop may hold
// one for good, and the process must still shut down.
const jobPoolCloseWait = 10 * time.Second

// closeJobPool closes the job pool, if one was opened.
func (s *Store) closeJobPool() {
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	s.jobs.closed = true
	if s.jobs.pool == nil {
		return
	}
	pool, done := s.jobs.pool, make(chan struct{})
	go func() {
		pool.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(jobPoolCloseWait):
		s.log.Warn("job pool: connections still in use after " + jobPoolCloseWait.String() + "; closing the store without them")
	}
}
