package config

import (
	"strconv"
	"strings"
	"time"

	"github.com/servo-data/servo/internal/config/defaults"
)

// EnvConfigFile names the environment variable that points at the YAML
// configuration file when no --config flag is given.
const EnvConfigFile = "SERVO_CONFIG"

// DefaultSQLitePath is the SQLite file used when database.url is empty.
const DefaultSQLitePath = "servo.db"

// Key describes one configuration key: its dotted name in the YAML file, the
// environment variable that overrides it, its default and what it means.
type Key struct {
	// Name is the dotted key, as written in the YAML file ("database.url").
	Name string
	// Env is the environment variable that sets the key.
	Env string
	// Default is the built-in value, as it would be written in the file.
	Default string
	// Doc says in one line what the key does.
	Doc string
	// Secret keys may also be read from a file: the variable Env+"_FILE",
	// or the file key Name+"_file", names it (as containers mount secrets).
	Secret bool

	// field points at the Config field the key sets: a *string, *int or
	// *time.Duration, which also says how its value is parsed.
	field func(c *Config) any
}

// keys is the single source of truth: the YAML file, the environment, the
// defaults, the example file and the documentation all follow this table.
var keys = []Key{
	{
		Name: "database.url", Env: "SERVO_DATABASE_URL", Default: "", Secret: true,
		Doc:   "Database the server uses: a postgres:// URL, or an SQLite file path (empty: " + DefaultSQLitePath + " in the working directory).",
		field: func(c *Config) any { return &c.Database.URL },
	},
	{
		Name: "database.migrate_url", Env: "SERVO_MIGRATE_DATABASE_URL", Default: "", Secret: true,
		Doc:   "Database URL for `servo migrate`, as the role that owns the schema (empty: database.url).",
		field: func(c *Config) any { return &c.Database.MigrateURL },
	},
	{
		Name: "database.app_role", Env: "SERVO_APP_ROLE", Default: defaults.AppRole,
		Doc:   "PostgreSQL role the server connects as; migrations grant it its privileges.",
		field: func(c *Config) any { return &c.Database.AppRole },
	},
	{
		Name: "database.max_open_conns", Env: "SERVO_DATABASE_MAX_OPEN_CONNS", Default: strconv.Itoa(defaults.MaxOpenConns),
		Doc:   "Maximum open database connections (SQLite always uses one).",
		field: func(c *Config) any { return &c.Database.MaxOpenConns },
	},
	{
		Name: "database.max_idle_conns", Env: "SERVO_DATABASE_MAX_IDLE_CONNS", Default: "0",
		Doc:   "Maximum idle database connections kept open (0: database.max_open_conns).",
		field: func(c *Config) any { return &c.Database.MaxIdleConns },
	},
	{
		Name: "database.conn_max_lifetime", Env: "SERVO_DATABASE_CONN_MAX_LIFETIME", Default: duration(defaults.ConnMaxLifetime),
		Doc:   "Recycle a database connection after this long (0: never).",
		field: func(c *Config) any { return &c.Database.ConnMaxLifetime },
	},
	{
		Name: "database.connect_timeout", Env: "SERVO_DATABASE_CONNECT_TIMEOUT", Default: duration(defaults.ConnectTimeout),
		Doc:   "How long start-up keeps retrying to reach the database.",
		field: func(c *Config) any { return &c.Database.ConnectTimeout },
	},
	{
		Name: "database.slow_query_threshold", Env: "SERVO_DATABASE_SLOW_QUERY_THRESHOLD", Default: duration(defaults.SlowQueryThreshold),
		Doc:   "Queries slower than this are logged as warnings.",
		field: func(c *Config) any { return &c.Database.SlowQueryThreshold },
	},
	{
		Name: "http.addr", Env: "SERVO_HTTP_ADDR", Default: defaults.HTTPAddr,
		Doc:   "Address the HTTP server listens on, as host:port.",
		field: func(c *Config) any { return &c.HTTP.Addr },
	},
	{
		Name: "http.shutdown_timeout", Env: "SERVO_HTTP_SHUTDOWN_TIMEOUT", Default: duration(defaults.ShutdownTimeout),
		Doc:   "How long a graceful shutdown waits for in-flight requests.",
		field: func(c *Config) any { return &c.HTTP.ShutdownTimeout },
	},
	{
		Name: "http.request_timeout", Env: "SERVO_HTTP_REQUEST_TIMEOUT", Default: duration(defaults.RequestTimeout),
		Doc:   "Longest an API request may take, its wait for a pooled database connection included; past it the answer is 503 unavailable.",
		field: func(c *Config) any { return &c.HTTP.RequestTimeout },
	},
	{
		Name: "http.rate_limit", Env: "SERVO_HTTP_RATE_LIMIT", Default: "0",
		Doc:   "API requests per second one tenant may make to one server process, over all its keys; more get 429 with Retry-After (0: no limit).",
		field: func(c *Config) any { return &c.HTTP.RateLimit },
	},
	{
		Name: "http.rate_burst", Env: "SERVO_HTTP_RATE_BURST", Default: "0",
		Doc:   "API requests one tenant may make at once above http.rate_limit (0: twice http.rate_limit).",
		field: func(c *Config) any { return &c.HTTP.RateBurst },
	},
	{
		Name: "http.tenant_pool_share", Env: "SERVO_HTTP_TENANT_POOL_SHARE", Default: strconv.Itoa(defaults.TenantPoolShare),
		Doc:   "Percentage of database.max_open_conns (at least one request) one tenant may hold at once on the expensive routes: lineage walks, OpenLineage ingestion and raw events; more get 429 with Retry-After at once.",
		field: func(c *Config) any { return &c.HTTP.TenantPoolShare },
	},
	{
		Name: "http.decode_budget", Env: "SERVO_HTTP_DECODE_BUDGET", Default: strconv.Itoa(defaults.DecodeBudget),
		Doc:   "Request-body bytes the OpenLineage routes may read and decode at once, server-wide (8 MiB; a larger body takes all of it); a request waits up to half of http.request_timeout for room, then gets 429 with Retry-After.",
		field: func(c *Config) any { return &c.HTTP.DecodeBudget },
	},
	{
		Name: "http.tenant_ingest_share", Env: "SERVO_HTTP_TENANT_INGEST_SHARE", Default: strconv.Itoa(defaults.TenantIngestShare),
		Doc:   "Percentage of the wall-clock time one tenant's OpenLineage ingestion requests may take, summed and averaged over a few seconds (200: two requests at all times); past it the tenant gets 429 with Retry-After until it is back within it (0: no budget).",
		field: func(c *Config) any { return &c.HTTP.TenantIngestShare },
	},
	{
		Name: "auth.admin_key", Env: "SERVO_ADMIN_KEY", Default: "", Secret: true,
		Doc:   "Bearer token for the admin API (tenants, keys, global rows); at least 32 characters; empty disables it.",
		field: func(c *Config) any { return &c.Auth.AdminKey },
	},
	{
		Name: "runtime.allowed_commands", Env: "SERVO_RUNTIME_ALLOWED_COMMANDS", Default: "",
		Doc:   "Comma-separated absolute paths of executables command steps may run, each run under the name listed (a bare argv[0] is looked up in runtime.step_path); empty turns command execution off.",
		field: func(c *Config) any { return &c.Runtime.AllowedCommands },
	},
	{
		Name: "runtime.allowed_hosts", Env: "SERVO_RUNTIME_ALLOWED_HOSTS", Default: "",
		Doc:   "Comma-separated host[:port] entries http steps may call (a bare host allows ports 443 and 80); empty allows none; the server's own address is never allowed.",
		field: func(c *Config) any { return &c.Runtime.AllowedHosts },
	},
	{
		Name: "runtime.max_running_per_tenant", Env: "SERVO_RUNTIME_MAX_RUNNING_PER_TENANT", Default: strconv.Itoa(defaults.MaxRunningPerTenant),
		Doc:   "Most steps and materializations of one tenant running at once, across all workers; the rest wait queued, oldest first. Keep it below runtime.workers so that one tenant's backlog leaves slots to the others.",
		field: func(c *Config) any { return &c.Runtime.MaxRunningPerTenant },
	},
	{
		Name: "runtime.starts_per_minute", Env: "SERVO_RUNTIME_STARTS_PER_MINUTE", Default: "0",
		Doc:   "Most runs of one tenant started in any minute, across all workers (0: no cap).",
		field: func(c *Config) any { return &c.Runtime.StartsPerMinute },
	},
	{
		Name: "runtime.workers", Env: "SERVO_RUNTIME_WORKERS", Default: strconv.Itoa(defaults.Workers),
		Doc:   "Jobs one worker process works at once.",
		field: func(c *Config) any { return &c.Runtime.Workers },
	},
	{
		Name: "runtime.lease", Env: "SERVO_RUNTIME_LEASE", Default: duration(defaults.Lease),
		Doc:   "The longest one step's job may run before it is worked again (step timeouts may be at most half of it); a dead worker is noticed sooner, through runtime.heartbeat_timeout.",
		field: func(c *Config) any { return &c.Runtime.Lease },
	},
	{
		Name: "runtime.heartbeat_timeout", Env: "SERVO_RUNTIME_HEARTBEAT_TIMEOUT", Default: duration(defaults.HeartbeatTimeout),
		Doc:   "How long a running step may go without its worker's heartbeat (renewed every sixth of it) before the step is failed as lost, its slot freed and the step retried per its policy.",
		field: func(c *Config) any { return &c.Runtime.HeartbeatTimeout },
	},
	{
		Name: "runtime.kill_grace", Env: "SERVO_RUNTIME_KILL_GRACE", Default: duration(defaults.KillGrace),
		Doc:   "Time a cancelled or timed-out command gets between SIGTERM and SIGKILL.",
		field: func(c *Config) any { return &c.Runtime.KillGrace },
	},
	{
		Name: "runtime.poll_interval", Env: "SERVO_RUNTIME_POLL_INTERVAL", Default: "0s",
		Doc:   "How often workers look for new jobs besides being woken (0: " + duration(defaults.FetchPollInterval) + " on PostgreSQL, where each new job's notification wakes them at once and polling only catches a missed one; " + duration(defaults.FetchPollIntervalSQLite) + " on SQLite, which has no notifications, so that it is how late a run may start).",
		field: func(c *Config) any { return &c.Runtime.PollInterval },
	},
	{
		Name: "runtime.signing_key", Env: "SERVO_RUNTIME_SIGNING_KEY", Default: "", Secret: true,
		Doc:   "Secret from which each tenant's HMAC key for signing http steps is derived (empty: one generated on first start and kept in the database).",
		field: func(c *Config) any { return &c.Runtime.SigningKey },
	},
	{
		Name: "runtime.isolation", Env: "SERVO_RUNTIME_ISOLATION", Default: defaults.Isolation,
		Doc:   "How command steps are isolated: bwrap (a bubblewrap sandbox), user (only the step user), none (as the server itself: development only, warned at every start), or auto (bwrap where found, else user).",
		field: func(c *Config) any { return &c.Runtime.Isolation },
	},
	{
		Name: "runtime.step_user", Env: "SERVO_RUNTIME_STEP_USER", Default: "",
		Doc:   "Account command steps run as, a name or uid:gid, when the server runs as root (empty: " + defaults.StepUser + ").",
		field: func(c *Config) any { return &c.Runtime.StepUser },
	},
	{
		Name: "runtime.step_network", Env: "SERVO_RUNTIME_STEP_NETWORK", Default: defaults.StepNetwork,
		Doc:   "Network of command steps: host (shared with the server's host) or none (cut off; needs bwrap); a spec may cut its own network but not open it where this is none.",
		field: func(c *Config) any { return &c.Runtime.StepNetwork },
	},
	{
		Name: "runtime.step_path", Env: "SERVO_RUNTIME_STEP_PATH", Default: defaults.StepPath,
		Doc:   "PATH of command steps, where a bare argv[0] is looked up; steps inherit nothing of the server's environment.",
		field: func(c *Config) any { return &c.Runtime.StepPath },
	},
	{
		Name: "openlineage.mode", Env: "SERVO_OPENLINEAGE_MODE", Default: defaults.OpenLineageMode,
		Doc:   "How OpenLineage events are validated: strict (only events valid against the 2-0-2 schema) or lenient (also a missing schemaURL or an eventTime without a zone, with a warning).",
		field: func(c *Config) any { return &c.OpenLineage.Mode },
	},
	{
		Name: "openlineage.retention", Env: "SERVO_OPENLINEAGE_RETENTION", Default: duration(defaults.OpenLineageRetention),
		Doc:   "How long raw OpenLineage events are kept after they are received.",
		field: func(c *Config) any { return &c.OpenLineage.Retention },
	},
	{
		Name: "log.level", Env: "SERVO_LOG_LEVEL", Default: defaults.LogLevel,
		Doc:   "Lowest level logged: debug, info, warn or error.",
		field: func(c *Config) any { return &c.Log.Level },
	},
	{
		Name: "log.format", Env: "SERVO_LOG_FORMAT", Default: defaults.LogFormat,
		Doc:   "Log format: json (production) or console (development).",
		field: func(c *Config) any { return &c.Log.Format },
	},
}

// Keys returns every configuration key, in a stable order. Callers get a
// copy and cannot change the table.
func Keys() []Key {
	out := make([]Key, len(keys))
	copy(out, keys)
	return out
}

// EnvNames returns every environment variable Servo reads for its
// configuration: one per key, plus EnvConfigFile.
func EnvNames() []string {
	out := make([]string, 0, len(keys)+1)
	out = append(out, EnvConfigFile)
	for _, k := range keys {
		out = append(out, k.Env)
	}
	return out
}

// keyByName finds a key by its dotted name.
func keyByName(name string) (Key, bool) {
	for _, k := range keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// keyByEnv finds a key by its environment variable.
func keyByEnv(env string) (Key, bool) {
	for _, k := range keys {
		if k.Env == env {
			return k, true
		}
	}
	return Key{}, false
}

// duration writes d as a key's default is written in the file: "30m", not
// "30m0s".
func duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
