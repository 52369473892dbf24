// Package repository implements the domain's repository interfaces on GORM,
// for PostgreSQL (production) and SQLite (the embedded default).
//
// Tenant scoping lives in one place: the callbacks in tenancy.go add the
// scope's tenant condition to every query, update and delete and stamp it on
// every create, taking the scope from the context and failing closed when
// there is none. On PostgreSQL each unit of work also runs in a transaction
// that sets app.tenant_id (or app.system) for row-level security, the second
// wall. Database errors are translated here into domain errors, once
// (errors.go): an absent row is domain.ErrNoRows, which the service names
// as a domain.NotFoundError, and a database that cannot serve the request
// now is domain.ErrUnavailable. The pool that carries the tenant context
// in the same round trip as the work is package tenantconn.
package repository
