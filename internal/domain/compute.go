package domain

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Compute kinds.
const (
	ComputeCommand = "command"
	ComputeHTTP    = "http"
)

// Limits on compute specs.
const (
	MaxArgv        = 256
	MaxArgLen      = 4096
	MaxComputeEnv  = 128
	DefaultTimeout = 10 * time.Minute
)

// ComputeSpec says how an asset is materialized. An asset without one is
// observed: materializing it records a successful run at once.
type ComputeSpec struct {
	// Kind is "command" or "http".
	Kind string `json:"kind"`
	// Argv is the command and its arguments, run directly, never by a shell.
	Argv []string `json:"argv,omitempty"`
	// Env adds variables to the command's environment; it cannot override
	// the SERVO_* run context.
	Env map[string]string `json:"env,omitempty"`
	// Network is the step's network: "host" (shared with the server's
	// host) or "none" (cut off); empty means the server's
	// runtime.step_network. A spec may always cut its network; it may ask
	// for "host" only where the server allows it.
	Network string `json:"network,omitempty"`
	// URL receives the run context as a signed POST.
	URL string `json:"url,omitempty"`
	// Timeout bounds one attempt, as a Go duration ("10m"); default 10m.
	Timeout string `json:"timeout,omitempty"`
	// Retry overrides the workflow's retry policy.
	Retry *RetryPolicy `json:"retry,omitempty"`
}

// TimeoutDuration returns the parsed timeout, or DefaultTimeout.
func (c *ComputeSpec) TimeoutDuration() time.Duration {
	if c == nil || c.Timeout == "" {
		return DefaultTimeout
	}
	d, err := time.ParseDuration(c.Timeout)
	if err != nil || d <= 0 {
		return DefaultTimeout
	}
	return d
}

// Validate checks the spec's shape; whether its executable or host is
// allowed is the runtime's policy.
func (c *ComputeSpec) Validate() error {
	var v Validator
	switch c.Kind {
	case ComputeCommand:
		v.Check(len(c.Argv) >= 1 && len(c.Argv) <= MaxArgv, "compute.argv", "must hold 1 to %d arguments", MaxArgv)
		for _, a := range c.Argv {
			if len(a) > MaxArgLen || !utf8.ValidString(a) || containsNUL(a) {
				v.Add("compute.argv", "arguments must be valid UTF-8 without NUL, at most %d bytes", MaxArgLen)
				break
			}
		}
		if len(c.Argv) > 0 && c.Argv[0] == "" {
			v.Add("compute.argv", "the command must not be empty")
		}
		v.Check(c.URL == "", "compute.url", "only for kind http")
	case ComputeHTTP:
		u, err := url.Parse(c.URL)
		v.Check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", "compute.url", "must be an http(s) URL")
		v.Check(len(c.Argv) == 0, "compute.argv", "only for kind command")
	default:
		v.Add("compute.kind", "must be command or http")
	}
	v.Check(len(c.Env) <= MaxComputeEnv, "compute.env", "at most %d variables", MaxComputeEnv)
	names := make([]string, 0, len(c.Env))
	for k := range c.Env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch {
		case !envNamePattern.MatchString(k):
			v.Add("compute.env."+k, "variable names must match %s", envNamePattern)
		case ReservedEnvName(k):
			v.Add("compute.env."+k, "%s changes how a loader, shell or interpreter starts and cannot be set by a spec", k)
		case containsNUL(c.Env[k]):
			v.Add("compute.env."+k, "values must not hold NUL")
		}
	}
	v.Check(c.Network == "" || c.Network == NetworkHost || c.Network == NetworkNone, "compute.network", "must be host or none")
	if c.Timeout != "" {
		d, err := time.ParseDuration(c.Timeout)
		v.Check(err == nil && d > 0 && d <= 24*time.Hour, "compute.timeout", "must be a positive duration up to 24h, such as 10m")
	}
	if c.Retry != nil {
		if err := c.Retry.validate(&v, "compute.retry"); err != nil {
			return err
		}
	}
	return v.Err()
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// Step networks.
const (
	NetworkHost = "host"
	NetworkNone = "none"
)

// envNamePattern is what a spec's variable names must match.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedEnv are variables a spec may not set: they change how the
// dynamic loader, a shell or an interpreter starts, or the runtime fixes
// them (PATH, HOME, TMPDIR). The list is depth; the sandbox is the wall.
var reservedEnv = map[string]bool{
	"BASH_ENV": true, "ENV": true, "SHELLOPTS": true, "BASHOPTS": true, "PS4": true, "IFS": true,
	"CDPATH": true, "PROMPT_COMMAND": true, "PATH": true, "HOME": true, "TMPDIR": true,
	"GLIBC_TUNABLES": true, "GCONV_PATH": true, "HOSTALIASES": true, "LOCPATH": true, "NLSPATH": true,
	"RESOLV_HOST_CONF": true, "PYTHONSTARTUP": true, "PYTHONPATH": true, "PYTHONHOME": true,
	"PYTHONINSPECT": true, "PYTHONUSERBASE": true, "PERL5OPT": true, "PERL5LIB": true, "PERLLIB": true,
	"PERL5DB": true, "RUBYOPT": true, "RUBYLIB": true, "NODE_OPTIONS": true, "NODE_PATH": true,
	"JAVA_TOOL_OPTIONS": true, "_JAVA_OPTIONS": true, "JDK_JAVA_OPTIONS": true, "CLASSPATH": true,
}

// reservedEnvPrefixes are prefixes of variables a spec may not set.
var reservedEnvPrefixes = []string{"LD_", "BASH_FUNC_", "MALLOC_"}

// ReservedEnvName reports whether a compute spec may not set the variable
// name: a loader, shell or interpreter start-up variable, or one the
// runtime fixes. Names are compared without regard to case. (SERVO_*
// names are not refused: the runtime's own values always win.)
func ReservedEnvName(name string) bool {
	up := strings.ToUpper(name)
	if reservedEnv[up] {
		return true
	}
	for _, p := range reservedEnvPrefixes {
		if strings.HasPrefix(up, p) {
			return true
		}
	}
	return false
}

// Jitter modes.
const (
	JitterFull = "full"
	JitterNone = "none"
)

// RetryPolicy says how often and how soon a failed attempt is retried.
type RetryPolicy struct {
	// MaxAttempts counts every attempt, the first included; 1 means no retry.
	MaxAttempts int `json:"max_attempts"`
	// InitialInterval is the base delay before the first retry ("1s").
	InitialInterval string `json:"initial_interval,omitempty"`
	// MaxInterval caps the delay ("5m").
	MaxInterval string `json:"max_interval,omitempty"`
	// Multiplier grows the delay each retry; default 2.
	Multiplier float64 `json:"multiplier,omitempty"`
	// Jitter is "full" (a random delay from 0 to the capped backoff) or
	// "none"; default full.
	Jitter string `json:"jitter,omitempty"`
}

// DefaultRetryPolicy applies when neither the asset nor the workflow sets
// one: a single attempt.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 1, InitialInterval: "1s", MaxInterval: "5m", Multiplier: 2, Jitter: JitterFull}

func (p *RetryPolicy) validate(v *Validator, field string) error {
	v.Check(p.MaxAttempts >= 1 && p.MaxAttempts <= 100, field+".max_attempts", "must be 1 to 100")
	for name, s := range map[string]string{"initial_interval": p.InitialInterval, "max_interval": p.MaxInterval} {
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		v.Check(err == nil && d >= 0 && d <= 24*time.Hour, field+"."+name, "must be a duration from 0 to 24h")
	}
	v.Check(p.Multiplier == 0 || (p.Multiplier >= 1 && p.Multiplier <= 100), field+".multiplier", "must be from 1 to 100")
	v.Check(p.Jitter == "" || p.Jitter == JitterFull || p.Jitter == JitterNone, field+".jitter", "must be full or none")
	return nil
}

// Validate checks a policy on its own.
func (p *RetryPolicy) Validate() error {
	var v Validator
	_ = p.validate(&v, "retry")
	return v.Err()
}

func parseOr(s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return def
	}
	return d
}

// Backoff returns the capped exponential delay before retry number n
// (n = 1 for the first retry), before jitter: min(max, initial * multiplier^(n-1)).
func (p RetryPolicy) Backoff(n int) time.Duration {
	initial := parseOr(p.InitialInterval, time.Second)
	maxD := parseOr(p.MaxInterval, 5*time.Minute)
	mult := p.Multiplier
	if mult == 0 {
		mult = 2
	}
	d := float64(initial) * math.Pow(mult, float64(max(n-1, 0)))
	if d > float64(maxD) || math.IsInf(d, 0) || math.IsNaN(d) {
		return maxD
	}
	return time.Duration(d)
}

// Rand is a source of random numbers for jitter; *rand.Rand is one. A
// source shared by goroutines must be safe for concurrent use.
type Rand interface {
	Int64N(n int64) int64
}

// Delay returns the wait before retry number n: the backoff itself with
// jitter "none", a uniform random duration in [0, backoff] with "full". A nil
// r uses the global source.
func (p RetryPolicy) Delay(n int, r Rand) time.Duration {
	b := p.Backoff(n)
	if p.Jitter == JitterNone || b <= 0 {
		return b
	}
	if r == nil {
		return time.Duration(rand.Int64N(int64(b) + 1))
	}
	return time.Duration(r.Int64N(int64(b) + 1))
}

// String describes the policy for logs.
func (p RetryPolicy) String() string {
	return fmt.Sprintf("max_attempts=%d initial=%s max=%s multiplier=%g jitter=%s", p.MaxAttempts, p.InitialInterval, p.MaxInterval, p.Multiplier, p.Jitter)
}
