package domain

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestScopeFromContext reads back the scope a context carries and refuses
// a context without one: storage must never guess a tenant.
func TestScopeFromContext(t *testing.T) {
	t.Parallel()
	if _, err := ScopeFrom(context.Background()); err == nil {
		t.Fatal("ScopeFrom(no scope) = nil error, want a refusal")
	}
	s, err := ScopeFrom(WithTenant(context.Background(), "acme"))
	if err != nil || s.TenantID() != "acme" || s.IsSystem() || s.IsZero() {
		t.Fatalf("tenant scope read back as %v, %v", s, err)
	}
	s, err = ScopeFrom(WithSystem(context.Background()))
	if err != nil || !s.IsSystem() || s.TenantID() != "" || s.IsZero() {
		t.Fatalf("system scope read back as %v, %v", s, err)
	}
	// The innermost scope wins: a tenant context cannot be widened by an
	// outer one, and a nested tenant replaces the outer tenant.
	s, _ = ScopeFrom(WithTenant(WithSystem(context.Background()), "beta"))
	if s.IsSystem() || s.TenantID() != "beta" {
		t.Fatalf("nested scope = %v, want tenant beta", s)
	}
	if !(Scope{}).IsZero() {
		t.Fatal("the zero Scope must be no scope")
	}
}

// TestValidateTenantID pins the tenant slug rule.
func TestValidateTenantID(t *testing.T) {
	t.Parallel()
	long := "a"
	for len(long) < 63 {
		long += "b"
	}
	for id, ok := range map[string]bool{
		"acme": true, "a": true, "0team": true, "a-b_c": true, long: true,
		"": false, "-acme": false, "_acme": false, "Acme": false, "acme corp": false,
		long + "c": false, "acme/x": false, "äcme": false, "acme\n": false,
	} {
		err := ValidateTenantID(id)
		if ok != (err == nil) {
			t.Errorf("ValidateTenantID(%q) = %v, want ok=%v", id, err, ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateTenantID(%q) = %v, want ErrInvalid", id, err)
		}
	}
}

// TestRetryBackoff pins the capped exponential backoff and its defaults.
func TestRetryBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    RetryPolicy
		n    int
		want time.Duration
	}{
		{"defaults: first retry waits 1s", RetryPolicy{}, 1, time.Second},
		{"defaults: doubles", RetryPolicy{}, 4, 8 * time.Second},
		{"defaults: capped at 5m", RetryPolicy{}, 20, 5 * time.Minute},
		{"n below 1 counts as the first", RetryPolicy{}, 0, time.Second},
		{"custom multiplier", RetryPolicy{InitialInterval: "100ms", Multiplier: 3}, 3, 900 * time.Millisecond},
		{"custom cap", RetryPolicy{InitialInterval: "1s", MaxInterval: "3s"}, 5, 3 * time.Second},
		{"multiplier 1 is constant", RetryPolicy{InitialInterval: "2s", Multiplier: 1}, 9, 2 * time.Second},
		{"huge exponent stays capped", RetryPolicy{InitialInterval: "1s", MaxInterval: "1h"}, 5000, time.Hour},
	}
	for _, tt := range tests {
		if got := tt.p.Backoff(tt.n); got != tt.want {
			t.Errorf("%s: Backoff(%d) = %s, want %s", tt.name, tt.n, got, tt.want)
		}
	}
}

// TestValidTenantID holds the check ScopeFrom runs to the tenant id
// pattern itself, on every string of up to three characters from an
// alphabet around the allowed one and on lengths around the limit.
func TestValidTenantID(t *testing.T) {
	t.Parallel()
	alphabet := []string{"a", "z", "0", "9", "_", "-", "A", "/", " ", "é", "\x00", ".", "\n"}
	cases := []string{""}
	for _, a := range alphabet {
		cases = append(cases, a)
		for _, b := range alphabet {
			cases = append(cases, a+b)
			for _, c := range alphabet {
				cases = append(cases, a+b+c)
			}
		}
	}
	for n := 60; n <= 66; n++ {
		s := make([]byte, n)
		for i := range s {
			s[i] = "a-_0"[i%4]
		}
		cases = append(cases, string(s), "-"+string(s[1:]))
	}
	for _, id := range cases {
		if got, want := validTenantID(id), tenantIDPattern.MatchString(id); got != want {
			t.Errorf("validTenantID(%q) = %v, the pattern says %v", id, got, want)
		}
	}
}
