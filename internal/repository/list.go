package repository

import (
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/servo-data/servo/internal/domain"
)

// keyed is implemented by rows that can be listed by keyset: their position
// in the (created_at DESC, id DESC) order.
type keyed interface {
	pageKey() domain.Cursor
}

// page counts the rows q matches and loads one page of them, newest first,
// ties broken by id so that pages never overlap or skip. With p.Cursor set
// the page starts right after the cursor's position, a range scan on the
// (tenant_id, created_at DESC, id DESC) indexes however deep the page; with
// p.Offset it skips that many rows. It returns the total, which does not
// depend on the cursor, and the cursor of the next page, nil on the last.
//
// The count is a second statement over every matching row; the SDK reads
// it, so it stays, and BENCHMARKS.md records its cost.
func page[R keyed](q *gorm.DB, p domain.Page, dest *[]R) (int64, *domain.Cursor, error) {
	var total int64
	if err := q.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return 0, nil, err
	}
	if total == 0 || (p.Cursor == nil && int64(p.Offset) >= total) {
		*dest = []R{}
		return total, nil, nil
	}
	sel := q.Session(&gorm.Session{})
	if c := p.Cursor; c != nil {
		// A row comparison: PostgreSQL and SQLite 3.15+ both compare
		// lexicographically, and PostgreSQL turns it into an index bound.
		sel = sel.Where("(?, ?) < (?, ?)",
			clause.Column{Table: clause.CurrentTable, Name: "created_at"},
			clause.Column{Table: clause.CurrentTable, Name: "id"},
			c.CreatedAt, c.ID)
	}
	err := sel.Order("created_at DESC").Order("id DESC").
		Limit(p.Limit + 1).Offset(p.Offset).
		Find(dest).Error
	if err != nil {
		return total, nil, err
	}
	var next *domain.Cursor
	if len(*dest) > p.Limit {
		*dest = (*dest)[:p.Limit]
		k := (*dest)[p.Limit-1].pageKey()
		next = &k
	}
	return total, next, nil
}

func (r assetRow) pageKey() domain.Cursor    { return domain.Cursor{CreatedAt: r.CreatedAt, ID: r.ID} }
func (r workflowRow) pageKey() domain.Cursor { return domain.Cursor{CreatedAt: r.CreatedAt, ID: r.ID} }
func (r runRow) pageKey() domain.Cursor      { return domain.Cursor{CreatedAt: r.CreatedAt, ID: r.ID} }

// idsIn returns a condition that column is one of ids. On PostgreSQL it is
// one array parameter, column = ANY(?::uuid[]): the statement text does not
// change with the number of ids, so pgx reuses one prepared statement, where
// IN (?, ?, ...) made a new statement (and plan) for every length and sent
// thousands of parameters for a large lineage walk.
func (s *Store) idsIn(column string, ids []uuid.UUID) clause.Expr {
	if s.dialect != Postgres {
		return clause.Expr{SQL: column + " IN ?", Vars: []any{ids}}
	}
	var b strings.Builder
	b.Grow(len(ids)*37 + 2)
	b.WriteByte('{')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(id.String())
	}
	b.WriteByte('}')
	return clause.Expr{SQL: column + " = ANY(?::uuid[])", Vars: []any{b.String()}}
}
