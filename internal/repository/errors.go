package repository

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

// translate maps database errors onto domain errors, once, at the storage
// boundary. Errors that already are domain errors pass through. An absent
// row, or a reference to one, is domain.ErrNoRows: the service names the
// resource. An error
// that says the database could not serve the request now (see unavailable)
// becomes domain.ErrUnavailable, still wrapping the cause, so that a
// context's end stays visible to errors.Is.
func translate(err error) error {
	if err == nil {
		return nil
	}
	for _, d := range []error{domain.ErrNotFound, domain.ErrConflict, domain.ErrInvalid, domain.ErrForbidden, domain.ErrUnavailable} {
		if errors.Is(err, d) {
			return err
		}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: already exists (%s)", domain.ErrConflict, pgErr.ConstraintName)
		case "23503": // foreign_key_violation: never say whether the other row exists
			return fmt.Errorf("referenced row: %w", domain.ErrNoRows)
		case "23514", "23502", "22001", "22P02", "22021": // check, not null, too long, bad text
			return fmt.Errorf("%w: rejected by the schema (%s)", domain.ErrInvalid, pgErr.ConstraintName)
		case "42501": // insufficient_privilege, row-level security
			return fmt.Errorf("%w: %s", domain.ErrForbidden, pgErr.Message)
		case "40001", "40P01": // serialization failure, deadlock
			return fmt.Errorf("%w: concurrent update, try again", domain.ErrConflict)
		}
		if unavailableCode(pgErr.Code) {
			return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
		}
		return err
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
	}
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("row: %w", domain.ErrNoRows)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%w: already exists", domain.ErrConflict)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return fmt.Errorf("referenced row: %w", domain.ErrNoRows)
	case errors.Is(err, gorm.ErrCheckConstraintViolated):
		return fmt.Errorf("%w: rejected by the schema", domain.ErrInvalid)
	case errors.Is(err, gorm.ErrMissingWhereClause):
		return fmt.Errorf("%w: update or delete without a condition", domain.ErrForbidden)
	}
	// SQLite reports constraint failures as text.
	msg := err.Error()
	switch {
	case strings.Contains(msg, "UNIQUE constraint failed"):
		return fmt.Errorf("%w: already exists", domain.ErrConflict)
	case strings.Contains(msg, "FOREIGN KEY constraint failed"):
		return fmt.Errorf("referenced row: %w", domain.ErrNoRows)
	case strings.Contains(msg, "CHECK constraint failed"), strings.Contains(msg, "NOT NULL constraint failed"):
		return fmt.Errorf("%w: rejected by the schema", domain.ErrInvalid)
	case strings.Contains(msg, "interrupted (9)"):
		// SQLITE_INTERRUPT: the driver interrupts a statement whose
		// context ended; say so, as PostgreSQL's driver does.
		return fmt.Errorf("%w: %w: %w", domain.ErrUnavailable, context.Canceled, err)
	}
	return err
}

// unavailableCode reports whether a PostgreSQL error code says that the
// server cannot serve the request now rather than that the request is
// wrong: a connection exception (class 08), insufficient resources such
// as too many connections (class 53), an administrator or crash shutdown,
// a server that cannot take connections yet, or a cancelled statement
// (statement_timeout).
func unavailableCode(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"):
		return true
	}
	switch code {
	case "57P01", "57P02", "57P03", "57014":
		return true
	}
	return false
}

// unavailable reports whether err, which is not PostgreSQL's answer to a
// statement, says that the database could not be reached or did not answer
// in time: a context that ended (the request timeout, or the client going
// away), a failed connect, a connection lost mid-request or refused.
func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.Timeout(err) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// pgx reports a connection that died under a query with these texts
	// and no type of their own.
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "unexpected EOF") ||
		strings.Contains(msg, "connection reset by peer") || strings.Contains(msg, "broken pipe")
}
