package domain

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestComputeSpecValidation pins the shape rules of a compute spec: each
// bad spec is refused on the field that is wrong.
func TestComputeSpecValidation(t *testing.T) {
	t.Parallel()
	command := func(argv ...string) ComputeSpec { return ComputeSpec{Kind: ComputeCommand, Argv: argv} }
	env := func(n int) map[string]string {
		m := make(map[string]string, n)
		for i := range n {
			m[fmt.Sprintf("VAR_%d", i)] = "x"
		}
		return m
	}
	many := make([]string, MaxArgv+1)
	for i := range many {
		many[i] = "a"
	}
	tests := []struct {
		name     string
		spec     ComputeSpec
		badField string
	}{
		{"a command", command("dbt", "run", "--select", "orders"), ""},
		{"an https hook", ComputeSpec{Kind: ComputeHTTP, URL: "https://hooks.example.com/run"}, ""},
		{"an http hook with a port", ComputeSpec{Kind: ComputeHTTP, URL: "http://10.0.0.5:8080/run"}, ""},
		{"no kind", ComputeSpec{Argv: []string{"true"}}, "compute.kind"},
		{"a shell kind", ComputeSpec{Kind: "shell", Argv: []string{"true"}}, "compute.kind"},
		{"a command without argv", command(), "compute.argv"},
		{"an empty command", command("", "x"), "compute.argv"},
		{"256 arguments", command(many[:MaxArgv]...), ""},
		{"257 arguments", command(many...), "compute.argv"},
		{"an argument of the maximum length", command("echo", strings.Repeat("a", MaxArgLen)), ""},
		{"an argument one byte over", command("echo", strings.Repeat("a", MaxArgLen+1)), "compute.argv"},
		{"an argument with NUL", command("echo", "a\x00b"), "compute.argv"},
		{"an argument not UTF-8", command("echo", "\xff"), "compute.argv"},
		{"an argument with a newline", command("echo", "a\nb"), ""},
		{"a command with a url", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, URL: "https://x.example"}, "compute.url"},
		{"a hook with argv", ComputeSpec{Kind: ComputeHTTP, URL: "https://x.example", Argv: []string{"true"}}, "compute.argv"},
		{"a hook without url", ComputeSpec{Kind: ComputeHTTP}, "compute.url"},
		{"a hook on ftp", ComputeSpec{Kind: ComputeHTTP, URL: "ftp://x.example/run"}, "compute.url"},
		{"a hook without host", ComputeSpec{Kind: ComputeHTTP, URL: "https:///run"}, "compute.url"},
		{"a hook on a relative url", ComputeSpec{Kind: ComputeHTTP, URL: "/run"}, "compute.url"},
		{"128 variables", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Env: env(MaxComputeEnv)}, ""},
		{"129 variables", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Env: env(MaxComputeEnv + 1)}, "compute.env"},
		{"a variable name with a dash", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Env: map[string]string{"A-B": "1"}}, "compute.env.A-B"},
		{"a variable name starting with a digit", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Env: map[string]string{"1A": "1"}}, "compute.env.1A"},
		{"an empty variable name", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Env: map[string]string{"": "1"}}, "compute.env."},
		{"a reserved variable", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Env: map[string]string{"LD_PRELOAD": "/x.so"}}, "compute.env.LD_PRELOAD"},
		{"a reserved variable in lower case", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Env: map[string]string{"path": "/tmp"}}, "compute.env.path"},
		{"a value with NUL", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Env: map[string]string{"A": "x\x00"}}, "compute.env.A"},
		{"a SERVO_ variable", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Env: map[string]string{"SERVO_RUN_ID": "x"}}, ""},
		{"network none", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Network: NetworkNone}, ""},
		{"network host", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Network: NetworkHost}, ""},
		{"network bridge", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Network: "bridge"}, "compute.network"},
		{"timeout 24h", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Timeout: "24h"}, ""},
		{"timeout over 24h", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Timeout: "24h1s"}, "compute.timeout"},
		{"timeout zero", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Timeout: "0s"}, "compute.timeout"},
		{"timeout negative", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Timeout: "-1m"}, "compute.timeout"},
		{"timeout without unit", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Timeout: "600"}, "compute.timeout"},
		{"a bad retry policy", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Retry: &RetryPolicy{MaxAttempts: 0}}, "compute.retry.max_attempts"},
		{"a good retry policy", ComputeSpec{Kind: ComputeCommand, Argv: []string{"true"}, Retry: &RetryPolicy{MaxAttempts: 3, InitialInterval: "2s"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkValidation(t, tt.spec.Validate(), tt.badField)
		})
	}
}

// TestReservedEnvName pins the variables a spec may not set: loader, shell
// and interpreter start-up variables and the ones the runtime fixes, in any
// case, and the reserved prefixes.
func TestReservedEnvName(t *testing.T) {
	t.Parallel()
	for name, reserved := range map[string]bool{
		"PATH": true, "Path": true, "HOME": true, "TMPDIR": true, "BASH_ENV": true, "ENV": true,
		"IFS": true, "PYTHONPATH": true, "NODE_OPTIONS": true, "JAVA_TOOL_OPTIONS": true,
		"_JAVA_OPTIONS": true, "GLIBC_TUNABLES": true, "PERL5OPT": true, "RUBYOPT": true,
		"LD_PRELOAD": true, "ld_library_path": true, "LD_ANYTHING": true, "BASH_FUNC_f%%": true, "MALLOC_CHECK_": true,
		"LD": false, "LDFLAGS": false, "MY_PATH": false, "PATHS": false, "SERVO_RUN_ID": false,
		"DBT_PROFILES_DIR": false, "ENVIRONMENT": false, "HOMEDIR": false, "": false,
	} {
		if got := ReservedEnvName(name); got != reserved {
			t.Errorf("ReservedEnvName(%q) = %v, want %v", name, got, reserved)
		}
	}
}

// TestRetryPolicyValidation pins the bounds of a retry policy.
func TestRetryPolicyValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		p        RetryPolicy
		badField string
	}{
		{"the default", DefaultRetryPolicy, ""},
		{"one attempt, nothing else", RetryPolicy{MaxAttempts: 1}, ""},
		{"100 attempts", RetryPolicy{MaxAttempts: 100}, ""},
		{"no attempt", RetryPolicy{MaxAttempts: 0}, "retry.max_attempts"},
		{"101 attempts", RetryPolicy{MaxAttempts: 101}, "retry.max_attempts"},
		{"zero initial interval", RetryPolicy{MaxAttempts: 2, InitialInterval: "0s"}, ""},
		{"negative initial interval", RetryPolicy{MaxAttempts: 2, InitialInterval: "-1s"}, "retry.initial_interval"},
		{"initial interval over 24h", RetryPolicy{MaxAttempts: 2, InitialInterval: "25h"}, "retry.initial_interval"},
		{"unparsable max interval", RetryPolicy{MaxAttempts: 2, MaxInterval: "soon"}, "retry.max_interval"},
		{"max interval 24h", RetryPolicy{MaxAttempts: 2, MaxInterval: "24h"}, ""},
		{"multiplier 1", RetryPolicy{MaxAttempts: 2, Multiplier: 1}, ""},
		{"multiplier 100", RetryPolicy{MaxAttempts: 2, Multiplier: 100}, ""},
		{"multiplier below 1", RetryPolicy{MaxAttempts: 2, Multiplier: 0.5}, "retry.multiplier"},
		{"multiplier over 100", RetryPolicy{MaxAttempts: 2, Multiplier: 100.5}, "retry.multiplier"},
		{"negative multiplier", RetryPolicy{MaxAttempts: 2, Multiplier: -2}, "retry.multiplier"},
		{"jitter none", RetryPolicy{MaxAttempts: 2, Jitter: JitterNone}, ""},
		{"jitter full", RetryPolicy{MaxAttempts: 2, Jitter: JitterFull}, ""},
		{"jitter half", RetryPolicy{MaxAttempts: 2, Jitter: "half"}, "retry.jitter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkValidation(t, tt.p.Validate(), tt.badField)
		})
	}
}

// TestTimeoutDuration reads the attempt timeout, falling back to the
// default for a missing spec, an empty timeout or one that does not parse
// (validation refuses those; stored rows may predate it).
func TestTimeoutDuration(t *testing.T) {
	t.Parallel()
	var none *ComputeSpec
	if got := none.TimeoutDuration(); got != DefaultTimeout {
		t.Errorf("nil spec: %s, want %s", got, DefaultTimeout)
	}
	for timeout, want := range map[string]time.Duration{
		"": DefaultTimeout, "30s": 30 * time.Second, "1h30m": 90 * time.Minute,
		"0s": DefaultTimeout, "-5m": DefaultTimeout, "ten minutes": DefaultTimeout,
	} {
		c := &ComputeSpec{Kind: ComputeCommand, Timeout: timeout}
		if got := c.TimeoutDuration(); got != want {
			t.Errorf("TimeoutDuration(%q) = %s, want %s", timeout, got, want)
		}
	}
}

// fixedRand is a Rand that always draws the same offset from the top of
// the range (0 draws the largest value) and records the ranges asked for.
type fixedRand struct {
	fromTop int64
	asked   []int64
}

func (r *fixedRand) Int64N(n int64) int64 {
	r.asked = append(r.asked, n)
	return max(n-1-r.fromTop, 0)
}

// panicRand fails the test if any draw is made.
type panicRand struct{ t *testing.T }

func (r panicRand) Int64N(int64) int64 {
	r.t.Helper()
	r.t.Fatal("a draw was made where none is needed")
	return 0
}

// TestDelayJitterBounds checks that full jitter draws from [0, backoff],
// both ends included, that "none" returns the backoff itself, and that a
// zero backoff draws nothing.
func TestDelayJitterBounds(t *testing.T) {
	t.Parallel()
	full := RetryPolicy{MaxAttempts: 5, InitialInterval: "1s", MaxInterval: "10s", Jitter: JitterFull}
	for n := 1; n <= 6; n++ {
		b := full.Backoff(n)
		top := &fixedRand{}
		if got := full.Delay(n, top); got != b {
			t.Errorf("retry %d: the largest draw gives %s, want the backoff %s", n, got, b)
		}
		if len(top.asked) != 1 || top.asked[0] != int64(b)+1 {
			t.Errorf("retry %d: asked for ranges %v, want one draw below %d (backoff included)", n, top.asked, int64(b)+1)
		}
		bottom := &fixedRand{fromTop: int64(b)}
		if got := full.Delay(n, bottom); got != 0 {
			t.Errorf("retry %d: the smallest draw gives %s, want 0", n, got)
		}
		none := full
		none.Jitter = JitterNone
		if got := none.Delay(n, panicRand{t}); got != b {
			t.Errorf("retry %d without jitter: %s, want %s", n, got, b)
		}
	}
	// Jitter left empty is full jitter.
	unset := RetryPolicy{MaxAttempts: 3}
	if got := unset.Delay(1, &fixedRand{fromTop: int64(time.Second)}); got != 0 {
		t.Errorf("empty jitter: smallest draw gives %s, want 0 (full jitter)", got)
	}
	zero := RetryPolicy{MaxAttempts: 3, InitialInterval: "0s"}
	if got := zero.Delay(2, panicRand{t}); got != 0 {
		t.Errorf("zero backoff: %s, want 0", got)
	}
	// A nil source uses the global one and keeps the bounds.
	for range 1000 {
		if d := full.Delay(3, nil); d < 0 || d > full.Backoff(3) {
			t.Fatalf("nil source: %s outside [0, %s]", d, full.Backoff(3))
		}
	}
}

// TestDelayJitterSpreads draws many full-jitter delays from a seeded source
// and checks they spread over the whole range: every tenth of it is hit
// about as often as the others, and the mean is about half the backoff. The
// seed is fixed, so the figures are the same on every run.
func TestDelayJitterSpreads(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{MaxAttempts: 10, InitialInterval: "500ms", MaxInterval: "1m", Jitter: JitterFull}
	r := rand.New(rand.NewPCG(1, 2))
	const draws = 20000
	for _, n := range []int{1, 4, 9} {
		b := p.Backoff(n)
		var buckets [10]int
		var sum float64
		for range draws {
			d := p.Delay(n, r)
			if d < 0 || d > b {
				t.Fatalf("retry %d: %s outside [0, %s]", n, d, b)
			}
			buckets[min(int(int64(d)*10/int64(b)), 9)]++
			sum += float64(d)
		}
		if mean := sum / draws / float64(b); mean < 0.47 || mean > 0.53 {
			t.Errorf("retry %d: mean delay is %.3f of the backoff, want about 0.5", n, mean)
		}
		for i, c := range buckets {
			if c < draws/10*8/10 || c > draws/10*12/10 {
				t.Errorf("retry %d: tenth %d of the range drawn %d times of %d, want about %d", n, i, c, draws, draws/10)
			}
		}
	}
}
