// Package defaults holds the built-in value of each configuration setting,
// once: the configuration's key table (internal/config) shows and applies
// them, and the packages that fill in a zero field of their own options
// (the repository's pool, the HTTP server, the runtime, OpenLineage
// ingestion) take the same constants. It imports nothing, so any layer may
// use it.
package defaults

import "time"

// Database.
const (
	// AppRole is the PostgreSQL role the server connects as.
	AppRole = "servo_app"
	// MaxOpenConns caps open database connections.
	MaxOpenConns = 5
	// ConnMaxLifetime recycles a database connection after this long.
	ConnMaxLifetime = 30 * time.Minute
	// ConnectTimeout bounds how long start-up keeps retrying to reach the
	// database.
	ConnectTimeout = 30 * time.Second
	// SlowQueryThreshold is the duration above which a query is logged.
	SlowQueryThreshold = 200 * time.Millisecond
)

// HTTP.
const (
	// HTTPAddr is the address the HTTP server listens on.
	HTTPAddr = ":8080"
	// ShutdownTimeout bounds how long a graceful shutdown waits for
	// in-flight requests.
	ShutdownTimeout = 15 * time.Second
	// RequestTimeout bounds an API request, its wait for a pooled database
	// connection included.
	RequestTimeout = 15 * time.Second
	// TenantPoolShare is the percentage of the pool one tenant's expensive
	// requests may hold at once.
	TenantPoolShare = 40
	// TenantInflight is how many expensive requests one tenant may have in
	// flight with the default pool and share: TenantPoolShare percent of
	// MaxOpenConns, at least one.
	TenantInflight = max(1, MaxOpenConns*TenantPoolShare/100)
	// DecodeBudget is the request-body bytes the OpenLineage routes may
	// hold and decode at once, server-wide (8 MiB).
	DecodeBudget = 8 << 20
	// TenantIngestShare is the percentage of the wall-clock time one
	// tenant's OpenLineage ingestion requests may take, summed.
	TenantIngestShare = 50
)

// Runtime.
const (
	// MaxRunningPerTenant caps one tenant's running steps, below Workers so
	// that one tenant's backlog leaves slots to the others.
	MaxRunningPerTenant = 4
	// Workers is how many jobs one worker process works at once.
	Workers = 10
	// Lease bounds one job's run time.
	Lease = 30 * time.Minute
	// HeartbeatTimeout is how long a running attempt may go without its
	// worker's heartbeat before it is taken for lost.
	HeartbeatTimeout = 30 * time.Second
	// KillGrace is the time between SIGTERM and SIGKILL for a stopped step.
	KillGrace = 10 * time.Second
	// FetchPollInterval is how often workers on PostgreSQL look for jobs
	// besides being woken by the notification of each insert: a fallback
	// for a notification missed.
	FetchPollInterval = 200 * time.Millisecond
	// FetchPollIntervalSQLite is how often workers on SQLite, which has no
	// notifications, look for jobs: how late a run may start.
	FetchPollIntervalSQLite = 50 * time.Millisecond
	// Isolation is how command steps are isolated.
	Isolation = "auto"
	// StepUser is the account command steps run as when the server runs as
	// root and no other is configured.
	StepUser = "servo-step"
	// StepNetwork is the command steps' network.
	StepNetwork = "host"
	// StepPath is the command steps' PATH.
	StepPath = "/usr/local/bin:/usr/bin:/bin"
)

// OpenLineage.
const (
	// OpenLineageMode is how OpenLineage events are validated.
	OpenLineageMode = "lenient"
	// OpenLineageRetention is how long raw OpenLineage events are kept.
	OpenLineageRetention = 720 * time.Hour
)

// Logging.
const (
	// LogLevel is the lowest level logged.
	LogLevel = "info"
	// LogFormat is the log format.
	LogFormat = "json"
)
