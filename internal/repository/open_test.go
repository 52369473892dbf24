package repository_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/servo-data/servo/internal/repository"
)

// TestOpenRetriesThenGivesUp points the store at a port nobody listens on:
// Open retries with backoff, logs each miss, and fails after the connect
// timeout instead of hanging or failing at once.
func TestOpenRetriesThenGivesUp(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // now nothing listens there
	core, logs := observer.New(zap.WarnLevel)
	_, err = repository.Open(context.Background(), "postgres://servo@"+addr+"/servo?sslmode=disable&connect_timeout=1",
		repository.PoolConfig{ConnectTimeout: 1500 * time.Millisecond}, zap.New(core))
	if err == nil || !strings.Contains(err.Error(), "not reachable within") {
		t.Fatalf("err = %v, want a connect timeout", err)
	}
	if n := logs.FilterMessage("database not reachable yet").Len(); n < 2 {
		t.Fatalf("%d retries logged, want several", n)
	}
}

func TestDialectOf(t *testing.T) {
	t.Parallel()
	for url, want := range map[string]repository.Dialect{
		"postgres://u@h/db":         repository.Postgres,
		"postgresql://u@h/db":       repository.Postgres,
		"servo.db":                  repository.SQLite,
		"/var/lib/servo/servo.db":   repository.SQLite,
		"file:servo.db?cache=share": repository.SQLite,
	} {
		if got := repository.DialectOf(url); got != want {
			t.Errorf("DialectOf(%q) = %s, want %s", url, got, want)
		}
	}
}
