package api_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/servo-data/servo/internal/testutil"
	"github.com/servo-data/servo/internal/transport/api"
)

// running is a server serving on a loopback port.
type running struct {
	url    string
	addr   string
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Serve's result, set before done closes
}

// serve runs b's server on a loopback port until stop is called or the test
// ends.
func serve(t *testing.T, b *testBundle) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{url: "http://" + ln.Addr().String(), addr: ln.Addr().String(), cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = b.server.Serve(ctx, ln)
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	return r
}

// stopped reports whether Serve has returned.
func (r *running) stopped() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// result waits for Serve to return and gives its error.
func (r *running) result(t *testing.T) error {
	t.Helper()
	wait(t, r.done, "Serve to return")
	return r.err
}

func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

type result struct {
	code int
	body string
	err  error
}

func get(client *http.Client, url string) <-chan result {
	out := make(chan result, 1)
	go func() {
		resp, err := client.Get(url)
		if err != nil {
			out <- result{err: err}
			return
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		out <- result{code: resp.StatusCode, body: string(b), err: err}
	}()
	return out
}

func TestGracefulShutdownDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	b := setup(t, &pinger{}, api.Config{ShutdownTimeout: 10 * time.Second})
	entered, release := make(chan struct{}), make(chan struct{})
	b.server.Echo().GET("/slow", func(c echo.Context) error {
		close(entered)
		<-release
		return c.String(http.StatusOK, "finished")
	})
	srv := serve(t, b)
	client := &http.Client{Timeout: 10 * time.Second}

	if r := wait(t, get(client, srv.url+"/healthz"), "healthz"); r.err != nil || r.code != http.StatusOK {
		t.Fatalf("healthz before shutdown: %+v", r)
	}

	inflight := get(client, srv.url+"/slow")
	wait(t, entered, "the slow handler to start")
	srv.cancel()

	// New connections are refused once shutdown has begun.
	testutil.WaitFor(t, 5*time.Second, func() bool {
		conn, err := net.DialTimeout("tcp", srv.addr, time.Second)
		if err != nil {
			return true
		}
		_ = conn.Close()
		return false
	}, "the server to refuse connections once shutdown began")
	if srv.stopped() {
		t.Fatalf("Serve returned %v before the in-flight request finished", srv.err)
	}

	close(release)
	r := wait(t, inflight, "the in-flight request")
	if r.err != nil || r.code != http.StatusOK || r.body != "finished" {
		t.Errorf("in-flight request = %+v, want 200 finished", r)
	}
	if err := srv.result(t); err != nil {
		t.Errorf("Serve = %v, want nil after a clean drain", err)
	}
}

func TestShutdownTimeoutCutsOffRequests(t *testing.T) {
	t.Parallel()
	b := setup(t, &pinger{}, api.Config{ShutdownTimeout: 100 * time.Millisecond})
	entered := make(chan struct{})
	b.server.Echo().GET("/stuck", func(c echo.Context) error {
		close(entered)
		<-c.Request().Context().Done() // ends only when the connection is cut
		return c.Request().Context().Err()
	})
	srv := serve(t, b)

	stuck := get(&http.Client{Timeout: 10 * time.Second}, srv.url+"/stuck")
	wait(t, entered, "the stuck handler to start")
	start := time.Now()
	srv.cancel()
	err := srv.result(t)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Serve = %v, want a deadline-exceeded error", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("shutdown took %s with a 100ms timeout", elapsed)
	}
	if r := wait(t, stuck, "the stuck request"); r.err == nil {
		t.Errorf("stuck request = %+v, want its connection cut", r)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("the stuck request was cut only after %s", elapsed)
	}
}

func TestReadHeaderTimeoutDropsSlowClients(t *testing.T) {
	t.Parallel()
	b := setup(t, &pinger{}, api.Config{ReadHeaderTimeout: 100 * time.Millisecond})
	srv := serve(t, b)

	conn, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	// Never finish the headers: the server must hang up on its own.
	if err := conn.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = bufio.NewReader(conn).ReadString('\n')
	if err == nil {
		// net/http may answer 408 before closing; either way it must be quick.
		t.Log("server answered the slow client before closing")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("server kept a client with unfinished headers for 3s")
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("server took %s to drop the slow client", elapsed)
	}
}

func TestReadyzFailsWhileDraining(t *testing.T) {
	t.Parallel()
	b := setup(t, &pinger{}, api.Config{ShutdownTimeout: 10 * time.Second})
	entered, release := make(chan struct{}), make(chan struct{})
	b.server.Echo().GET("/hold", func(c echo.Context) error {
		close(entered)
		<-release
		return c.NoContent(http.StatusNoContent)
	})
	srv := serve(t, b)
	client := &http.Client{Timeout: 10 * time.Second}
	held := get(client, srv.url+"/hold")
	wait(t, entered, "the held request")
	srv.cancel()

	// The listener is closed, so ask the handler directly while draining.
	testutil.WaitFor(t, 5*time.Second, func() bool {
		return b.do(t, http.MethodGet, "/readyz", nil).Code == http.StatusServiceUnavailable
	}, "/readyz to answer 503 while draining")
	close(release)
	if r := wait(t, held, "the held request"); r.err != nil || r.code != http.StatusNoContent {
		t.Errorf("held request = %+v", r)
	}
	if err := srv.result(t); err != nil {
		t.Errorf("Serve = %v", err)
	}
}

func TestListenAndServeReportsBusyPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	b := setup(t, &pinger{}, api.Config{Addr: ln.Addr().String()})
	err = b.server.ListenAndServe(context.Background())
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("ListenAndServe on a busy port = %v, want an error naming the address", err)
	}
}
