package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/config"
)

// defaults is the configuration with nothing set.
func defaults() config.Config {
	return config.Config{
		Database: config.Database{
			URL:                "servo.db",
			MigrateURL:         "servo.db",
			AppRole:            "servo_app",
			MaxOpenConns:       5,
			MaxIdleConns:       5,
			ConnMaxLifetime:    30 * time.Minute,
			ConnectTimeout:     30 * time.Second,
			SlowQueryThreshold: 200 * time.Millisecond,
		},
		HTTP:        config.HTTP{Addr: ":8080", ShutdownTimeout: 15 * time.Second, RequestTimeout: 15 * time.Second, TenantPoolShare: 40, DecodeBudget: 8 << 20, TenantIngestShare: 50},
		Log:         config.Log{Level: "info", Format: "json"},
		OpenLineage: config.OpenLineage{Mode: "lenient", Retention: 720 * time.Hour},
		Runtime: config.Runtime{
			MaxRunningPerTenant: 4, Workers: 10, Lease: 30 * time.Minute, HeartbeatTimeout: 30 * time.Second, KillGrace: 10 * time.Second,
			Isolation: "auto", StepNetwork: "host", StepPath: "/usr/local/bin:/usr/bin:/bin",
		},
	}
}

// writeFile writes a YAML file into a fresh directory and returns its path.
func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "servo.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoad(t *testing.T) {
	t.Parallel()

	fullFile := `
database:
  url: postgres://servo_app@db:5432/servo
  migrate_url: postgres://servo_owner@db:5432/servo
  app_role: app_role_from_file
  max_open_conns: 20
  max_idle_conns: 4
  conn_max_lifetime: 1h
  connect_timeout: 5s
  slow_query_threshold: 1s
http:
  addr: 127.0.0.1:9090
  shutdown_timeout: 40s
  request_timeout: 3s
  rate_limit: 50
  rate_burst: 80
log:
  level: debug
  format: console
`

	tests := []struct {
		name string
		file string // YAML body; empty means no file
		env  []string
		want func(c *config.Config)
	}{
		{
			name: "defaults",
			want: func(*config.Config) {},
		},
		{
			name: "file sets every key",
			file: fullFile,
			want: func(c *config.Config) {
				c.Database = config.Database{
					URL:                "postgres://servo_app@db:5432/servo",
					MigrateURL:         "postgres://servo_owner@db:5432/servo",
					AppRole:            "app_role_from_file",
					MaxOpenConns:       20,
					MaxIdleConns:       4,
					ConnMaxLifetime:    time.Hour,
					ConnectTimeout:     5 * time.Second,
					SlowQueryThreshold: time.Second,
				}
				c.HTTP = config.HTTP{Addr: "127.0.0.1:9090", ShutdownTimeout: 40 * time.Second, RequestTimeout: 3 * time.Second, RateLimit: 50, RateBurst: 80, TenantPoolShare: 40, DecodeBudget: 8 << 20, TenantIngestShare: 50}
				c.Log = config.Log{Level: "debug", Format: "console"}
			},
		},
		{
			name: "environment sets every key",
			env: []string{
				"SERVO_DATABASE_URL=postgres://a@h/db",
				"SERVO_MIGRATE_DATABASE_URL=postgres://owner@h/db",
				"SERVO_APP_ROLE=env_role",
				"SERVO_DATABASE_MAX_OPEN_CONNS=8",
				"SERVO_DATABASE_MAX_IDLE_CONNS=2",
				"SERVO_DATABASE_CONN_MAX_LIFETIME=0",
				"SERVO_DATABASE_CONNECT_TIMEOUT=1m",
				"SERVO_DATABASE_SLOW_QUERY_THRESHOLD=50ms",
				"SERVO_HTTP_ADDR=:9999",
				"SERVO_HTTP_SHUTDOWN_TIMEOUT=2s",
				"SERVO_HTTP_REQUEST_TIMEOUT=4s",
				"SERVO_HTTP_RATE_LIMIT=5",
				"SERVO_HTTP_RATE_BURST=7",
				"SERVO_LOG_LEVEL=warn",
				"SERVO_LOG_FORMAT=console",
			},
			want: func(c *config.Config) {
				c.Database = config.Database{
					URL:                "postgres://a@h/db",
					MigrateURL:         "postgres://owner@h/db",
					AppRole:            "env_role",
					MaxOpenConns:       8,
					MaxIdleConns:       2,
					ConnMaxLifetime:    0,
					ConnectTimeout:     time.Minute,
					SlowQueryThreshold: 50 * time.Millisecond,
				}
				c.HTTP = config.HTTP{Addr: ":9999", ShutdownTimeout: 2 * time.Second, RequestTimeout: 4 * time.Second, RateLimit: 5, RateBurst: 7, TenantPoolShare: 40, DecodeBudget: 8 << 20, TenantIngestShare: 50}
				c.Log = config.Log{Level: "warn", Format: "console"}
			},
		},
		{
			name: "environment overrides file, file overrides defaults",
			file: "database:\n  max_open_conns: 20\n  max_idle_conns: 3\nhttp:\n  addr: :7000\nlog:\n  level: debug\n",
			env:  []string{"SERVO_DATABASE_MAX_OPEN_CONNS=9", "SERVO_LOG_LEVEL=error"},
			want: func(c *config.Config) {
				c.Database.MaxOpenConns = 9 // env beats file
				c.Database.MaxIdleConns = 3 // file beats default
				c.HTTP.Addr = ":7000"       // file beats default
				c.Log.Level = "error"       // env beats file
			},
		},
		{
			name: "empty environment variable counts as unset",
			file: "http:\n  addr: :7000\n",
			env:  []string{"SERVO_HTTP_ADDR=", "SERVO_LOG_LEVEL="},
			want: func(c *config.Config) { c.HTTP.Addr = ":7000" },
		},
		{
			name: "migrate url follows database url",
			env:  []string{"SERVO_DATABASE_URL=/var/lib/servo/servo.db"},
			want: func(c *config.Config) {
				c.Database.URL = "/var/lib/servo/servo.db"
				c.Database.MigrateURL = "/var/lib/servo/servo.db"
			},
		},
		{
			name: "max idle follows max open",
			env:  []string{"SERVO_DATABASE_MAX_OPEN_CONNS=12"},
			want: func(c *config.Config) {
				c.Database.MaxOpenConns = 12
				c.Database.MaxIdleConns = 12
			},
		},
		{
			name: "numbers and durations written as strings in the file",
			file: "database:\n  max_open_conns: \"7\"\n  conn_max_lifetime: 0\nhttp:\n  shutdown_timeout: \"3s\"\n",
			want: func(c *config.Config) {
				c.Database.MaxOpenConns = 7
				c.Database.MaxIdleConns = 7
				c.Database.ConnMaxLifetime = 0
				c.HTTP.ShutdownTimeout = 3 * time.Second
			},
		},
		{
			name: "empty sections and keys without a value set nothing",
			file: "database:\n  url:\nhttp: {}\nlog:\n",
			want: func(*config.Config) {},
		},
		{
			name: "level and format are case-insensitive",
			env:  []string{"SERVO_LOG_LEVEL=DEBUG", "SERVO_LOG_FORMAT=Console"},
			want: func(c *config.Config) { c.Log = config.Log{Level: "debug", Format: "console"} },
		},
		{
			name: "unrelated variables are ignored",
			env:  []string{"DATABASE_URL=postgres://nope@h/db", "SERVO_UNKNOWN=1", "PATH=/usr/bin"},
			want: func(*config.Config) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := config.Options{Environ: append([]string{}, tt.env...)}
			if tt.file != "" {
				opts.File = writeFile(t, tt.file)
			}
			got, err := config.Load(opts)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := defaults()
			tt.want(&want)
			if *got != want {
				t.Errorf("Load:\n got %+v\nwant %+v", *got, want)
			}
		})
	}
}

func TestLoadFileLocation(t *testing.T) {
	t.Parallel()

	fromEnvVar := writeFile(t, "http:\n  addr: :1111\n")
	fromFlag := writeFile(t, "http:\n  addr: :2222\n")

	tests := []struct {
		name     string
		file     string
		env      []string
		wantAddr string
	}{
		{name: "SERVO_CONFIG names the file", env: []string{"SERVO_CONFIG=" + fromEnvVar}, wantAddr: ":1111"},
		{name: "the flag wins over SERVO_CONFIG", file: fromFlag, env: []string{"SERVO_CONFIG=" + fromEnvVar}, wantAddr: ":2222"},
		{name: "no file at all", wantAddr: ":8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := config.Load(config.Options{File: tt.file, Environ: append([]string{}, tt.env...)})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got.HTTP.Addr != tt.wantAddr {
				t.Errorf("http.addr = %q, want %q", got.HTTP.Addr, tt.wantAddr)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		file string
		env  []string
		// want lists substrings the error must contain.
		want []string
	}{
		{
			name: "unknown key in file",
			file: "database:\n  urll: x\nhtp:\n  addr: :1\n",
			want: []string{"unknown key(s) database.urll, htp.addr", "known keys are database.url"},
		},
		{
			name: "bad log level",
			env:  []string{"SERVO_LOG_LEVEL=verbose"},
			want: []string{`log.level (from environment variable SERVO_LOG_LEVEL): "verbose" is not one of debug, info, warn, error`},
		},
		{
			name: "bad log format",
			file: "log:\n  format: xml\n",
			want: []string{"log.format (from config file ", `"xml" is not one of json, console`},
		},
		{
			name: "bad duration from the environment names the variable",
			env:  []string{"SERVO_HTTP_SHUTDOWN_TIMEOUT=soon"},
			want: []string{"http.shutdown_timeout (from environment variable SERVO_HTTP_SHUTDOWN_TIMEOUT)", `"soon" is not a duration`},
		},
		{
			name: "duration without a unit in the file",
			file: "database:\n  connect_timeout: 30\n",
			want: []string{"database.connect_timeout (from config file", "30 has no unit"},
		},
		{
			name: "negative pool size",
			env:  []string{"SERVO_DATABASE_MAX_OPEN_CONNS=-1"},
			want: []string{"database.max_open_conns (from environment variable SERVO_DATABASE_MAX_OPEN_CONNS): must be at least 1, got -1"},
		},
		{
			name: "zero pool size",
			file: "database:\n  max_open_conns: 0\n",
			want: []string{"database.max_open_conns (from config file ", "must be at least 1, got 0"},
		},
		{
			name: "negative idle pool",
			env:  []string{"SERVO_DATABASE_MAX_IDLE_CONNS=-2"},
			want: []string{"database.max_idle_conns (from environment variable SERVO_DATABASE_MAX_IDLE_CONNS): must not be negative, got -2"},
		},
		{
			name: "idle pool larger than open pool",
			env:  []string{"SERVO_DATABASE_MAX_OPEN_CONNS=2", "SERVO_DATABASE_MAX_IDLE_CONNS=3"},
			want: []string{"database.max_idle_conns (from environment variable SERVO_DATABASE_MAX_IDLE_CONNS): must not exceed database.max_open_conns (2), got 3"},
		},
		{
			name: "pool size not a number",
			env:  []string{"SERVO_DATABASE_MAX_OPEN_CONNS=many"},
			want: []string{`"many" is not a whole number`},
		},
		{
			name: "pool size a fraction in the file",
			file: "database:\n  max_open_conns: 2.5\n",
			want: []string{"database.max_open_conns", "must be a whole number"},
		},
		{
			name: "negative durations",
			env:  []string{"SERVO_DATABASE_CONN_MAX_LIFETIME=-1s", "SERVO_DATABASE_CONNECT_TIMEOUT=0s", "SERVO_HTTP_SHUTDOWN_TIMEOUT=-5s"},
			want: []string{
				"database.conn_max_lifetime (from environment variable SERVO_DATABASE_CONN_MAX_LIFETIME): must not be negative, got -1s",
				"database.connect_timeout (from environment variable SERVO_DATABASE_CONNECT_TIMEOUT): must be positive, got 0s",
				"http.shutdown_timeout (from environment variable SERVO_HTTP_SHUTDOWN_TIMEOUT): must be positive, got -5s",
			},
		},
		{
			name: "poll interval negative or under a millisecond",
			env:  []string{"SERVO_RUNTIME_POLL_INTERVAL=-1s"},
			want: []string{"runtime.poll_interval (from environment variable SERVO_RUNTIME_POLL_INTERVAL): must be 0 (by database) or at least 1ms, got -1s"},
		},
		{
			name: "poll interval under a millisecond in the file",
			file: "runtime:\n  poll_interval: 500us\n",
			want: []string{"runtime.poll_interval", "must be 0 (by database) or at least 1ms, got 500µs"},
		},
		{
			name: "address without a port",
			env:  []string{"SERVO_HTTP_ADDR=localhost"},
			want: []string{`http.addr (from environment variable SERVO_HTTP_ADDR): "localhost" is not host:port`},
		},
		{
			name: "address with a bad port",
			env:  []string{"SERVO_HTTP_ADDR=:http-ish"},
			want: []string{`":http-ish" has no valid port number`},
		},
		{
			name: "a list where a value belongs",
			file: "http:\n  addr: [a, b]\n",
			want: []string{"http.addr", "must be a single value"},
		},
		{
			name: "every problem is reported",
			env:  []string{"SERVO_LOG_LEVEL=loud", "SERVO_LOG_FORMAT=xml"},
			want: []string{"log.level", "log.format"},
		},
		{
			name: "unknown OpenLineage mode",
			env:  []string{"SERVO_OPENLINEAGE_MODE=picky"},
			want: []string{`openlineage.mode (from environment variable SERVO_OPENLINEAGE_MODE): "picky" is not one of strict, lenient`},
		},
		{
			name: "OpenLineage retention not positive",
			file: "openlineage:\n  retention: 0s\n",
			want: []string{"openlineage.retention (from config file ", "must be positive, got 0s"},
		},
		{
			name: "malformed YAML",
			file: "http:\n  addr: :1\n bad-indent: [\n",
			want: []string{"read config file"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := config.Options{Environ: append([]string{}, tt.env...)}
			if tt.file != "" {
				opts.File = writeFile(t, tt.file)
			}
			cfg, err := config.Load(opts)
			if err == nil {
				t.Fatalf("Load succeeded with %+v, want an error", cfg)
			}
			if cfg != nil {
				t.Errorf("Load returned a config alongside error %v", err)
			}
			if !errors.Is(err, config.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "absent.yaml")
	for _, opts := range []config.Options{
		{File: path, Environ: []string{}},
		{Environ: []string{"SERVO_CONFIG=" + path}},
	} {
		_, err := config.Load(opts)
		if err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Load(%+v) = %v, want a not-exist error naming %s", opts, err, path)
		}
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	keys := config.Keys()
	if len(keys) == 0 {
		t.Fatal("no keys")
	}
	names, envs := map[string]bool{}, map[string]bool{}
	for _, k := range keys {
		if names[k.Name] || envs[k.Env] {
			t.Errorf("key %s / %s appears twice", k.Name, k.Env)
		}
		names[k.Name], envs[k.Env] = true, true
		if !strings.HasPrefix(k.Env, "SERVO_") || strings.ToUpper(k.Env) != k.Env {
			t.Errorf("%s: env %q is not an upper-case SERVO_ name", k.Name, k.Env)
		}
		if !strings.Contains(k.Name, ".") || strings.ToLower(k.Name) != k.Name {
			t.Errorf("key %q is not a lower-case dotted name", k.Name)
		}
		if k.Doc == "" || !strings.HasSuffix(k.Doc, ".") || strings.Contains(k.Doc, "\n") {
			t.Errorf("%s: doc %q is not one full sentence on one line", k.Name, k.Doc)
		}
	}
	if envs[config.EnvConfigFile] {
		t.Errorf("%s must not also be a key's variable", config.EnvConfigFile)
	}

	// The table is a copy: changing it does not change the configuration.
	keys[0].Env = "CHANGED"
	if config.Keys()[0].Env == "CHANGED" {
		t.Error("Keys returned the table itself, not a copy")
	}

	gotEnv := config.EnvNames()
	if len(gotEnv) != len(keys)+1 || gotEnv[0] != config.EnvConfigFile {
		t.Errorf("EnvNames = %v, want %s and one per key", gotEnv, config.EnvConfigFile)
	}
}

// TestKeysCoverConfig checks that the table binds every key to the Config
// field of the same name and that every field has a key: setting a key's
// variable changes its own field (and, for keys others follow, theirs).
func TestKeysCoverConfig(t *testing.T) {
	t.Parallel()
	base := defaults()
	follows := map[string]string{ // key -> field that follows it while unset
		"database.url":            "Database.MigrateURL",
		"database.max_open_conns": "Database.MaxIdleConns",
	}
	bound := map[string]bool{}
	for _, k := range config.Keys() {
		field, typ := fieldOf(t, k.Name)
		value := map[string]string{"int": "3", "time.Duration": "3s"}[typ]
		switch k.Name {
		case "http.addr":
			value = ":1234"
		case "log.level":
			value = "error"
		case "log.format":
			value = "console"
		case "auth.admin_key":
			value = strings.Repeat("k", config.MinAdminKeyLen)
		case "openlineage.mode":
			value = "strict"
		case "runtime.allowed_commands":
			value = "/usr/bin/true"
		case "runtime.lease":
			value = "3m"
		case "runtime.isolation":
			value = "bwrap"
		case "runtime.step_network":
			value = "none"
		case "runtime.step_path":
			value = "/opt/bin"
		case "http.decode_budget":
			value = "2097152"
		default:
			if value == "" {
				value = "x_value"
			}
		}
		got, err := config.Load(config.Options{Environ: []string{k.Env + "=" + value}})
		if err != nil {
			t.Fatalf("%s=%s: %v", k.Env, value, err)
		}
		want := []string{field}
		if f, ok := follows[k.Name]; ok {
			want = append(want, f)
		}
		if diff := diffFields(base, *got); !reflect.DeepEqual(diff, want) {
			t.Errorf("%s=%s changed %v, want %v", k.Env, value, diff, want)
		}
		if bound[field] {
			t.Errorf("field %s is bound twice", field)
		}
		bound[field] = true
	}
	v := reflect.ValueOf(base)
	for i := range v.NumField() {
		section := v.Type().Field(i)
		for j := range section.Type.NumField() {
			if f := section.Name + "." + section.Type.Field(j).Name; !bound[f] {
				t.Errorf("field %s is set by no key", f)
			}
		}
	}
}

// fieldOf returns the Config field a key names ("database.max_open_conns"
// is Database.MaxOpenConns) and its type.
func fieldOf(t *testing.T, key string) (string, string) {
	t.Helper()
	section, name, _ := strings.Cut(key, ".")
	typ := reflect.TypeOf(config.Config{})
	for i := range typ.NumField() {
		s := typ.Field(i)
		if !strings.EqualFold(s.Name, section) {
			continue
		}
		for j := range s.Type.NumField() {
			f := s.Type.Field(j)
			if strings.EqualFold(strings.ReplaceAll(name, "_", ""), f.Name) {
				return s.Name + "." + f.Name, f.Type.String()
			}
		}
	}
	t.Fatalf("key %s names no Config field", key)
	return "", ""
}

func diffFields(a, b config.Config) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		sa, sb := va.Field(i), vb.Field(i)
		for j := range sa.NumField() {
			if !reflect.DeepEqual(sa.Field(j).Interface(), sb.Field(j).Interface()) {
				out = append(out, va.Type().Field(i).Name+"."+sa.Type().Field(j).Name)
			}
		}
	}
	return out
}

func TestUnknownEnv(t *testing.T) {
	t.Parallel()
	got := config.UnknownEnv([]string{
		"SERVO_DATABSE_URL=x", "SERVO_DATABASE_URL=y", "SERVO_CONFIG=z", "HOME=/root", "SERVO_LOGLEVEL=debug",
	})
	want := []string{"SERVO_DATABSE_URL", "SERVO_LOGLEVEL"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UnknownEnv = %v, want %v", got, want)
	}
}

// TestExampleFile checks that configs/servo.example.yaml loads, documents
// every key and its variable, and holds the built-in defaults.
func TestExampleFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "configs", "servo.example.yaml")
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.Load(config.Options{File: path, Environ: []string{}})
	if err != nil {
		t.Fatalf("example does not load: %v", err)
	}
	if *got != defaults() {
		t.Errorf("example holds\n %+v\nwant the defaults\n %+v", *got, defaults())
	}
	text := string(body)
	for _, k := range config.Keys() {
		if n := strings.Count(text, k.Env); n != 1 {
			t.Errorf("example names %s %d times, want once", k.Env, n)
		}
		if !strings.Contains(text, k.Doc) {
			t.Errorf("example does not document %s with %q", k.Name, k.Doc)
		}
	}
}

// TestSecretsFromFiles reads every secret key from a file named by its
// <VAR>_FILE variable or its <key>_file file key, as container platforms
// mount secrets; both forms of one key at once are an error.
func TestSecretsFromFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	admin := strings.Repeat("a", config.MinAdminKeyLen)
	cases := []struct {
		key, env string
		get      func(*config.Config) string
		value    string
	}{
		{"database.url", "SERVO_DATABASE_URL", func(c *config.Config) string { return c.Database.URL }, "postgres://servo_app:s3cret@db/servo"},
		{"database.migrate_url", "SERVO_MIGRATE_DATABASE_URL", func(c *config.Config) string { return c.Database.MigrateURL }, "postgres://owner:0wner@db/servo"},
		{"auth.admin_key", "SERVO_ADMIN_KEY", func(c *config.Config) string { return c.Auth.AdminKey }, admin},
		{"runtime.signing_key", "SERVO_RUNTIME_SIGNING_KEY", func(c *config.Config) string { return c.Runtime.SigningKey }, "signing-key-from-a-file"},
	}
	var secrets []string
	for _, k := range config.Keys() {
		if k.Secret {
			secrets = append(secrets, k.Name)
		}
	}
	if len(secrets) != len(cases) {
		t.Fatalf("secret keys = %v, want the %d this test covers", secrets, len(cases))
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			t.Parallel()
			p := secret(c.env, c.value+"\n") // a trailing newline, as editors write
			got, err := config.Load(config.Options{Environ: []string{c.env + "_FILE=" + p}})
			if err != nil || c.get(got) != c.value {
				t.Fatalf("%s_FILE: %v, %v; want %q", c.env, err, got, c.value)
			}
			section, name, _ := strings.Cut(c.key, ".")
			got, err = config.Load(config.Options{File: writeFile(t, section+":\n  "+name+"_file: "+p+"\n"), Environ: []string{}})
			if err != nil || c.get(got) != c.value {
				t.Fatalf("%s_file: %v, %v; want %q", c.key, err, got, c.value)
			}
			if _, err := config.Load(config.Options{Environ: []string{c.env + "_FILE=" + p, c.env + "=" + c.value}}); !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "keep one") {
				t.Fatalf("both %s and %s_FILE: %v, want an error", c.env, c.env, err)
			}
			if got := config.UnknownEnv([]string{c.env + "_FILE=" + p}); len(got) != 0 {
				t.Fatalf("UnknownEnv flags %s_FILE: %v", c.env, got)
			}
		})
	}
	_, err := config.Load(config.Options{Environ: []string{"SERVO_ADMIN_KEY_FILE=" + filepath.Join(dir, "missing")}})
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "SERVO_ADMIN_KEY_FILE") {
		t.Fatalf("missing secret file: %v", err)
	}
	_, err = config.Load(config.Options{Environ: []string{"SERVO_ADMIN_KEY_FILE=" + secret("empty", "\n")}})
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty secret file: %v", err)
	}
	// A non-secret key has no _file form.
	if _, err := config.Load(config.Options{File: writeFile(t, "log:\n  level_file: /etc/hostname\n"), Environ: []string{}}); !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("log.level_file: %v, want unknown key", err)
	}
}

// TestDefaultLimitsLeaveRoomForOthers checks the defaults that keep one
// tenant from starving the others: its running steps stay below one worker
// process's slots, and its expensive requests below the whole pool.
func TestDefaultLimitsLeaveRoomForOthers(t *testing.T) {
	t.Parallel()
	c, err := config.Load(config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Runtime.MaxRunningPerTenant >= c.Runtime.Workers {
		t.Errorf("runtime.max_running_per_tenant %d is not below runtime.workers %d", c.Runtime.MaxRunningPerTenant, c.Runtime.Workers)
	}
	if n := c.TenantInflight(); n < 1 || n >= c.Database.MaxOpenConns {
		t.Errorf("one tenant may hold %d of %d pooled connections on the expensive routes", n, c.Database.MaxOpenConns)
	}
	for _, tc := range []struct{ conns, share, want int }{{5, 40, 2}, {1, 40, 1}, {20, 40, 8}, {10, 100, 10}, {3, 1, 1}} {
		c.Database.MaxOpenConns, c.HTTP.TenantPoolShare = tc.conns, tc.share
		if got := c.TenantInflight(); got != tc.want {
			t.Errorf("%d conns at %d%%: %d requests, want %d", tc.conns, tc.share, got, tc.want)
		}
	}
}
