package runtime_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/runtime"
	"github.com/servo-data/servo/internal/service"
	"github.com/servo-data/servo/internal/testdb"
)

// interfaces lists the network interfaces a step sees, from /proc/net/dev.
func interfaces(t *testing.T, r *rig, name string, spec *domain.ComputeSpec) []string {
	t.Helper()
	a := r.asset(name, spec)
	run := r.trigger(service.CreateRunInput{AssetID: &a.ID})
	if done := r.wait(run.ID, 30*time.Second); done.State != domain.StateSucceeded {
		t.Fatalf("%s = %s %s", name, done.State, done.ErrorMessage)
	}
	log, err := r.svc.RunLog(r.ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(log.Content, "\n")[2:] {
		if n, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out = append(out, n)
		}
	}
	return out
}

// TestStepNetwork cuts a step's network (a network namespace with only
// loopback) where runtime.step_network or the spec says none; a spec may
// cut its network on a host-network server, never open it on a none one.
func TestStepNetwork(t *testing.T) {
	t.Parallel()
	store := testdb.Open(t, testdb.Shared(t))
	cfg := fastConfig(t)
	cfg.Policy.Commands = append(cfg.Policy.Commands, "/bin/cat")
	r := newRig(t, store, cfg, "")
	host := interfaces(t, r, "host-net", cmd("/bin/cat", nil, "/proc/net/dev"))
	if len(host) < 2 {
		t.Fatalf("with the host network a step sees %v; this test needs an interface besides lo", host)
	}
	cut := cmd("/bin/cat", nil, "/proc/net/dev")
	cut.Network = domain.NetworkNone
	if got := interfaces(t, r, "spec-none", cut); len(got) != 1 || got[0] != "lo" {
		t.Fatalf("a spec with network none sees %v, want only lo", got)
	}

	none := fastConfig(t)
	none.Policy.Commands = cfg.Policy.Commands
	none.Sandbox.Network = domain.NetworkNone
	rn := newRig(t, store, none, "")
	if got := interfaces(t, rn, "server-none", cmd("/bin/cat", nil, "/proc/net/dev")); len(got) != 1 || got[0] != "lo" {
		t.Fatalf("on a step_network=none server a step sees %v, want only lo", got)
	}
	open := cmd("/bin/cat", nil, "/proc/net/dev")
	open.Network = domain.NetworkHost
	if _, err := rn.svc.CreateAsset(rn.ctx, service.CreateAssetInput{Name: "wants-host", Compute: open}); !errorsIsInvalid(err) {
		t.Fatalf("a spec asking for the host network on a none server: %v, want invalid", err)
	}
}

// TestArgv0IsTheAllowlistedName checks how argv[0] is matched and run: an
// absolute path must be an allowlist entry as written (its directory may be
// reached through a symlink), a bare name is looked up in the steps' PATH,
// relative paths and the target of a symlinked entry are refused, and the
// program runs under the listed name.
func TestArgv0IsTheAllowlistedName(t *testing.T) {
	t.Parallel()
	dir := scratchDir(t)
	if err := os.Symlink("/bin/echo", filepath.Join(dir, "say")); err != nil {
		t.Fatal(err)
	}
	p := runtime.Policy{Commands: []string{"/bin/echo", filepath.Join(dir, "say"), "/usr/bin/id"}, Path: "/usr/bin:/bin"}
	for _, tc := range []struct {
		argv0 string
		ok    bool
	}{
		{"/bin/echo", true},
		{"/usr/bin/echo", true}, // /bin is a symlink to usr/bin: the same entry
		{"echo", true},
		{"id", true},
		{filepath.Join(dir, "say"), true},
		{"say", false},              // not in the steps' PATH
		{"bin/echo", false},         // relative
		{"./echo", false},           // relative
		{"/bin/../bin/echo", true},  // cleaned to an entry
		{"/usr/bin/cat", false},     // not listed
		{"/bin/sh", false},          // not listed
		{"/usr/bin/busybox", false}, // not listed
		{filepath.Join(dir, "say/"), true},
	} {
		err := p.Allow(&domain.ComputeSpec{Kind: domain.ComputeCommand, Argv: []string{tc.argv0}})
		if (err == nil) != tc.ok {
			t.Errorf("argv[0] %q: err = %v, want allowed %v", tc.argv0, err, tc.ok)
		}
	}
}

// TestAllowedHostsCarryPorts checks runtime.allowed_hosts entries: a bare
// host allows ports 443 and 80 only, host:port that port only, and the
// server's own listener never, even when listed.
func TestAllowedHostsCarryPorts(t *testing.T) {
	t.Parallel()
	p := runtime.Policy{Hosts: []string{"example.com", "api.internal:8443", "[::1]:9000", "127.0.0.1:8080"}, Self: []string{":8080"}}
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://example.com/hook", true},
		{"http://example.com/hook", true},
		{"https://EXAMPLE.com:443/hook", true},
		{"http://example.com:8080/hook", false},
		{"https://example.com:8443/hook", false},
		{"https://api.internal:8443/x", true},
		{"https://api.internal/x", false},
		{"http://api.internal:80/x", false},
		{"http://[::1]:9000/x", true},
		{"http://127.0.0.1:8080/api/v1/tenants", false}, // listed, but the server itself
		{"http://other.example/x", false},
	} {
		err := p.Allow(&domain.ComputeSpec{Kind: domain.ComputeHTTP, URL: tc.url})
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want allowed %v", tc.url, err, tc.ok)
		}
	}
}
