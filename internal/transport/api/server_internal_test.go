package api

import (
	"context"
	"testing"
	"time"
)

type okPinger struct{}

func (okPinger) Ping(context.Context) error { return nil }

func TestServerTimeouts(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Addr: ":0"}, Deps{DB: okPinger{}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]time.Duration{
		"ReadHeaderTimeout": {s.http.ReadHeaderTimeout, 5 * time.Second},
		"ReadTimeout":       {s.http.ReadTimeout, 30 * time.Second},
		"WriteTimeout":      {s.http.WriteTimeout, 60 * time.Second},
		"IdleTimeout":       {s.http.IdleTimeout, 120 * time.Second},
		"ShutdownTimeout":   {s.cfg.ShutdownTimeout, 15 * time.Second},
		"PingTimeout":       {s.cfg.PingTimeout, 2 * time.Second},
	}
	for name, v := range want {
		if v[0] != v[1] {
			t.Errorf("%s = %s, want %s", name, v[0], v[1])
		}
	}

	s, err = New(Config{ReadHeaderTimeout: time.Second, WriteTimeout: 3 * time.Second}, Deps{DB: okPinger{}})
	if err != nil {
		t.Fatal(err)
	}
	if s.http.ReadHeaderTimeout != time.Second || s.http.WriteTimeout != 3*time.Second {
		t.Errorf("configured timeouts not applied: %s, %s", s.http.ReadHeaderTimeout, s.http.WriteTimeout)
	}
}
