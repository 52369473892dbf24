package repository

import (
	"context"
	"sync/atomic"

	"gorm.io/gorm"
)

type queryCounterKey struct{}

// CountQueries returns a context under which every read statement (a
// SELECT through GORM, raw or not) adds one to n. Tests use it to prove a
// use case's query budget, such as one query per lineage level.
func CountQueries(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, queryCounterKey{}, n)
}

func countQuery(db *gorm.DB) { countRead(db.Statement.Context) }

// countRead counts one read statement of ctx; statements sent with pgx
// itself (pgxRead) call it as GORM's callbacks do.
func countRead(ctx context.Context) {
	if n, ok := ctx.Value(queryCounterKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}

func registerQueryCounter(db *gorm.DB) error {
	cb := db.Callback()
	if err := cb.Query().After("gorm:query").Register("servo:count_query", countQuery); err != nil {
		return err
	}
	return cb.Row().After("gorm:row").Register("servo:count_row", countQuery)
}
