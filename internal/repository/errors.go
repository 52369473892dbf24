package repository

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/servo-data/servo/internal/domain"
)

// translate maps database errors onto domain errors, once, at the storage
// boundary. Errors that already are domain errors pass through.
func translate(err error) error {
	if err == nil {
		return nil
	}
	for _, d := range []error{domain.ErrNotFound, domain.ErrConflict, domain.ErrInvalid, domain.ErrForbidden} {
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
			return fmt.Errorf("referenced row: %w", domain.ErrNotFound)
		case "23514", "23502", "22001", "22P02", "22021": // check, not null, too long, bad text
			return fmt.Errorf("%w: rejected by the schema (%s)", domain.ErrInvalid, pgErr.ConstraintName)
		case "42501": // insufficient_privilege, row-level security
			return fmt.Errorf("%w: %s", domain.ErrForbidden, pgErr.Message)
		case "40001", "40P01": // serialization failure, deadlock
			return fmt.Errorf("%w: concurrent update, try again", domain.ErrConflict)
		}
		return err
	}
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("row: %w", domain.ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%w: already exists", domain.ErrConflict)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return fmt.Errorf("referenced row: %w", domain.ErrNotFound)
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
		return fmt.Errorf("referenced row: %w", domain.ErrNotFound)
	case strings.Contains(msg, "CHECK constraint failed"), strings.Contains(msg, "NOT NULL constraint failed"):
		return fmt.Errorf("%w: rejected by the schema", domain.ErrInvalid)
	case strings.Contains(msg, "interrupted (9)"):
		// SQLITE_INTERRUPT: the driver interrupts a statement whose
		// context ended; say so, as PostgreSQL's driver does.
		return fmt.Errorf("%w: %w", context.Canceled, err)
	}
	return err
}
