// Package config owns Servo's configuration: the keys it knows (Keys), where
// their values come from and in which order (built-in defaults, then an
// optional YAML file, then environment variables), and the checks a value
// must pass before the process uses it.
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// ErrInvalid marks every error about a bad configuration value or file.
var ErrInvalid = errors.New("invalid configuration")

// Config is Servo's resolved configuration. Load fills it in and resolves
// the defaults that depend on other keys, so its fields are ready to use.
type Config struct {
	// Database configures the database connection.
	Database Database
	// HTTP configures the HTTP server.
	HTTP HTTP
	// Log configures logging.
	Log Log
	// Auth configures authentication.
	Auth Auth
	// OpenLineage configures OpenLineage ingestion.
	OpenLineage OpenLineage
	// Runtime configures run execution.
	Runtime Runtime
}

// Runtime configures run execution.
type Runtime struct {
	// AllowedCommands is a comma-separated list of absolute executable paths
	// command steps may run; empty turns command execution off.
	AllowedCommands string
	// AllowedHosts is a comma-separated list of hosts http steps may call.
	AllowedHosts string
	// MaxRunningPerTenant caps a tenant's running steps.
	MaxRunningPerTenant int
	// StartsPerMinute caps how many runs of a tenant start per minute (0: no cap).
	StartsPerMinute int
	// Workers is how many jobs one worker process works at once.
	Workers int
	// Lease is how long a job may run before it is taken for lost.
	Lease time.Duration
	// HeartbeatTimeout is how long a running attempt may go without its
	// worker's heartbeat before it is failed as lost and retried.
	HeartbeatTimeout time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL for a stopped step.
	KillGrace time.Duration
	// PollInterval is how often workers look for new jobs besides being
	// woken by PostgreSQL's notifications; 0 picks it by database.
	PollInterval time.Duration
	// SigningKey derives the per-tenant secrets that sign http steps.
	SigningKey string
	// Isolation is how command steps are isolated: auto, bwrap, user or none.
	Isolation string
	// StepUser is the account steps run as (name or uid:gid).
	StepUser string
	// StepNetwork is the steps' network: host or none.
	StepNetwork string
	// StepPath is the steps' PATH.
	StepPath string
}

// OpenLineage configures OpenLineage ingestion.
type OpenLineage struct {
	// Mode is strict or lenient.
	Mode string
	// Retention is how long raw events are kept after they are received.
	Retention time.Duration
}

// openLineageModes are the modes openlineage.mode accepts.
var openLineageModes = []string{"strict", "lenient"}

// Auth configures authentication.
type Auth struct {
	// AdminKey, when set, is a bearer token that acts in the system scope:
	// it manages tenants, API keys and global rows.
	AdminKey string
}

// MinAdminKeyLen is the shortest admin key accepted.
const MinAdminKeyLen = 32

// Database configures the database connection and its pool.
type Database struct {
	// URL is a postgres:// URL or an SQLite file path; never empty after Load.
	URL string
	// MigrateURL is the database `servo migrate` works on; URL when unset.
	MigrateURL string
	// AppRole is the PostgreSQL role the server connects as.
	AppRole string
	// MaxOpenConns caps open connections.
	MaxOpenConns int
	// MaxIdleConns caps idle connections; MaxOpenConns when unset.
	MaxIdleConns int
	// ConnMaxLifetime recycles connections after this long; 0 keeps them.
	ConnMaxLifetime time.Duration
	// ConnectTimeout bounds how long start-up waits for the database.
	ConnectTimeout time.Duration
	// SlowQueryThreshold is the duration above which a query is logged.
	SlowQueryThreshold time.Duration
}

// HTTP configures the HTTP server.
type HTTP struct {
	// Addr is the host:port the server listens on.
	Addr string
	// ShutdownTimeout bounds how long shutdown waits for in-flight requests.
	ShutdownTimeout time.Duration
	// RequestTimeout bounds an API request, its wait for a database
	// connection included.
	RequestTimeout time.Duration
	// RateLimit is the requests per second one tenant may make (0: no limit).
	RateLimit int
	// RateBurst is the requests a tenant may make at once above RateLimit
	// (0: twice RateLimit).
	RateBurst int
	// TenantPoolShare is the percentage of the database pool one tenant's
	// expensive requests (lineage, OpenLineage ingestion) may hold at once.
	TenantPoolShare int
	// DecodeBudget is the request-body bytes the OpenLineage routes may
	// hold and decode at once, server-wide.
	DecodeBudget int
	// TenantIngestShare is the percentage of the wall-clock time one
	// tenant's OpenLineage ingestion requests may take, summed (0: no
	// budget).
	TenantIngestShare int
}

// TenantInflight is how many expensive requests one tenant may have in
// flight: TenantPoolShare percent of the pool, at least one.
func (c *Config) TenantInflight() int {
	return max(1, c.Database.MaxOpenConns*c.HTTP.TenantPoolShare/100)
}

// Log configures logging.
type Log struct {
	// Level is the lowest level logged: debug, info, warn or error.
	Level string
	// Format is json or console.
	Format string
}

// Options say where Load reads configuration from.
type Options struct {
	// File is the YAML file to read. When empty, the file named by the
	// SERVO_CONFIG environment variable is read, and when that is unset too,
	// no file is.
	File string
	// Environ is the environment as KEY=value pairs; nil means os.Environ().
	Environ []string
}

// Load builds the configuration from the built-in defaults, then the YAML
// file, then the environment, each overriding the one before. An empty
// environment variable counts as unset. Unknown keys in the file, values of
// the wrong type and values out of range are errors wrapping ErrInvalid;
// every problem found is reported, not just the first.
func Load(opts Options) (*Config, error) {
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	envVals := envMap(environ)
	environ, fromSecretFile, err := secretFiles(environ, envVals)
	if err != nil {
		return nil, err
	}
	envVals = envMap(environ)
	path := opts.File
	if path == "" {
		path = envVals[EnvConfigFile]
	}

	k := koanf.New(".")
	for _, key := range keys {
		if err := k.Set(key.Name, key.Default); err != nil {
			return nil, fmt.Errorf("set default %s: %w", key.Name, err)
		}
	}

	fromFile := map[string]bool{}
	if path != "" {
		var err error
		if fromFile, err = mergeFile(k, path, fromSecretFile); err != nil {
			return nil, err
		}
	}

	envProvider := env.Provider(".", env.Opt{
		Prefix:      "SERVO_",
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			key, ok := keyByEnv(name)
			if !ok || value == "" {
				return "", nil
			}
			return key.Name, value
		},
	})
	if err := k.Load(envProvider, nil); err != nil {
		return nil, fmt.Errorf("read environment: %w", err)
	}

	origin := func(key Key) string {
		switch {
		case fromSecretFile[key.Name] != "":
			return fromSecretFile[key.Name]
		case envVals[key.Env] != "":
			return "environment variable " + key.Env
		case fromFile[key.Name]:
			return "config file " + path
		default:
			return "default"
		}
	}

	cfg := &Config{}
	var errs []error
	for _, key := range keys {
		if err := assign(cfg, key, k.Get(key.Name)); err != nil {
			errs = append(errs, fmt.Errorf("%s (from %s): %w", key.Name, origin(key), err))
		}
	}
	if len(errs) == 0 {
		for _, p := range cfg.validate() {
			key, _ := keyByName(p.key)
			errs = append(errs, fmt.Errorf("%s (from %s): %s", p.key, origin(key), p.msg))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	cfg.resolve()
	return cfg, nil
}

// mergeFile merges the YAML file at path into k and returns the keys it
// set. Unknown keys are an error, so that a typo cannot pass silently.
func mergeFile(k *koanf.Koanf, path string, fromSecretFile map[string]string) (map[string]bool, error) {
	fk := koanf.New(".")
	if err := fk.Load(file.Provider(path), yaml.Parser()); err != nil {
		return nil, fmt.Errorf("%w: read config file %s: %w", ErrInvalid, path, err)
	}
	set := map[string]bool{}
	var unknown []string
	var errs []error
	for _, name := range fk.Keys() {
		v := fk.Get(name)
		if key, ok := keyByName(strings.TrimSuffix(name, "_file")); ok && key.Secret && strings.HasSuffix(name, "_file") {
			fk.Delete(name)
			file, _ := v.(string)
			if v == nil || file == "" {
				continue
			}
			if fk.Get(key.Name) != nil && fk.String(key.Name) != "" {
				errs = append(errs, fmt.Errorf("%s and %s are both set in %s: keep one", key.Name, name, path))
				continue
			}
			secret, err := readSecretFile(file)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s (from config file %s): %w", name, path, err))
				continue
			}
			if err := fk.Set(key.Name, secret); err != nil {
				return nil, err
			}
			set[key.Name] = true
			if fromSecretFile[key.Name] == "" {
				fromSecretFile[key.Name] = "file " + file + " named by " + name + " in " + path
			}
			continue
		}
		if _, ok := keyByName(name); !ok {
			if v == nil || isEmptyMap(v) {
				continue // an empty section such as "log:" sets nothing
			}
			unknown = append(unknown, name)
			continue
		}
		if v == nil {
			fk.Delete(name) // "key:" with no value leaves the key unset
			continue
		}
		set[name] = true
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("%w: config file %s: unknown key(s) %s; known keys are %s",
			ErrInvalid, path, strings.Join(unknown, ", "), strings.Join(keyNames(), ", "))
	}
	if err := k.Merge(fk); err != nil {
		return nil, fmt.Errorf("%w: merge config file %s: %w", ErrInvalid, path, err)
	}
	return set, nil
}

// secretFiles reads the secrets named by <VAR>_FILE variables and returns
// environ with <VAR>=<the file's content> in their place, and for each key
// read so, where its value came from. Setting both <VAR> and <VAR>_FILE is
// an error. A trailing newline of the file is dropped.
func secretFiles(environ []string, vals map[string]string) ([]string, map[string]string, error) {
	from := map[string]string{}
	var add []string
	var errs []error
	for _, key := range keys {
		file := vals[key.Env+"_FILE"]
		if !key.Secret || file == "" {
			continue
		}
		if vals[key.Env] != "" {
			errs = append(errs, fmt.Errorf("%s and %s are both set: keep one", key.Env, key.Env+"_FILE"))
			continue
		}
		secret, err := readSecretFile(file)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s (from environment variable %s): %w", key.Name, key.Env+"_FILE", err))
			continue
		}
		add = append(add, key.Env+"="+secret)
		from[key.Name] = "file " + file + " named by environment variable " + key.Env + "_FILE"
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return append(slices.Clip(environ), add...), from, nil
}

// readSecretFile reads a secret from a file, without its trailing newline.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return s, nil
}

// UnknownEnv returns the SERVO_* variables of environ that Servo does not
// read, sorted: most likely typos, which the caller should warn about.
func UnknownEnv(environ []string) []string {
	known := map[string]bool{}
	for _, name := range EnvNames() {
		known[name] = true
	}
	for _, k := range keys {
		if k.Secret {
			known[k.Env+"_FILE"] = true
		}
	}
	var out []string
	for name := range envMap(environ) {
		if strings.HasPrefix(name, "SERVO_") && !known[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// envMap turns KEY=value pairs into a map; a later pair wins, as in exec.
func envMap(environ []string) map[string]string {
	out := make(map[string]string, len(environ))
	for _, kv := range environ {
		if name, value, ok := strings.Cut(kv, "="); ok {
			out[name] = value
		}
	}
	return out
}

func keyNames() []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Name
	}
	return out
}

func isEmptyMap(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 0
}

// assign parses v into the field key points at. v is a string from the
// defaults or the environment, or whatever the YAML parser produced.
func assign(c *Config, key Key, v any) error {
	if v == nil {
		v = key.Default
	}
	switch p := key.field(c).(type) {
	case *string:
		switch x := v.(type) {
		case string:
			*p = strings.TrimSpace(x)
		case int, int64, uint64, float64, bool:
			*p = fmt.Sprint(x)
		default:
			return fmt.Errorf("must be a single value, not %T", v)
		}
	case *int:
		n, err := toInt(v)
		if err != nil {
			return err
		}
		*p = n
	case *time.Duration:
		d, err := toDuration(v)
		if err != nil {
			return err
		}
		*p = d
	default:
		return fmt.Errorf("key bound to unsupported field type %T", p)
	}
	return nil
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		if x < math.MinInt || x > math.MaxInt {
			return 0, fmt.Errorf("%d is out of range", x)
		}
		return int(x), nil
	case uint64:
		if x > math.MaxInt {
			return 0, fmt.Errorf("%d is out of range", x)
		}
		return int(x), nil
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return 0, fmt.Errorf("%q is not a whole number", x)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("must be a whole number, got %v", v)
	}
}

func toDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(x))
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration; write it with a unit, like 500ms, 30s or 1h30m", x)
		}
		return d, nil
	case int:
		if x == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("%d has no unit; write it like %ds or %dms", x, x, x)
	default:
		return 0, fmt.Errorf("must be a duration with a unit, like 30s, got %v", v)
	}
}

// logLevels are the levels log.level accepts.
var logLevels = []string{"debug", "info", "warn", "error"}

// logFormats are the formats log.format accepts.
var logFormats = []string{"json", "console"}

// problem is a value that has the right type but is out of range.
type problem struct {
	key string
	msg string
}

// validate checks values whose type is right but whose value may not be,
// and normalises the case of the log level and format.
func (c *Config) validate() []problem {
	var out []problem
	bad := func(key, format string, args ...any) {
		out = append(out, problem{key: key, msg: fmt.Sprintf(format, args...)})
	}
	d := c.Database
	if d.AppRole == "" {
		bad("database.app_role", "must not be empty")
	}
	if d.MaxOpenConns < 1 {
		bad("database.max_open_conns", "must be at least 1, got %d", d.MaxOpenConns)
	}
	if d.MaxIdleConns < 0 {
		bad("database.max_idle_conns", "must not be negative, got %d", d.MaxIdleConns)
	} else if d.MaxOpenConns >= 1 && d.MaxIdleConns > d.MaxOpenConns {
		bad("database.max_idle_conns", "must not exceed database.max_open_conns (%d), got %d", d.MaxOpenConns, d.MaxIdleConns)
	}
	if d.ConnMaxLifetime < 0 {
		bad("database.conn_max_lifetime", "must not be negative, got %s", d.ConnMaxLifetime)
	}
	if d.ConnectTimeout <= 0 {
		bad("database.connect_timeout", "must be positive, got %s", d.ConnectTimeout)
	}
	if d.SlowQueryThreshold <= 0 {
		bad("database.slow_query_threshold", "must be positive, got %s", d.SlowQueryThreshold)
	}
	if err := checkAddr(c.HTTP.Addr); err != nil {
		bad("http.addr", "%v", err)
	}
	if c.HTTP.ShutdownTimeout <= 0 {
		bad("http.shutdown_timeout", "must be positive, got %s", c.HTTP.ShutdownTimeout)
	}
	if c.HTTP.RequestTimeout <= 0 {
		bad("http.request_timeout", "must be positive, got %s", c.HTTP.RequestTimeout)
	}
	if c.HTTP.RateLimit < 0 {
		bad("http.rate_limit", "must not be negative, got %d", c.HTTP.RateLimit)
	}
	if c.HTTP.RateBurst < 0 {
		bad("http.rate_burst", "must not be negative, got %d", c.HTTP.RateBurst)
	}
	if c.HTTP.TenantPoolShare < 1 || c.HTTP.TenantPoolShare > 100 {
		bad("http.tenant_pool_share", "must be a percentage from 1 to 100, got %d", c.HTTP.TenantPoolShare)
	}
	if c.HTTP.DecodeBudget < 1<<20 {
		bad("http.decode_budget", "must be at least 1048576 bytes, got %d", c.HTTP.DecodeBudget)
	}
	if c.HTTP.TenantIngestShare < 0 || c.HTTP.TenantIngestShare > 1000 {
		bad("http.tenant_ingest_share", "must be a percentage from 0 (no budget) to 1000, got %d", c.HTTP.TenantIngestShare)
	}
	r := c.Runtime
	if r.MaxRunningPerTenant < 1 {
		bad("runtime.max_running_per_tenant", "must be at least 1, got %d", r.MaxRunningPerTenant)
	}
	if r.StartsPerMinute < 0 {
		bad("runtime.starts_per_minute", "must not be negative, got %d", r.StartsPerMinute)
	}
	if r.Workers < 1 {
		bad("runtime.workers", "must be at least 1, got %d", r.Workers)
	}
	if r.Lease < 10*time.Second {
		bad("runtime.lease", "must be at least 10s, got %s", r.Lease)
	}
	if r.HeartbeatTimeout < time.Second {
		bad("runtime.heartbeat_timeout", "must be at least 1s, got %s", r.HeartbeatTimeout)
	}
	if r.KillGrace <= 0 {
		bad("runtime.kill_grace", "must be positive, got %s", r.KillGrace)
	}
	if r.PollInterval < 0 || (r.PollInterval > 0 && r.PollInterval < time.Millisecond) {
		bad("runtime.poll_interval", "must be 0 (by database) or at least 1ms, got %s", r.PollInterval)
	}
	for _, p := range splitList(r.AllowedCommands) {
		if !strings.HasPrefix(p, "/") {
			bad("runtime.allowed_commands", "%q is not an absolute path", p)
		}
	}
	if !slices.Contains([]string{"auto", "bwrap", "user", "none"}, r.Isolation) {
		bad("runtime.isolation", "%q is not one of auto, bwrap, user, none", r.Isolation)
	}
	if r.StepNetwork != "host" && r.StepNetwork != "none" {
		bad("runtime.step_network", "%q is not one of host, none", r.StepNetwork)
	}
	for _, d := range strings.Split(r.StepPath, ":") {
		if !strings.HasPrefix(d, "/") {
			bad("runtime.step_path", "%q holds %q, not an absolute directory", r.StepPath, d)
			break
		}
	}
	if k := c.Auth.AdminKey; k != "" && len(k) < MinAdminKeyLen {
		bad("auth.admin_key", "must be at least %d characters (generate one with: openssl rand -base64 32)", MinAdminKeyLen)
	}
	c.OpenLineage.Mode = strings.ToLower(c.OpenLineage.Mode)
	if !slices.Contains(openLineageModes, c.OpenLineage.Mode) {
		bad("openlineage.mode", "%q is not one of %s", c.OpenLineage.Mode, strings.Join(openLineageModes, ", "))
	}
	if c.OpenLineage.Retention <= 0 {
		bad("openlineage.retention", "must be positive, got %s", c.OpenLineage.Retention)
	}
	c.Log.Level = strings.ToLower(c.Log.Level)
	if !slices.Contains(logLevels, c.Log.Level) {
		bad("log.level", "%q is not one of %s", c.Log.Level, strings.Join(logLevels, ", "))
	}
	c.Log.Format = strings.ToLower(c.Log.Format)
	if !slices.Contains(logFormats, c.Log.Format) {
		bad("log.format", "%q is not one of %s", c.Log.Format, strings.Join(logFormats, ", "))
	}
	return out
}

// resolve fills in the defaults that follow other keys.
func (c *Config) resolve() {
	if c.Database.URL == "" {
		c.Database.URL = DefaultSQLitePath
	}
	if c.Database.MigrateURL == "" {
		c.Database.MigrateURL = c.Database.URL
	}
	if c.Database.MaxIdleConns == 0 {
		c.Database.MaxIdleConns = c.Database.MaxOpenConns
	}
}

func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (for example :8080 or 127.0.0.1:8080)", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has no valid port number", addr)
	}
	return nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// List splits a comma-separated configuration value into its items.
func List(s string) []string { return splitList(s) }
