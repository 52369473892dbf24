package repository

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/servo-data/servo/internal/domain"
)

// tenantColumn is the column that holds a row's tenant.
const tenantColumn = "tenant_id"

// globalRows is implemented by models whose NULL-tenant rows are global:
// readable by every tenant, written only in the system scope.
type globalRows interface{ allowsGlobalRows() }

// systemTable is implemented by models that only the system scope may touch
// (tenants, API keys). They carry no tenant condition.
type systemTable interface{ systemTable() }

var errNoModel = fmt.Errorf("%w: statement without a model cannot be tenant-scoped", domain.ErrForbidden)

// registerTenancy installs the tenant-scoping callbacks on db.
func registerTenancy(db *gorm.DB) error {
	cb := db.Callback()
	return errors.Join(
		cb.Create().Before("gorm:create").Register("servo:tenancy_create", stampTenant),
		cb.Query().Before("gorm:query").Register("servo:tenancy_query", scopeRead),
		cb.Row().Before("gorm:row").Register("servo:tenancy_row", scopeRead),
		cb.Update().Before("gorm:update").Register("servo:tenancy_update", scopeWrite),
		cb.Delete().Before("gorm:delete").Register("servo:tenancy_delete", scopeWrite),
		cb.Raw().Before("gorm:raw").Register("servo:tenancy_raw", requireScope),
	)
}

// requireScope lets raw SQL run only inside a scope; row-level security
// covers what raw SQL cannot be given as a clause.
func requireScope(db *gorm.DB) {
	if db.Error != nil {
		return
	}
	if _, err := domain.ScopeFrom(db.Statement.Context); err != nil {
		_ = db.AddError(err)
	}
}

// kind classifies the statement's model.
type kind int

const (
	kindTenant kind = iota
	kindTenantOrGlobal
	kindSystem
)

// classify returns the statement's scope and model kind, or an error that
// stops the statement.
func classify(db *gorm.DB) (domain.Scope, kind, error) {
	st := db.Statement
	scope, err := domain.ScopeFrom(st.Context)
	if err != nil {
		return scope, 0, err
	}
	if st.Schema == nil {
		return scope, 0, errNoModel
	}
	// The scope is decided by the model; a statement aimed at another table
	// (Table("x") or a table expression) would escape it.
	if (st.Table != "" && st.Table != st.Schema.Table) || st.TableExpr != nil {
		return scope, 0, fmt.Errorf("%w: statement table %q does not match model table %q", domain.ErrForbidden, st.Table, st.Schema.Table)
	}
	model := reflect.New(st.Schema.ModelType).Interface()
	if _, ok := model.(systemTable); ok {
		if !scope.IsSystem() {
			return scope, 0, fmt.Errorf("%w: %s is managed in the system scope only", domain.ErrForbidden, st.Schema.Table)
		}
		return scope, kindSystem, nil
	}
	if st.Schema.LookUpField(tenantColumn) == nil {
		return scope, 0, fmt.Errorf("%w: model %s has no %s column", domain.ErrForbidden, st.Schema.Name, tenantColumn)
	}
	if _, ok := model.(globalRows); ok {
		return scope, kindTenantOrGlobal, nil
	}
	if scope.IsSystem() {
		return scope, 0, fmt.Errorf("%w: %s holds tenant data only", domain.ErrForbidden, st.Schema.Table)
	}
	return scope, kindTenant, nil
}

func tenantCol() clause.Column {
	return clause.Column{Table: clause.CurrentTable, Name: tenantColumn}
}

// rowSet narrows a tenant's read of a table with global rows to one of
// its two parts, so that each can use the (tenant_id, ...) indexes: the OR
// of both cannot.
type rowSet int

const (
	rowsAll    rowSet = iota // the tenant's own rows and global rows
	rowsOwn                  // the tenant's own rows only
	rowsGlobal               // global rows only
)

type rowSetKey struct{}

// withRowSet asks reads under ctx for one part of the visible rows.
func withRowSet(ctx context.Context, rs rowSet) context.Context {
	return context.WithValue(ctx, rowSetKey{}, rs)
}

func rowSetFrom(ctx context.Context) rowSet {
	rs, _ := ctx.Value(rowSetKey{}).(rowSet)
	return rs
}

// scopeRead limits a query to the scope's rows: a tenant reads its own rows
// and global rows, the system scope reads global rows.
func scopeRead(db *gorm.DB) {
	if db.Error != nil {
		return
	}
	if db.Statement.SQL.Len() > 0 { // Raw(...).Scan/Row: RLS covers it.
		requireScope(db)
		return
	}
	scope, k, err := classify(db)
	if err != nil {
		_ = db.AddError(err)
		return
	}
	switch {
	case k == kindSystem:
	case scope.IsSystem():
		addCondition(db.Statement, clause.Eq{Column: tenantCol(), Value: nil})
	case k == kindTenantOrGlobal:
		switch rowSetFrom(db.Statement.Context) {
		case rowsOwn:
			addCondition(db.Statement, clause.Eq{Column: tenantCol(), Value: scope.TenantID()})
		case rowsGlobal:
			addCondition(db.Statement, clause.Eq{Column: tenantCol(), Value: nil})
		default:
			addCondition(db.Statement, clause.Or(
				clause.Eq{Column: tenantCol(), Value: scope.TenantID()},
				clause.Eq{Column: tenantCol(), Value: nil},
			))
		}
	default:
		addCondition(db.Statement, clause.Eq{Column: tenantCol(), Value: scope.TenantID()})
	}
}

// scopeWrite limits an update or delete to rows the scope may write: the
// tenant's own rows, or global rows in the system scope. A statement with no
// condition of its own is refused, since the tenant condition alone would
// let it rewrite every row of the tenant.
func scopeWrite(db *gorm.DB) {
	if db.Error != nil {
		return
	}
	if db.Statement.SQL.Len() > 0 {
		requireScope(db)
		return
	}
	scope, k, err := classify(db)
	if err != nil {
		_ = db.AddError(err)
		return
	}
	if !hasOwnConditions(db.Statement) {
		_ = db.AddError(gorm.ErrMissingWhereClause)
		return
	}
	if k != kindSystem && setsTenant(db.Statement) {
		_ = db.AddError(fmt.Errorf("%w: a row's tenant never changes", domain.ErrForbidden))
		return
	}
	switch {
	case k == kindSystem:
	case scope.IsSystem():
		addCondition(db.Statement, clause.Eq{Column: tenantCol(), Value: nil})
	default:
		addCondition(db.Statement, clause.Eq{Column: tenantCol(), Value: scope.TenantID()})
	}
}

// setsTenant reports whether an update names the tenant column: through a
// map (Update, UpdateColumn, Updates(map)), or through a struct with the
// field set (the models mark the column create-only, so GORM would drop it
// silently; refusing says so).
func setsTenant(st *gorm.Statement) bool {
	field := st.Schema.LookUpField(tenantColumn)
	if field == nil {
		return false
	}
	if dest, ok := st.Dest.(map[string]any); ok {
		for k := range dest {
			if k == field.DBName || k == field.Name {
				return true
			}
		}
		return false
	}
	v := reflect.Indirect(reflect.ValueOf(st.Dest))
	if v.IsValid() && v.Kind() == reflect.Struct && v.Type() == st.Schema.ModelType {
		_, zero := field.ValueOf(st.Context, v)
		return !zero
	}
	return false
}

// hasOwnConditions reports whether the statement will carry a WHERE of its
// own: an explicit one, or the primary key of the model or destination that
// GORM's update and delete callbacks turn into one.
func hasOwnConditions(st *gorm.Statement) bool {
	if c, ok := st.Clauses["WHERE"]; ok {
		if w, ok := c.Expression.(clause.Where); ok && len(w.Exprs) > 0 {
			return true
		}
	}
	if st.Schema == nil || len(st.Schema.PrimaryFields) == 0 {
		return false
	}
	for _, v := range []reflect.Value{st.ReflectValue, reflect.ValueOf(st.Model)} {
		v = reflect.Indirect(v)
		if !v.IsValid() || (v.Kind() != reflect.Struct && v.Kind() != reflect.Slice && v.Kind() != reflect.Array) {
			continue
		}
		if v.Kind() == reflect.Struct && v.Type() != st.Schema.ModelType {
			continue
		}
		if _, values := schema.GetIdentityFieldValuesMap(st.Context, v, st.Schema.PrimaryFields); len(values) > 0 {
			return true
		}
	}
	return false
}

// addCondition ANDs cond onto the statement's WHERE. The existing
// conditions are wrapped in parentheses first, so that an OR among them
// cannot escape the tenant condition (go-gorm/gorm#3627).
func addCondition(st *gorm.Statement, cond clause.Expression) {
	if c, ok := st.Clauses["WHERE"]; ok {
		if w, ok := c.Expression.(clause.Where); ok && len(w.Exprs) > 0 {
			w.Exprs = []clause.Expression{clause.Expr{SQL: "(?)", Vars: []any{clause.AndConditions(w)}}}
			c.Expression = w
			st.Clauses["WHERE"] = c
		}
	}
	st.AddClause(clause.Where{Exprs: []clause.Expression{cond}})
}

// stampTenant sets the tenant of every row being created from the scope:
// the scope's tenant, or NULL (a global row) in the system scope. A row that
// names another tenant is refused.
func stampTenant(db *gorm.DB) {
	if db.Error != nil {
		return
	}
	scope, k, err := classify(db)
	if err != nil {
		_ = db.AddError(err)
		return
	}
	// INSERT ... ON CONFLICT DO UPDATE (Save, Clauses(OnConflict)) would
	// update whichever row holds the key, whoever owns it.
	if _, ok := db.Statement.Clauses["ON CONFLICT"]; ok {
		_ = db.AddError(fmt.Errorf("%w: upserts are not tenant-safe", domain.ErrForbidden))
		return
	}
	if k == kindSystem {
		return
	}
	field := db.Statement.Schema.LookUpField(tenantColumn)
	var want any
	if !scope.IsSystem() {
		want = scope.TenantID()
	}
	ctx := db.Statement.Context
	stamp := func(rv reflect.Value) error {
		cur, zero := field.ValueOf(ctx, rv)
		if !zero {
			got := reflect.Indirect(reflect.ValueOf(cur))
			if !got.IsValid() || want == nil || got.Interface() != want {
				return fmt.Errorf("%w: row names a tenant other than the scope's", domain.ErrForbidden)
			}
		}
		return field.Set(ctx, rv, want)
	}
	rv := db.Statement.ReflectValue
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		for i := 0; i < rv.Len(); i++ {
			if err := stamp(reflect.Indirect(rv.Index(i))); err != nil {
				_ = db.AddError(err)
				return
			}
		}
	case reflect.Struct:
		if err := stamp(rv); err != nil {
			_ = db.AddError(err)
		}
	default:
		_ = db.AddError(errNoModel)
	}
}
