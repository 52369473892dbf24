// Package migrations owns Servo's schema: embedded SQL migrations, one set
// for PostgreSQL and one for SQLite, each with a rollback, applied with
// gormigrate under a PostgreSQL advisory lock.
package migrations

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/go-gormigrate/gormigrate/v2"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/rivermigrate"
	"gorm.io/gorm"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Table is the bookkeeping table that records applied migrations.
const Table = "servo_migrations"

// DefaultAppRole is the application role migrations grant privileges to.
const DefaultAppRole = "servo_app"

// lockKey identifies Servo's migration advisory lock.
const lockKey int64 = 0x5e7_0_0001

var rolePattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Options tune a migration run.
type Options struct {
	// AppRole is the role the server connects as; migrations create it
	// NOLOGIN when missing and grant it the privileges it needs. PostgreSQL
	// only; default servo_app.
	AppRole string
}

type migration struct {
	id   string
	up   string
	down string
}

// load reads the migrations of one dialect ("postgres" or "sqlite"),
// ordered by id.
func load(dialect string) ([]migration, error) {
	dir := "sqlite"
	if dialect == "postgres" {
		dir = "postgres"
	}
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	byID := map[string]*migration{}
	for _, e := range entries {
		name := e.Name()
		var id, kind string
		switch {
		case strings.HasSuffix(name, ".up.sql"):
			id, kind = strings.TrimSuffix(name, ".up.sql"), "up"
		case strings.HasSuffix(name, ".down.sql"):
			id, kind = strings.TrimSuffix(name, ".down.sql"), "down"
		default:
			continue
		}
		b, err := files.ReadFile(path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		m := byID[id]
		if m == nil {
			m = &migration{id: id}
			byID[id] = m
		}
		if kind == "up" {
			m.up = string(b)
		} else {
			m.down = string(b)
		}
	}
	out := make([]migration, 0, len(byID))
	for _, m := range byID {
		if m.up == "" || m.down == "" {
			return nil, fmt.Errorf("migration %s needs both an up and a down file", m.id)
		}
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out, nil
}

// IDs returns the ids of every migration of dialect, in order.
func IDs(dialect string) ([]string, error) {
	ms, err := load(dialect)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.id
	}
	return ids, nil
}

func render(sql string, opts Options) string {
	role := opts.AppRole
	return strings.NewReplacer(
		"{{app_role}}", pgx.Identifier{role}.Sanitize(),
		"{{app_role_literal}}", "'"+role+"'",
		"{{migrations_table}}", pgx.Identifier{Table}.Sanitize(),
	).Replace(sql)
}

func (o *Options) normalize() error {
	if o.AppRole == "" {
		o.AppRole = DefaultAppRole
	}
	if !rolePattern.MatchString(o.AppRole) {
		return fmt.Errorf("app role %q: must match %s", o.AppRole, rolePattern)
	}
	return nil
}

func dialectOf(db *gorm.DB) string {
	if db.Dialector.Name() == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// newMigrator builds gormigrate over db for db's dialect.
func newMigrator(db *gorm.DB, opts Options) (*gormigrate.Gormigrate, error) {
	ms, err := load(dialectOf(db))
	if err != nil {
		return nil, err
	}
	list := make([]*gormigrate.Migration, len(ms))
	for i, m := range ms {
		up, down := render(m.up, opts), render(m.down, opts)
		list[i] = &gormigrate.Migration{
			ID:       m.id,
			Migrate:  func(tx *gorm.DB) error { return tx.Exec(up).Error },
			Rollback: func(tx *gorm.DB) error { return tx.Exec(down).Error },
		}
	}
	return gormigrate.New(db, &gormigrate.Options{
		TableName:      Table,
		IDColumnName:   "id",
		IDColumnSize:   255,
		UseTransaction: true,
	}, list), nil
}

// locked runs fn on one connection of db while holding Servo's migration
// advisory lock (PostgreSQL), so two processes never migrate at once.
func locked(ctx context.Context, db *gorm.DB, fn func(conn *gorm.DB) error) error {
	db = db.WithContext(ctx)
	if dialectOf(db) != "postgres" {
		return fn(db)
	}
	return db.Connection(func(conn *gorm.DB) error {
		if err := conn.Exec("SELECT pg_advisory_lock(?)", lockKey).Error; err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		defer func() {
			_ = conn.WithContext(context.WithoutCancel(ctx)).Exec("SELECT pg_advisory_unlock(?)", lockKey).Error
		}()
		return fn(conn)
	})
}

// Up applies every pending migration. db must be a handle of the schema
// owner, opened without tenant scoping.
func Up(ctx context.Context, db *gorm.DB, opts Options) error {
	if err := opts.normalize(); err != nil {
		return err
	}
	return locked(ctx, db, func(conn *gorm.DB) error {
		m, err := newMigrator(conn, opts)
		if err != nil {
			return err
		}
		if err := migrateRiver(ctx, conn, rivermigrate.DirectionUp); err != nil {
			return err
		}
		if err := m.Migrate(); err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
		return nil
	})
}

// Down rolls back the most recent migration.
func Down(ctx context.Context, db *gorm.DB, opts Options) error {
	if err := opts.normalize(); err != nil {
		return err
	}
	return locked(ctx, db, func(conn *gorm.DB) error {
		if !conn.Migrator().HasTable(Table) {
			return fmt.Errorf("migrate down: no migration has been applied: %w", gormigrate.ErrNoRunMigration)
		}
		m, err := newMigrator(conn, opts)
		if err != nil {
			return err
		}
		if err := m.RollbackLast(); err != nil {
			if errors.Is(err, gormigrate.ErrNoRunMigration) {
				return fmt.Errorf("migrate down: no migration has been applied: %w", err)
			}
			return fmt.Errorf("migrate down: %w", err)
		}
		applied, err := Applied(ctx, conn)
		if err != nil {
			return err
		}
		if !applied[riverAfter] {
			return migrateRiver(ctx, conn, rivermigrate.DirectionDown)
		}
		return nil
	})
}

// State is one migration and whether it has been applied.
type State struct {
	ID      string
	Applied bool
}

// Status lists every known migration with whether it is applied, plus any
// applied migration this binary does not know (a newer schema).
func Status(ctx context.Context, db *gorm.DB) ([]State, error) {
	ids, err := IDs(dialectOf(db))
	if err != nil {
		return nil, err
	}
	applied, err := Applied(ctx, db)
	if err != nil {
		return nil, err
	}
	out := make([]State, 0, len(ids))
	known := map[string]bool{}
	for _, id := range ids {
		known[id] = true
		out = append(out, State{ID: id, Applied: applied[id]})
	}
	for id := range applied {
		if !known[id] {
			out = append(out, State{ID: id + " (unknown to this binary)", Applied: true})
		}
	}
	return out, nil
}

// Applied returns the set of applied migration ids; none when the
// bookkeeping table does not exist yet.
func Applied(ctx context.Context, db *gorm.DB) (map[string]bool, error) {
	db = db.WithContext(ctx)
	out := map[string]bool{}
	if !db.Migrator().HasTable(Table) {
		return out, nil
	}
	var ids []string
	if err := db.Table(Table).Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("read %s: %w", Table, err)
	}
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}
