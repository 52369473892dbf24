package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeMountsConsole checks that `servo serve` serves the web console
// beside the API: /ui redirects to /ui/, which is the console's page under
// its own Content-Security-Policy, with no key.
func TestServeMountsConsole(t *testing.T) {
	t.Parallel()
	_, env := sqliteEnv(t)
	s := startServe(t, env)
	if code, _ := s.health(t); code != http.StatusOK {
		t.Fatalf("health = %d", code)
	}
	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get("http://" + s.addr + "/ui")
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/ui/" {
		t.Errorf("GET /ui = %d to %q, want 301 to /ui/", res.StatusCode, res.Header.Get("Location"))
	}
	res, err = client.Get("http://" + s.addr + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET /ui/ = %d %s, want the console's page", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("GET /ui/: CSP %q is not the console's", csp)
	}
}
