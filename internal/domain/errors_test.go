package domain_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/servo-data/servo/internal/domain"
)

func TestNotFoundError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  *domain.NotFoundError
		text string
	}{
		{&domain.NotFoundError{Resource: "asset", Ref: "0190f5d2-7c1a-7e3b-9a4c-1f2e3d4c5b6a"}, `asset "0190f5d2-7c1a-7e3b-9a4c-1f2e3d4c5b6a" not found`},
		{&domain.NotFoundError{Resource: "workflow", Ref: "nightly load"}, `workflow "nightly load" not found`},
		{&domain.NotFoundError{Resource: "schedule", Ref: "a\"b\n"}, `schedule "a\"b\n" not found`},
		{&domain.NotFoundError{Resource: "column"}, "column not found"},
	} {
		if got := tc.err.Error(); got != tc.text {
			t.Errorf("Error() = %q, want %q", got, tc.text)
		}
		wrapped := fmt.Errorf("get: %w", tc.err)
		if !errors.Is(wrapped, domain.ErrNotFound) {
			t.Errorf("%v does not match ErrNotFound", wrapped)
		}
		for _, other := range []error{domain.ErrNoRows, domain.ErrConflict, domain.ErrInvalid, domain.ErrForbidden, domain.ErrUnavailable} {
			if errors.Is(wrapped, other) {
				t.Errorf("%v matches %v", wrapped, other)
			}
		}
		var nf *domain.NotFoundError
		if !errors.As(wrapped, &nf) || *nf != *tc.err {
			t.Errorf("errors.As(%v) = %+v, want %+v", wrapped, nf, tc.err)
		}
	}
	if err := domain.NewNotFound("run", "x"); !errors.Is(err, domain.ErrNotFound) || err.Error() != `run "x" not found` {
		t.Errorf("NewNotFound = %v", err)
	}
}

func TestErrNoRowsMatchesErrNotFound(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("asset: %w", domain.ErrNoRows)
	if !errors.Is(err, domain.ErrNoRows) || !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("%v: ErrNoRows %v, ErrNotFound %v; want both", err, errors.Is(err, domain.ErrNoRows), errors.Is(err, domain.ErrNotFound))
	}
	if errors.Is(domain.ErrNotFound, domain.ErrNoRows) {
		t.Error("ErrNotFound matches ErrNoRows")
	}
}

func TestNameNotFound(t *testing.T) {
	t.Parallel()
	named := &domain.NotFoundError{Resource: "workflow", Ref: "w"}
	other := errors.New("boom")
	conflict := fmt.Errorf("%w: taken", domain.ErrConflict)
	for _, tc := range []struct {
		name string
		in   error
		want error // nil: want nil; a *NotFoundError: want one equal to it; else: want in itself
	}{
		{"nil stays nil", nil, nil},
		{"no rows named", fmt.Errorf("asset: %w", domain.ErrNoRows), &domain.NotFoundError{Resource: "asset", Ref: "a1"}},
		{"referenced row named", fmt.Errorf("referenced row: %w", domain.ErrNoRows), &domain.NotFoundError{Resource: "asset", Ref: "a1"}},
		{"already named by an inner call", named, named},
		{"a bare ErrNotFound is not the repository's", domain.ErrNotFound, domain.ErrNotFound},
		{"other error", other, other},
		{"other domain error", conflict, conflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := domain.NameNotFound(tc.in, "asset", "a1")
			var want, gotNF *domain.NotFoundError
			switch {
			case tc.want == nil:
				if got != nil {
					t.Errorf("NameNotFound(nil) = %v", got)
				}
			case errors.As(tc.want, &want) && tc.want != tc.in:
				if !errors.As(got, &gotNF) || *gotNF != *want {
					t.Errorf("NameNotFound(%v) = %#v, want %#v", tc.in, got, want)
				}
				if errors.Is(got, domain.ErrNoRows) {
					t.Errorf("NameNotFound(%v) still matches ErrNoRows", tc.in)
				}
			default:
				if got != tc.in {
					t.Errorf("NameNotFound(%v) = %v, want it unchanged", tc.in, got)
				}
			}
		})
	}
}
