package repository_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/testdb"
)

// TestTranslate_Unavailable checks the one place that tells a database
// that cannot serve the request now from a bug: every such error becomes
// domain.ErrUnavailable and still wraps its cause, and nothing else does.
func TestTranslate_Unavailable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		err         error
		unavailable bool
		cause       error // still matched after translation
	}{
		{"deadline", context.DeadlineExceeded, true, context.DeadlineExceeded},
		{"wrapped deadline", fmt.Errorf("begin: %w", context.DeadlineExceeded), true, context.DeadlineExceeded},
		{"canceled", context.Canceled, true, context.Canceled},
		{"bad connection", driver.ErrBadConn, true, driver.ErrBadConn},
		{"connection done", sql.ErrConnDone, true, sql.ErrConnDone},
		{"connect failed", &pgconn.ConnectError{}, true, nil},
		{"admin shutdown (pg_ctl restart)", &pgconn.PgError{Code: "57P01"}, true, nil},
		{"crash shutdown", &pgconn.PgError{Code: "57P02"}, true, nil},
		{"cannot connect now (starting up)", &pgconn.PgError{Code: "57P03"}, true, nil},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, true, nil},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true, nil},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true, nil},
		{"out of memory", &pgconn.PgError{Code: "53200"}, true, nil},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true, nil},
		{"conn closed", errors.New("failed to deallocate cached statement(s): conn closed"), true, nil},
		{"unexpected EOF", errors.New("read: unexpected EOF"), true, nil},
		{"reset", errors.New("read tcp: connection reset by peer"), true, nil},
		{"SQLite interrupted", errors.New("interrupted (9)"), true, context.Canceled},

		{"plain error", errors.New("boom"), false, nil},
		{"undefined table", &pgconn.PgError{Code: "42P01"}, false, nil},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false, domain.ErrConflict},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, false, domain.ErrConflict},
		{"record not found", gorm.ErrRecordNotFound, false, domain.ErrNoRows},
		{"foreign key violation", &pgconn.PgError{Code: "23503"}, false, domain.ErrNoRows},
		{"SQLite foreign key", errors.New("FOREIGN KEY constraint failed"), false, domain.ErrNoRows},
		{"SQLite unique", errors.New("UNIQUE constraint failed: assets.name"), false, domain.ErrConflict},
		{"already a domain error", fmt.Errorf("asset: %w", domain.ErrNotFound), false, domain.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := repository.Translate(tc.err)
			if errors.Is(got, domain.ErrUnavailable) != tc.unavailable {
				t.Errorf("Translate(%v) = %v; ErrUnavailable: %v, want %v", tc.err, got, !tc.unavailable, tc.unavailable)
			}
			if tc.cause != nil && !errors.Is(got, tc.cause) {
				t.Errorf("Translate(%v) = %v; no longer matches %v", tc.err, got, tc.cause)
			}
			if again := repository.Translate(got); again != got {
				t.Errorf("Translate is not idempotent: %v, then %v", got, again)
			}
		})
	}
	if repository.Translate(nil) != nil {
		t.Error("Translate(nil) != nil")
	}
}

// TestStore_EndedContextIsUnavailable checks on both backends that a
// store call whose context has ended says so as domain.ErrUnavailable, for
// reads and writes, still matching the context's error.
func TestStore_EndedContextIsUnavailable(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		tenant := testdb.TenantID("unavail")
		sys := domain.WithSystem(context.Background())
		if err := b.Store.TenantCreate(sys, &domain.Tenant{ID: tenant, Name: tenant}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			ctx  func() (context.Context, context.CancelFunc)
			want error
		}{
			{"canceled", func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(domain.WithTenant(context.Background(), tenant))
				cancel()
				return ctx, cancel
			}, context.Canceled},
			{"deadline", func() (context.Context, context.CancelFunc) {
				return context.WithDeadline(domain.WithTenant(context.Background(), tenant), time.Now().Add(-time.Second))
			}, context.DeadlineExceeded},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctx, cancel := tc.ctx()
				defer cancel()
				_, readErr := b.Store.AssetGet(ctx, uuid.New())
				writeErr := b.Store.AssetCreate(ctx, &domain.Asset{Name: "never", AssetType: "table"})
				for what, err := range map[string]error{"read": readErr, "write": writeErr} {
					if !errors.Is(err, domain.ErrUnavailable) || !errors.Is(err, tc.want) {
						t.Errorf("%s with an ended context: err = %v, want ErrUnavailable and %v", what, err, tc.want)
					}
				}
			})
		}
	})
}

// TestStore_AbsenceIsErrNoRows checks on both backends that the repository
// reports a row it cannot find in its own terms, domain.ErrNoRows (which
// matches ErrNotFound), never as a named NotFoundError (the service names
// the resource), and that another tenant's row reads exactly like a row
// that does not exist.
func TestStore_AbsenceIsErrNoRows(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, b *testdb.Backend) {
		sys := domain.WithSystem(context.Background())
		ctxOf := func(prefix string) context.Context {
			id := testdb.TenantID(prefix)
			if err := b.Store.TenantCreate(sys, &domain.Tenant{ID: id, Name: id}); err != nil {
				t.Fatal(err)
			}
			return domain.WithTenant(context.Background(), id)
		}
		ctx, other := ctxOf("norows-a"), ctxOf("norows-b")
		theirs := &domain.Asset{Name: "theirs", AssetType: "table"}
		if err := b.Store.AssetCreate(other, theirs); err != nil {
			t.Fatal(err)
		}
		missing := uuid.New()
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"get a missing asset", func() error { _, err := b.Store.AssetGet(ctx, missing); return err }},
			{"get another tenant's asset", func() error { _, err := b.Store.AssetGet(ctx, theirs.ID); return err }},
			{"get by a missing name", func() error { _, err := b.Store.AssetGetByName(ctx, "nope"); return err }},
			{"update a missing asset", func() error {
				_, err := b.Store.AssetUpdate(ctx, missing, func(*domain.Asset) error { return nil })
				return err
			}},
			{"delete another tenant's asset", func() error { return b.Store.AssetDelete(ctx, theirs.ID) }},
			{"delete a missing workflow", func() error { return b.Store.WorkflowDelete(ctx, missing) }},
			{"get a missing workflow", func() error { _, err := b.Store.WorkflowGet(ctx, missing); return err }},
			{"get a missing run", func() error { _, err := b.Store.RunGet(ctx, missing); return err }},
			{"get a missing tenant", func() error { _, err := b.Store.TenantGet(sys, "no-such-tenant"); return err }},
			{"edge to another tenant's asset (foreign key)", func() error {
				mine := &domain.Asset{Name: "mine", AssetType: "table"}
				if err := b.Store.AssetCreate(ctx, mine); err != nil {
					return err
				}
				return b.Store.DependencyCreate(ctx, &domain.AssetDependency{UpstreamAssetID: mine.ID, DownstreamAssetID: theirs.ID, DependencyType: domain.DependencyData})
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.call()
				if !errors.Is(err, domain.ErrNoRows) || !errors.Is(err, domain.ErrNotFound) {
					t.Fatalf("err = %v, want ErrNoRows (and so ErrNotFound)", err)
				}
				var nf *domain.NotFoundError
				if errors.As(err, &nf) {
					t.Errorf("the repository named the resource: %+v", nf)
				}
			})
		}
	})
}
