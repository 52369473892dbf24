package repository

import (
	"context"
	"encoding/json"
	"fmt"
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

// page loads one page of the rows q matches, newest first, ties broken by
// id so that pages never overlap or skip, and counts them (see total).
// With p.Cursor set the page starts right after the cursor's position, a
// range scan on the (tenant_id, created_at DESC, id DESC) indexes however
// deep the page; with p.Offset it skips that many rows. It returns the
// total, which does not depend on the cursor, and the cursor of the next
// page, nil on the last. key names the listing and its filter (listKey).
func page[R keyed](s *Store, q *gorm.DB, key string, p domain.Page, dest *[]R) (listTotal, *domain.Cursor, error) {
	if err := keyset(q, p).Find(dest).Error; err != nil {
		return listTotal{}, nil, err
	}
	var next *domain.Cursor
	more := len(*dest) > p.Limit
	if more {
		*dest = (*dest)[:p.Limit]
		k := (*dest)[p.Limit-1].pageKey()
		next = &k
	}
	t, err := s.total(q, key, p, len(*dest), more)
	return t, next, err
}

// keyset returns the statement of p's page of the rows q matches, one row
// more than the page to tell whether another follows: newest first, ties
// broken by id, after p.Cursor or past p.Offset.
func keyset(q *gorm.DB, p domain.Page) *gorm.DB {
	sel := q.Session(&gorm.Session{})
	if c := p.Cursor; c != nil {
		// A row comparison: PostgreSQL and SQLite 3.15+ both compare
		// lexicographically, and PostgreSQL turns it into an index bound.
		sel = sel.Where("(?, ?) < (?, ?)",
			clause.Column{Table: clause.CurrentTable, Name: "created_at"},
			clause.Column{Table: clause.CurrentTable, Name: "id"},
			c.CreatedAt, c.ID)
	}
	return sel.Order("created_at DESC").Order("id DESC").Limit(p.Limit + 1).Offset(p.Offset)
}

// listTotal is a listing's Total and whether it is an estimate.
type listTotal struct {
	n        int64
	estimate bool
}

// counter counts the rows of a listing for its Total: every row, or up to
// a limit (a scan of at most limit rows).
type counter interface {
	countAll() (int64, error)
	countUpTo(limit int64) (int64, error)
}

// gormCount counts the rows a GORM statement matches.
type gormCount struct{ q *gorm.DB }

// countAll counts every row q matches.
func (c gormCount) countAll() (int64, error) {
	var n int64
	err := c.q.Session(&gorm.Session{}).Count(&n).Error
	return n, err
}

// countUpTo counts the rows q matches, stopping at limit. The tenant
// condition is added to the inner statement, which GORM builds with its
// query callbacks.
func (c gormCount) countUpTo(limit int64) (int64, error) {
	var n int64
	inner := c.q.Session(&gorm.Session{}).Select("1").Limit(int(limit))
	err := c.q.Session(&gorm.Session{NewDB: true}).Raw("SELECT count(*) FROM (?) AS bounded", inner).Scan(&n).Error
	return n, err
}

// total counts the rows q matches for a listing's Total (see totalOf). key
// names the listing and its filter (listKey).
func (s *Store) total(q *gorm.DB, key string, p domain.Page, got int, more bool) (listTotal, error) {
	ctx := q.Statement.Context
	key, err := scopedListKey(ctx, rowSetFrom(ctx), key)
	if err != nil {
		return listTotal{}, err
	}
	return s.totalOf(gormCount{q}, key, p, got, more)
}

// totalOf counts the rows of a listing for its Total. key names the listing
// in its scope (scopedListKey), got is how many rows the page p holds and
// more whether rows follow it.
//
// A page that proves its total costs no statement: a page by offset that
// ends the listing holds the last rows. Otherwise, with domain.CountExact,
// every row is counted. By default (domain.CountEstimate) the rows are
// counted up to domain.TotalBound past the offset (past the start on a
// cursor page), a bounded scan; past that, the total is the listing's
// cached count (countCache), counted afresh at most every countTTL, and
// flagged as an estimate. An estimate is never below what the page
// proves: when rows follow the page, it is above the page's last row.
func (s *Store) totalOf(c counter, key string, p domain.Page, got int, more bool) (listTotal, error) {
	if p.Cursor == nil && !more && (got > 0 || p.Offset == 0) {
		return listTotal{n: int64(p.Offset + got)}, nil
	}
	if p.Count == domain.CountExact {
		n, err := c.countAll()
		if err != nil {
			return listTotal{}, err
		}
		s.counts.put(key, n)
		return listTotal{n: n}, nil
	}
	skip := int64(p.Offset)
	floor := skip + int64(got)
	if more {
		floor++
	}
	bound := skip + domain.TotalBound
	cached, ok := s.counts.get(key)
	if !ok {
		defer s.counts.release(key)
	}
	if ok && cached > bound {
		return listTotal{n: max(cached, floor), estimate: true}, nil
	}
	n, err := c.countUpTo(bound + 1)
	if err != nil {
		return listTotal{}, err
	}
	if n <= bound {
		return listTotal{n: n}, nil
	}
	if n, err = c.countAll(); err != nil {
		return listTotal{}, err
	}
	s.counts.put(key, n)
	return listTotal{n: max(n, floor), estimate: true}, nil
}

// listKey names a listing and its filter for the count cache: what is
// the listing's name, filter its filter, encoded as JSON (pointers and
// slices by value).
func listKey(what string, filter any) string {
	if filter == nil {
		return what
	}
	b, err := json.Marshal(filter)
	if err != nil {
		// Every filter is plain data; should one not encode, its
		// listings share no cached count with any other.
		return what + "\x00" + fmt.Sprintf("%p", filter)
	}
	return what + "\x00" + string(b)
}

// scopedListKey prefixes key with the scope of ctx and the part of the
// visible rows the listing reads (rs), so that a count is only ever
// answered to the scope that took it.
func scopedListKey(ctx context.Context, rs rowSet, key string) (string, error) {
	sc, err := domain.ScopeFrom(ctx)
	if err != nil {
		return "", err
	}
	who := "tenant:" + sc.TenantID()
	if sc.IsSystem() {
		who = "system"
	}
	return fmt.Sprintf("%s\x00%d\x00%s", who, rs, key), nil
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
