package runtime

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHTTPClientRefusesTheServerItself checks the dial-time wall: whatever
// name an http step's URL uses, a connection to the server's own listener
// is refused (errSelf), while another port on the same host is reached.
func TestHTTPClientRefusesTheServerItself(t *testing.T) {
	t.Parallel()
	self := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(self.Close)
	other := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(other.Close)
	_, selfPort, _ := net.SplitHostPort(self.Listener.Addr().String())
	for _, listen := range []string{self.Listener.Addr().String(), ":" + selfPort} {
		c := newHTTPClient(Policy{Self: []string{listen}})
		for _, u := range []string{"http://localhost:" + selfPort + "/", "http://127.0.0.1:" + selfPort + "/", self.URL} {
			res, err := c.Get(u)
			if err == nil {
				_ = res.Body.Close()
			}
			if !errors.Is(err, errSelf) {
				t.Errorf("listening on %s, GET %s: err = %v, want the server-itself refusal", listen, u, err)
			}
		}
		res, err := c.Get(other.URL)
		if err != nil {
			t.Fatalf("another port: %v", err)
		}
		_ = res.Body.Close()
	}
}
