package main

// The checks below stand in for a container engine and a cluster: each one
// reads the deployment files of deployments/, parsed by internal/deploycheck,
// and reports what would break a deploy. They live here, beside the cobra
// tree, so that subcommands and flags are checked against the real command
// line. TestDeploymentFiles runs them on the files as they are;
// TestDeploymentChecksCatch
// breaks the files in memory, one mistake at a time, and requires the check
// meant to catch that mistake to report it, so that no check can pass
// vacuously.

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/servo-data/servo/internal/config"
	"github.com/servo-data/servo/internal/deploycheck"
	"github.com/servo-data/servo/internal/transport/api"
)

// imageRepo is the image every Servo container runs.
const imageRepo = "ghcr.io/servo-data/servo"

// The health endpoints: /healthz answers while the process runs and never
// touches the database; /readyz answers 503 while the database does not
// answer or the server drains (internal/transport/api/health.go).
const (
	livenessPath  = "/healthz"
	readinessPath = "/readyz"
)

// serverPingTimeout is how long /readyz waits for the database: the default
// of api.Config.PingTimeout, which serve does not change.
const serverPingTimeout = 2 * time.Second

// servoCommands is the command line of the real servo binary, read from
// its cobra tree.
var servoCommands = sync.OnceValue(func() deploycheck.CommandLine {
	return deploycheck.CommandLineOf(newRootCmd(&app{stdout: io.Discard, stderr: io.Discard}))
})

// parseInvocation parses the arguments after the servo binary against the
// real command tree.
func parseInvocation(args []string) (deploycheck.Invocation, error) {
	return servoCommands().Parse(args)
}

// httpCommands are the commands that serve HTTP on http.addr.
var httpCommands = map[string]bool{"serve": true}

// servesHTTP reports whether the deploycheck.Invocation serves HTTP on http.addr.
func servesHTTP(inv deploycheck.Invocation) bool { return httpCommands[inv.Cmd] }

// bundle is every deployment file, parsed, with the views the checks take
// of it.
type bundle struct{ *deploycheck.Bundle }

// parseBundle parses the files deploycheck.ReadTree returned.
func parseBundle(files map[string]string) (*bundle, error) {
	b, err := deploycheck.ParseBundle(files)
	return &bundle{b}, err
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Paths of the files the checks read, relative to the repository root.
const (
	dockerfilePath    = deploycheck.DockerfilePath
	composePath       = deploycheck.ComposePath
	k8sDir            = deploycheck.K8sDir
	kustomizationPath = deploycheck.KustomizationPath
	systemdDir        = deploycheck.SystemdDir
	secretExamplePath = "deployments/k8s/secret.example.yaml"
	scalingDocPath    = "docs/scaling.md"
)

// appliedSeparately lists the Kubernetes files that kustomization.yaml leaves
// out on purpose, with the reason.
var appliedSeparately = map[string]string{
	"migrate-job.yaml":    "the migration Job runs, and completes, before the rollout",
	"secret.example.yaml": "an example; the real Secret comes from the secret store",
}

// exampleConfigs are the annotated configuration files of configs/.
var exampleConfigs = []string{"configs/servo.development.yaml", "configs/servo.production.yaml"}

// docFiles are the operator documents whose variables, metrics and paths
// must exist.
var docFiles = []string{"docs/operations.md", "docs/scaling.md", "deployments/README.md"}

// problems collects what a check found.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// --- what the server really serves ----------------------------------------------

// stubDB stands in for the database: it answers pings and reports pool
// statistics, so that the server registers every route and metric.
type stubDB struct{}

func (stubDB) Ping(context.Context) error { return nil }
func (stubDB) Stats() sql.DBStats         { return sql.DBStats{MaxOpenConnections: 5} }

// serverFacts are the routes and metric families of a real server.
type serverFacts struct {
	routes  map[string]bool   // "GET /healthz"
	metrics map[string]string // family name -> type
}

var facts = sync.OnceValues(func() (*serverFacts, error) {
	srv, err := api.New(api.Config{}, api.Deps{DB: stubDB{}, Pool: stubDB{}, Version: "test"})
	if err != nil {
		return nil, err
	}
	f := &serverFacts{routes: map[string]bool{}, metrics: map[string]string{}}
	for _, r := range srv.Echo().Routes() {
		f.routes[r.Method+" "+r.Path] = true
	}
	// One request first, so that the request metrics have a sample to show.
	srv.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, livenessPath, nil))
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, api.MetricsPath, nil))
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("GET %s = %d", api.MetricsPath, rec.Code)
	}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			if name, typ, ok := strings.Cut(rest, " "); ok {
				f.metrics[name] = typ
			}
		}
	}
	return f, nil
})

// --- views over the bundle -------------------------------------------------------

// workload is a Deployment or a Job.
type workload struct {
	obj      *deploycheck.Object
	template *deploycheck.PodTemplate
	selector map[string]string
}

func (w workload) ref() string { return w.obj.Ref() }

func (b *bundle) workloads() []workload {
	var out []workload
	for i := range b.Objects {
		o := &b.Objects[i]
		switch {
		case o.Deployment != nil:
			out = append(out, workload{obj: o, template: &o.Deployment.Template, selector: o.Deployment.Selector.MatchLabels})
		case o.Job != nil:
			out = append(out, workload{obj: o, template: &o.Job.Template, selector: o.Job.Selector.MatchLabels})
		}
	}
	return out
}

// object returns the object of that kind and name, or nil.
func (b *bundle) object(kind, name string) *deploycheck.Object {
	for i := range b.Objects {
		if b.Objects[i].Kind == kind && b.Objects[i].Metadata.Name == name {
			return &b.Objects[i]
		}
	}
	return nil
}

// kubeContainer is a container of a workload, with what it runs and the
// environment it gets.
type kubeContainer struct {
	w      workload
	c      *deploycheck.Container
	inv    deploycheck.Invocation
	invErr error
	env    map[string]string // name -> value (Secrets from secret.example.yaml)
	source map[string]string // name -> where the value comes from
}

func (k kubeContainer) ref() string { return fmt.Sprintf("%s container %s", k.w.ref(), k.c.Name) }

func (b *bundle) kubeContainers() []kubeContainer {
	var out []kubeContainer
	for _, w := range b.workloads() {
		for i := range w.template.Spec.Containers {
			c := &w.template.Spec.Containers[i]
			k := kubeContainer{w: w, c: c}
			args, err := b.kubeArgs(c)
			if err == nil {
				k.inv, err = parseInvocation(args)
			}
			k.invErr = err
			k.env, k.source = b.kubeEnv(c)
			out = append(out, k)
		}
	}
	return out
}

// kubeArgs returns the arguments the servo binary gets in a container.
func (b *bundle) kubeArgs(c *deploycheck.Container) ([]string, error) {
	if len(c.Command) > 0 {
		if c.Command[0] != "/servo" {
			return nil, fmt.Errorf("command %v replaces the image's entrypoint /servo", c.Command)
		}
		return append(slices.Clone(c.Command[1:]), c.Args...), nil
	}
	if len(c.Args) > 0 {
		return c.Args, nil
	}
	return b.imageCmd()
}

// imageCmd returns the image's default arguments (CMD).
func (b *bundle) imageCmd() ([]string, error) {
	in, ok := b.Docker.Final().Last("CMD")
	if !ok {
		return nil, fmt.Errorf("no arguments and the image has no CMD")
	}
	args, ok := deploycheck.ExecForm(in.Args)
	if !ok {
		return nil, fmt.Errorf("image CMD %s is not in exec form", in.Args)
	}
	return args, nil
}

// kubeEnv resolves a container's environment the way the kubelet does:
// envFrom first, env after it. Secret values come from secret.example.yaml.
func (b *bundle) kubeEnv(c *deploycheck.Container) (map[string]string, map[string]string) {
	env, source := map[string]string{}, map[string]string{}
	for _, ef := range c.EnvFrom {
		for _, r := range []struct {
			kind string
			ref  *deploycheck.NameRef
		}{{"ConfigMap", ef.ConfigMapRef}, {"Secret", ef.SecretRef}} {
			if r.ref == nil {
				continue
			}
			if o := b.object(r.kind, r.ref.Name); o != nil {
				for k, v := range o.Data {
					env[ef.Prefix+k], source[ef.Prefix+k] = v, r.kind+" "+r.ref.Name
				}
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.Value != nil:
			env[e.Name], source[e.Name] = string(*e.Value), "literal"
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			r := e.ValueFrom.SecretKeyRef
			source[e.Name] = "Secret " + r.Name + "/" + r.Key
			env[e.Name] = ""
			if o := b.object("Secret", r.Name); o != nil {
				env[e.Name] = o.Data[r.Key]
			}
		case e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil:
			r := e.ValueFrom.ConfigMapKeyRef
			source[e.Name] = "ConfigMap " + r.Name + "/" + r.Key
			env[e.Name] = ""
			if o := b.object("ConfigMap", r.Name); o != nil {
				env[e.Name] = o.Data[r.Key]
			}
		default:
			env[e.Name], source[e.Name] = "", "field"
		}
	}
	return env, source
}

// servoService is a compose service that runs the Servo image.
type servoService struct {
	name   string
	s      deploycheck.ComposeService
	inv    deploycheck.Invocation
	invErr error
	env    map[string]string
}

// interpolation matches ${VAR}, ${VAR:-default} and ${VAR-default}.
var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}`)

// interpolate expands compose variables with an empty shell environment.
func interpolate(s string) string {
	return interpolation.ReplaceAllString(s, "$2")
}

// servoServices returns the compose services that run the Servo image.
func (b *bundle) servoServices() []servoService {
	var out []servoService
	for _, name := range sortedKeys(b.Compose.Services) {
		s := b.Compose.Services[name]
		if repoOf(s.Image) != imageRepo && s.Build == nil {
			continue
		}
		ss := servoService{name: name, s: s, env: map[string]string{}}
		for k, v := range s.Environment {
			ss.env[k] = interpolate(v)
		}
		args := s.Command
		var err error
		switch {
		case len(s.Entrypoint) > 0 && !slices.Equal(s.Entrypoint, []string{"/servo"}):
			err = fmt.Errorf("entrypoint %v replaces the image's /servo", s.Entrypoint)
		case len(args) == 0:
			args, err = b.imageCmd()
		}
		if err == nil {
			ss.inv, err = parseInvocation(args)
		}
		ss.invErr = err
		out = append(out, ss)
	}
	return out
}

// servoUnit is a systemd unit that runs servo.
type servoUnit struct {
	name     string
	u        deploycheck.Unit
	inv      deploycheck.Invocation
	invErr   error
	env      map[string]string
	envFiles []string
}

// truthy holds systemd's spellings of a true boolean.
var truthy = map[string]bool{"yes": true, "true": true, "on": true, "1": true}

// servoUnits returns every systemd unit with what it runs and the
// environment its EnvironmentFile= examples and Environment= lines give it.
func (b *bundle) servoUnits() ([]servoUnit, problems) {
	var out []servoUnit
	var p problems
	for _, name := range sortedKeys(b.Units) {
		u := b.Units[name]
		su := servoUnit{name: name, u: u, env: map[string]string{}}
		exec, ok := u.Last("Service", "ExecStart")
		f := strings.Fields(strings.TrimLeft(exec, "-@:+!"))
		switch {
		case !ok || len(f) == 0:
			su.invErr = fmt.Errorf("no ExecStart")
		case path.Base(f[0]) != "servo":
			su.invErr = fmt.Errorf("ExecStart runs %s, not the servo binary", f[0])
		default:
			su.inv, su.invErr = parseInvocation(f[1:])
		}
		for _, ef := range u.Values("Service", "EnvironmentFile") {
			example := path.Base(strings.TrimPrefix(ef, "-")) + ".example"
			su.envFiles = append(su.envFiles, example)
			vars, ok := b.EnvFiles[example]
			if !ok {
				p.add("%s/%s: EnvironmentFile=%s has no example %s/%s", systemdDir, name, ef, systemdDir, example)
			}
			for k, v := range vars {
				su.env[k] = v
			}
		}
		for _, e := range u.Values("Service", "Environment") {
			for _, kv := range strings.Fields(e) {
				k, v, _ := strings.Cut(strings.Trim(kv, `"'`), "=")
				su.env[k] = v
			}
		}
		out = append(out, su)
	}
	return out, p
}

// environ turns a map into KEY=value pairs for config.Load; never nil, so
// that Load does not read the test's own environment.
func environ(env map[string]string) []string {
	out := []string{}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// loadConfig loads Servo's configuration from env alone, as the process would.
func loadConfig(env map[string]string) (*config.Config, error) {
	return config.Load(config.Options{Environ: environ(env)})
}

// listenPort returns the port of an http.addr value.
func listenPort(addr string) (int, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(port)
}

// repoOf strips the tag or digest from an image reference.
func repoOf(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}

// isPostgres reports whether a database URL is PostgreSQL, as the
// repository package decides it.
func isPostgres(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// subset reports whether every label of sel is in labels (an empty selector
// selects nothing here: Servo's selectors are never empty).
func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// parseSystemdDuration parses a systemd time span such as 30s, 1min or 90.
func parseSystemdDuration(s string) (time.Duration, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	for _, r := range []struct{ from, to string }{{"min", "m"}, {"sec", "s"}, {"hour", "h"}} {
		s = strings.ReplaceAll(s, r.from, r.to)
	}
	return time.ParseDuration(s)
}

// parseQuantity turns a Kubernetes quantity into milli-units (cpu) or bytes
// (memory).
func parseQuantity(q string) (float64, error) {
	suffixes := []struct {
		s string
		m float64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"m", 1e-3}}
	mult := 1.0
	for _, s := range suffixes {
		if strings.HasSuffix(q, s.s) {
			q, mult = strings.TrimSuffix(q, s.s), s.m
			break
		}
	}
	v, err := strconv.ParseFloat(q, 64)
	return v * mult, err
}

// --- the checks ---------------------------------------------------------------------

// check is one rule for the deployment files. breaks are edits that violate
// it; each must make run report a problem.
type check struct {
	name   string
	run    func(b *bundle) problems
	breaks []edit
}

// edit replaces every occurrence of old in file with new.
type edit struct {
	file, old, new string
}

var checks = []check{
	{
		name: "probes and scrape paths are GET routes of the server",
		run:  checkProbeRoutes,
		breaks: []edit{
			{"deployments/k8s/api.yaml", "path: /readyz", "path: /ready"},
			{"deployments/k8s/api.yaml", "path: /healthz\n              port: http\n            periodSeconds: 10", "path: /readyz\n              port: http\n            periodSeconds: 10"},
			{"deployments/k8s/api.yaml", "prometheus.io/path: /metrics", "prometheus.io/path: /prometheus"},
			{"deployments/k8s/api.yaml", "          readinessProbe:\n            httpGet:\n              path: /readyz\n              port: http\n", "          readinessProbe:\n            tcpSocket:\n              port: http\n"},
		},
	},
	{
		name: "probes, scrape port and Service target the port the server listens on",
		run:  checkKubePorts,
		breaks: []edit{
			{"deployments/k8s/configmap.yaml", `SERVO_HTTP_ADDR: ":8080"`, `SERVO_HTTP_ADDR: ":9090"`},
			{"deployments/k8s/service.yaml", "targetPort: http", "targetPort: 8081"},
			{"deployments/k8s/api.yaml", `prometheus.io/port: "8080"`, `prometheus.io/port: "9102"`},
			{"deployments/k8s/api.yaml", "containerPort: 8080", "containerPort: 8081"},
		},
	},
	{
		name: "the image and compose publish the port the server listens on",
		run:  checkImagePorts,
		breaks: []edit{
			{"deployments/Dockerfile", "EXPOSE 8080", "EXPOSE 8081"},
			{"deployments/compose.yaml", `"8080:8080"`, `"8080:9000"`},
			{"deployments/compose.yaml", `SERVO_HTTP_ADDR: ":8080"`, `SERVO_HTTP_ADDR: ":8081"`},
		},
	},
	{
		name: "every environment variable is a Servo configuration variable",
		run:  checkEnvNames,
		breaks: []edit{
			{"deployments/k8s/configmap.yaml", "SERVO_LOG_LEVEL:", "SERVO_LOGLEVEL:"},
			{"deployments/compose.yaml", "      SERVO_LOG_LEVEL: info", "      LOG_LEVEL: info"},
			{"deployments/systemd/servo.env.example", "SERVO_HTTP_ADDR=", "SERVO_LISTEN_ADDR="},
			{"deployments/systemd/servo.service", "KillSignal=SIGTERM", "Environment=SERVO_PORT=8080\nKillSignal=SIGTERM"},
			{"docs/operations.md", "SERVO_HTTP_SHUTDOWN_TIMEOUT", "SERVO_SHUTDOWN_TIMEOUT"},
			{"configs/servo.production.yaml", "Env: SERVO_LOG_FORMAT", "Env: SERVO_LOGFORMAT"},
		},
	},
	{
		name: "every container's configuration loads, on PostgreSQL",
		run:  checkConfigLoads,
		breaks: []edit{
			{"deployments/k8s/configmap.yaml", `SERVO_DATABASE_MAX_OPEN_CONNS: "10"`, `SERVO_DATABASE_MAX_OPEN_CONNS: "ten"`},
			{"deployments/k8s/configmap.yaml", `SERVO_HTTP_SHUTDOWN_TIMEOUT: "20s"`, `SERVO_HTTP_SHUTDOWN_TIMEOUT: "20"`},
			{"deployments/k8s/worker.yaml", "            - name: SERVO_DATABASE_URL\n", "            - name: SERVO_DATABASE_URL_UNUSED\n"},
			{"deployments/compose.yaml", "SERVO_DATABASE_URL: postgres://servo_app:servo_app@postgres:5432/servo?sslmode=disable", "SERVO_DATABASE_URL: servo.db"},
			{"deployments/systemd/servo.env.example", "SERVO_LOG_FORMAT=json", "SERVO_LOG_FORMAT=text"},
			{"deployments/systemd/migrate.env.example", "SERVO_MIGRATE_DATABASE_URL=postgres://", "SERVO_MIGRATE_DATABASE_URL=/var/lib/servo/"},
		},
	},
	{
		name: "containers run as a non-root user, read-only, without capabilities",
		run:  checkNonRoot,
		breaks: []edit{
			{"deployments/Dockerfile", "USER 65532:65532", "USER root"},
			{"deployments/Dockerfile", "USER 65532:65532", "USER 0:0"},
			{"deployments/k8s/api.yaml", "runAsNonRoot: true", "runAsNonRoot: false"},
			{"deployments/k8s/worker.yaml", "runAsUser: 65532", "runAsUser: 0"},
			{"deployments/k8s/migrate-job.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"},
			{"deployments/k8s/api.yaml", `drop: ["ALL"]`, `drop: ["NET_RAW"]`},
			{"deployments/k8s/worker.yaml", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true"},
			{"deployments/compose.yaml", "read_only: true", "read_only: false"},
			{"deployments/systemd/servo.service", "DynamicUser=yes", "DynamicUser=no"},
			{"deployments/systemd/servo-migrate.service", "ProtectSystem=strict", "ProtectSystem=full"},
		},
	},
	{
		name: "migrations run `servo migrate up` as the schema owner before the servers",
		run:  checkMigrations,
		breaks: []edit{
			{"deployments/k8s/migrate-job.yaml", `args: ["migrate", "up"]`, `args: ["migrate", "status"]`},
			{"deployments/k8s/migrate-job.yaml", "- name: SERVO_MIGRATE_DATABASE_URL", "- name: SERVO_DATABASE_URL"},
			{"deployments/k8s/migrate-job.yaml", "restartPolicy: Never", "restartPolicy: Always"},
			{"deployments/compose.yaml", "condition: service_completed_successfully", "condition: service_started"},
			{"deployments/compose.yaml", `command: ["migrate", "up"]`, `command: ["migrate", "down"]`},
			{"deployments/compose.yaml", "condition: service_healthy", "condition: service_started"},
			{"deployments/systemd/servo-migrate.service", "ExecStart=/usr/local/bin/servo migrate up", "ExecStart=/usr/local/bin/servo migrate status"},
			{"deployments/systemd/servo.service", "ExecStart=/usr/local/bin/servo serve", "ExecStartPre=/usr/local/bin/servo migrate up\nExecStart=/usr/local/bin/servo serve"},
		},
	},
	{
		name: "servers connect as the application role and never get the owner's URL",
		run:  checkAppRole,
		breaks: []edit{
			{"deployments/k8s/worker.yaml", "key: database-url", "key: migrate-database-url"},
			{"deployments/compose.yaml", "postgres://servo_app:servo_app@", "postgres://postgres:postgres@"},
			{"deployments/compose/init-roles.sql", "CREATE ROLE servo_app LOGIN", "CREATE ROLE servo_app SUPERUSER LOGIN"},
			{"deployments/compose/init-roles.sql", "ALTER DATABASE servo OWNER TO servo_owner;", ""},
			{"deployments/systemd/servo.env.example", "SERVO_HTTP_ADDR=", "SERVO_MIGRATE_DATABASE_URL=postgres://servo_owner@db/servo\nSERVO_HTTP_ADDR="},
			{"deployments/k8s/configmap.yaml", "  SERVO_LOG_FORMAT: json\n", "  SERVO_LOG_FORMAT: json\n  SERVO_DATABASE_URL: postgres://servo_app:pw@db/servo\n"},
		},
	},
	{
		name: "containers and units run real servo subcommands",
		run:  checkSubcommands,
		breaks: []edit{
			{"deployments/k8s/worker.yaml", `args: ["worker"]`, `args: ["workers"]`},
			{"deployments/k8s/worker.yaml", `args: ["worker"]`, `args: ["migrate", "status"]`},
			{"deployments/k8s/api.yaml", `"--no-workers"`, `"--no-worker"`},
			{"deployments/Dockerfile", `CMD ["serve"]`, `CMD ["server"]`},
			{"deployments/Dockerfile", `CMD ["serve"]`, `CMD serve`},
			{"deployments/Dockerfile", `ENTRYPOINT ["/servo"]`, `ENTRYPOINT ["/bin/servo"]`},
			{"deployments/compose.yaml", `command: ["serve"]`, `command: ["serve", "--port=8080"]`},
			{"deployments/systemd/servo.service", "ExecStart=/usr/local/bin/servo serve", "ExecStart=/usr/local/bin/servo run"},
		},
	},
	{
		name: "every Servo container runs the same image",
		run:  checkImages,
		breaks: []edit{
			{"deployments/k8s/migrate-job.yaml", "image: ghcr.io/servo-data/servo:dev", "image: ghcr.io/servo-data/servo:v2"},
			{"deployments/compose.yaml", "image: ghcr.io/servo-data/servo:dev", "image: ghcr.io/servo-data/servo-server:dev"},
			{"deployments/k8s/kustomization.yaml", "- name: ghcr.io/servo-data/servo\n", "- name: servo\n"},
			{"deployments/compose.yaml", "dockerfile: deployments/Dockerfile", "dockerfile: Dockerfile"},
		},
	},
	{
		name: "objects are current and every reference resolves",
		run:  checkReferences,
		breaks: []edit{
			{"deployments/k8s/api.yaml", "key: database-url", "key: database_url"},
			{"deployments/k8s/worker.yaml", "name: servo-config", "name: servo-conf"},
			{"deployments/k8s/kustomization.yaml", "- pdb.yaml", "- pdbs.yaml"},
			{"deployments/k8s/kustomization.yaml", "  - worker.yaml\n", ""},
			{"deployments/k8s/service.yaml", "  selector:\n    app.kubernetes.io/name: servo\n    app.kubernetes.io/component: api", "  selector:\n    app.kubernetes.io/name: servo\n    app.kubernetes.io/component: web"},
			{"deployments/k8s/api.yaml", "  selector:\n    matchLabels:\n      app.kubernetes.io/name: servo\n      app.kubernetes.io/component: api", "  selector:\n    matchLabels:\n      app.kubernetes.io/name: servo\n      app.kubernetes.io/component: apis"},
			{"deployments/k8s/pdb.yaml", "apiVersion: policy/v1\n", "apiVersion: policy/v1beta1\n"},
			{"deployments/k8s/migrate-job.yaml", "namespace: servo", "namespace: servo-prod"},
			{"deployments/k8s/worker.yaml", "- name: tmp\n              mountPath", "- name: scratch\n              mountPath"},
			{"deployments/compose.yaml", "./compose/init-roles.sql:", "./compose/init.sql:"},
			{"deployments/systemd/servo.service", "EnvironmentFile=/etc/servo/servo.env", "EnvironmentFile=/etc/servo/server.env"},
		},
	},
	{
		name: "graceful shutdown fits in the stop timeout",
		run:  checkShutdown,
		breaks: []edit{
			{"deployments/k8s/api.yaml", "terminationGracePeriodSeconds: 40", "terminationGracePeriodSeconds: 20"},
			{"deployments/k8s/worker.yaml", "terminationGracePeriodSeconds: 60", "terminationGracePeriodSeconds: 15"},
			{"deployments/k8s/api.yaml", "            preStop:\n              sleep:\n                seconds: 5", "            preStop:\n              sleep:\n                seconds: 0"},
			{"deployments/compose.yaml", "stop_grace_period: 30s", "stop_grace_period: 10s"},
			{"deployments/systemd/servo.service", "TimeoutStopSec=30s", "TimeoutStopSec=10s"},
		},
	},
	{
		name: "probe timing leaves room for the server's own waits",
		run:  checkProbeTiming,
		breaks: []edit{
			{"deployments/k8s/api.yaml", "periodSeconds: 5\n            timeoutSeconds: 3", "periodSeconds: 5\n            timeoutSeconds: 1"},
			{"deployments/k8s/api.yaml", "failureThreshold: 45", "failureThreshold: 10"},
		},
	},
	{
		name: "containers request and bound their resources",
		run:  checkResources,
		breaks: []edit{
			{"deployments/k8s/api.yaml", "memory: 128Mi", "memory: 1Gi"},
			{"deployments/k8s/worker.yaml", "              memory: 1Gi\n", ""},
		},
	},
	{
		name: "the image is a static, versioned build on a small base",
		run:  checkDockerBuild,
		breaks: []edit{
			{"deployments/Dockerfile", "CGO_ENABLED=0", "CGO_ENABLED=1"},
			{"deployments/Dockerfile", "FROM golang:1.26 AS build", "FROM golang:1.25 AS build"},
			{"deployments/Dockerfile", "-X main.version=", "-X main.Version="},
			{"deployments/Dockerfile", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM debian:12"},
			{"deployments/Dockerfile", "COPY --from=build /out/servo /servo", "COPY --from=build /out/servo-bin /servo"},
		},
	},
	{
		name: "example configurations load and document every key once",
		run:  checkExampleConfigs,
		breaks: []edit{
			{"configs/servo.development.yaml", "  addr:", "  address:"},
			{"configs/servo.production.yaml", `admin_key: ""`, `admin_key: "0123456789abcdef0123456789abcdef"`},
			{"configs/servo.production.yaml", "  # Env: SERVO_LOG_LEVEL\n", ""},
			{"configs/servo.development.yaml", "format: console", "format: json"},
		},
	},
	{
		name: "documents name real metrics and files",
		run:  checkDocs,
		breaks: []edit{
			{"docs/operations.md", "servo_http_requests_total", "servo_http_request_total"},
			{"docs/operations.md", "servo_db_wait_count_total", "servo_db_waits_total"},
			{"docs/operations.md", "deployments/k8s/migrate-job.yaml", "deployments/k8s/migration-job.yaml"},
		},
	},
	{
		name: "docs/scaling.md lists every key of a tenant table that lacks tenant_id",
		run:  checkShardingInventory,
		breaks: []edit{
			{scalingDocPath, "`assets_pkey`", "`assets_pk`"},
			{scalingDocPath, "`asset_dependencies_edge_key`", "the edge key"},
			{"migrations/postgres/0001_core.up.sql", "CREATE INDEX executions_list_idx", "CREATE UNIQUE INDEX executions_name_key ON executions (workflow_id);\nCREATE INDEX executions_list_idx"},
		},
	},
}

// checkProbeRoutes: every HTTP probe and scrape path is a GET route; API
// containers have a liveness probe on /healthz and a readiness probe on
// /readyz.
func checkProbeRoutes(b *bundle) problems {
	var p problems
	f, err := facts()
	if err != nil {
		p.add("build the server: %v", err)
		return p
	}
	servers := 0
	for _, k := range b.kubeContainers() {
		for _, np := range k.c.Probes() {
			if g := np.Probe.HTTPGet; g != nil && !f.routes["GET "+g.Path] {
				p.add("%s: %s probe GET %s: the server has no such route", k.ref(), np.Kind, g.Path)
			}
		}
		if k.invErr != nil || !servesHTTP(k.inv) {
			continue
		}
		servers++
		switch lp := k.c.LivenessProbe; {
		case lp == nil || lp.HTTPGet == nil:
			p.add("%s: no HTTP liveness probe: a hung server is never restarted", k.ref())
		case lp.HTTPGet.Path != livenessPath:
			p.add("%s: liveness probe GET %s; use %s, which does not touch the database, or a database outage restarts every pod", k.ref(), lp.HTTPGet.Path, livenessPath)
		}
		switch rp := k.c.ReadinessProbe; {
		case rp == nil || rp.HTTPGet == nil:
			p.add("%s: no HTTP readiness probe: traffic reaches pods that cannot serve", k.ref())
		case rp.HTTPGet.Path != readinessPath:
			p.add("%s: readiness probe GET %s; use %s, which fails while the database is down or the server drains", k.ref(), rp.HTTPGet.Path, readinessPath)
		}
	}
	if servers == 0 {
		p.add("no Kubernetes container runs `servo serve`")
	}
	for _, w := range b.workloads() {
		if sp := w.template.Metadata.Annotations["prometheus.io/path"]; sp != "" && !f.routes["GET "+sp] {
			p.add("%s: prometheus.io/path %s is not a GET route of the server", w.ref(), sp)
		}
	}
	return p
}

// checkKubePorts: probe ports, the scrape port and every Service's
// targetPort resolve to the container port the server listens on.
func checkKubePorts(b *bundle) problems {
	var p problems
	listen := map[*deploycheck.Container]int{}
	for _, k := range b.kubeContainers() {
		if k.invErr != nil || !servesHTTP(k.inv) {
			continue
		}
		cfg, err := loadConfig(k.env)
		if err != nil {
			p.add("%s: configuration does not load: %v", k.ref(), err)
			continue
		}
		port, err := listenPort(cfg.HTTP.Addr)
		if err != nil {
			p.add("%s: http.addr %q: %v", k.ref(), cfg.HTTP.Addr, err)
			continue
		}
		listen[k.c] = port
		if _, declared := k.c.ContainerPort(deploycheck.IntOrString{IntVal: port, IsInt: true}); !declared {
			p.add("%s: the server listens on %d (SERVO_HTTP_ADDR %q) but the container declares no such port", k.ref(), port, cfg.HTTP.Addr)
		}
		for _, np := range k.c.Probes() {
			if g := np.Probe.HTTPGet; g != nil {
				got, ok := k.c.ContainerPort(g.Port)
				switch {
				case !ok && !g.Port.IsInt:
					p.add("%s: %s probe port %q names no container port", k.ref(), np.Kind, g.Port)
				case got != port:
					p.add("%s: %s probe on port %d, but the server listens on %d", k.ref(), np.Kind, got, port)
				}
			}
		}
		if sp := k.w.template.Metadata.Annotations["prometheus.io/port"]; sp != "" && sp != strconv.Itoa(port) {
			p.add("%s: prometheus.io/port %s, but the server listens on %d", k.ref(), sp, port)
		}
	}
	for _, o := range b.Objects {
		if o.Service == nil {
			continue
		}
		selected := 0
		for _, k := range b.kubeContainers() {
			if !subset(o.Service.Selector, k.w.template.Metadata.Labels) {
				continue
			}
			selected++
			port, serves := listen[k.c]
			if !serves {
				p.add("%s selects %s, which serves no HTTP", o.Ref(), k.ref())
				continue
			}
			for _, sp := range o.Service.Ports {
				if got, ok := k.c.ContainerPort(sp.TargetPort); !ok && !sp.TargetPort.IsInt {
					p.add("%s: targetPort %q names no port of %s", o.Ref(), sp.TargetPort, k.ref())
				} else if got != port {
					p.add("%s: targetPort %s is port %d, but %s listens on %d", o.Ref(), sp.TargetPort, got, k.ref(), port)
				}
			}
		}
		if selected == 0 {
			p.add("%s selects no pod", o.Ref())
		}
	}
	return p
}

// checkImagePorts: the Dockerfile EXPOSEs the default listen port and the
// compose services that serve HTTP publish theirs.
func checkImagePorts(b *bundle) problems {
	var p problems
	env := map[string]string{}
	for _, in := range b.Docker.Final().All("ENV") {
		if k, v, ok := strings.Cut(in.Args, "="); ok {
			env[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
		} else if f := strings.Fields(in.Args); len(f) == 2 {
			env[f[0]] = f[1]
		}
	}
	cfg, err := loadConfig(env)
	if err != nil {
		p.add("%s: the image's configuration does not load: %v", dockerfilePath, err)
		return p
	}
	port, _ := listenPort(cfg.HTTP.Addr)
	var exposed []int
	for _, in := range b.Docker.Final().All("EXPOSE") {
		for _, f := range strings.Fields(in.Args) {
			n, _ := strconv.Atoi(strings.TrimSuffix(f, "/tcp"))
			exposed = append(exposed, n)
		}
	}
	if !slices.Contains(exposed, port) {
		p.add("%s: EXPOSE %v, but the server listens on %d by default", dockerfilePath, exposed, port)
	}
	for _, s := range b.servoServices() {
		if s.invErr != nil || !servesHTTP(s.inv) {
			continue
		}
		cfg, err := loadConfig(s.env)
		if err != nil {
			p.add("%s service %s: configuration does not load: %v", composePath, s.name, err)
			continue
		}
		port, _ := listenPort(cfg.HTTP.Addr)
		var published []int
		for _, mapping := range s.s.Ports {
			parts := strings.Split(strings.TrimSuffix(mapping, "/tcp"), ":")
			n, _ := strconv.Atoi(parts[len(parts)-1])
			published = append(published, n)
		}
		if !slices.Contains(published, port) {
			p.add("%s service %s: publishes container ports %v, but the server listens on %d", composePath, s.name, published, port)
		}
	}
	return p
}

// servoVar matches a SERVO_* variable name in text.
var servoVar = regexp.MustCompile(`\bSERVO_[A-Z0-9_]*[A-Z0-9]\b`)

// checkEnvNames: every SERVO_* name in the deployment files, example
// configurations and operator documents, and every variable given to a
// Servo process, is one Servo reads.
func checkEnvNames(b *bundle) problems {
	var p problems
	known := map[string]bool{}
	for _, n := range config.EnvNames() {
		known[n] = true
	}
	for _, name := range sortedKeys(b.Files) {
		mine := strings.HasPrefix(name, "deployments/") || strings.HasPrefix(name, "configs/") || slices.Contains(docFiles, name)
		if !mine || strings.HasSuffix(name, ".go") {
			continue
		}
		seen := map[string]bool{}
		for _, v := range servoVar.FindAllString(b.Files[name], -1) {
			if !known[v] && !seen[v] {
				seen[v] = true
				p.add("%s names %s, which is not a Servo configuration variable", name, v)
			}
		}
	}
	given := func(where string, env map[string]string) {
		for _, k := range sortedKeys(env) {
			if !known[k] {
				p.add("%s sets %s, which Servo does not read (known: %s)", where, k, strings.Join(config.EnvNames(), ", "))
			}
		}
	}
	for _, k := range b.kubeContainers() {
		given(k.ref(), k.env)
	}
	for _, s := range b.servoServices() {
		given(composePath+" service "+s.name, s.env)
	}
	units, up := b.servoUnits()
	p = append(p, up...)
	for _, u := range units {
		given(systemdDir+"/"+u.name, u.env)
	}
	return p
}

// checkConfigLoads: every Servo process's configuration loads; servers use
// PostgreSQL and migrators a PostgreSQL migrate URL.
func checkConfigLoads(b *bundle) problems {
	var p problems
	verify := func(where string, inv deploycheck.Invocation, env map[string]string, requirePostgres bool) {
		cfg, err := loadConfig(env)
		if err != nil {
			p.add("%s: configuration does not load: %v", where, err)
			return
		}
		switch {
		case inv.Cmd == "migrate" && !isPostgres(cfg.Database.MigrateURL):
			p.add("%s: migrates %q, not a PostgreSQL database: set SERVO_MIGRATE_DATABASE_URL", where, cfg.Database.MigrateURL)
		case inv.Cmd != "migrate" && requirePostgres && !isPostgres(cfg.Database.URL):
			p.add("%s: serves from the SQLite file %q: each process would have a database of its own; set SERVO_DATABASE_URL", where, cfg.Database.URL)
		}
	}
	for _, k := range b.kubeContainers() {
		if k.invErr == nil {
			verify(k.ref(), k.inv, k.env, true)
		}
	}
	for _, s := range b.servoServices() {
		if s.invErr == nil {
			verify(composePath+" service "+s.name, s.inv, s.env, true)
		}
	}
	units, up := b.servoUnits()
	p = append(p, up...)
	for _, u := range units {
		if u.invErr == nil {
			// One machine could serve from SQLite, but the example is for PostgreSQL.
			verify(systemdDir+"/"+u.name, u.inv, u.env, true)
		}
	}
	return p
}

// numericNonRoot reports whether a USER value is a numeric, non-zero uid
// with, if given, a numeric non-zero gid.
func numericNonRoot(user string) bool {
	for _, id := range strings.Split(user, ":") {
		n, err := strconv.Atoi(id)
		if err != nil || n == 0 {
			return false
		}
	}
	return user != ""
}

// checkNonRoot: the image's user is numeric and not root; pods run as non-root
// with a read-only root filesystem, no privilege escalation and no
// capabilities; compose and systemd confine the process likewise.
func checkNonRoot(b *bundle) problems {
	var p problems
	if in, ok := b.Docker.Final().Last("USER"); !ok {
		p.add("%s: the final stage has no USER: the container runs as root", dockerfilePath)
	} else if !numericNonRoot(in.Args) {
		p.add("%s:%d: USER %s: use a numeric, non-zero uid:gid, so that Kubernetes can verify runAsNonRoot", dockerfilePath, in.Line, in.Args)
	}
	for _, k := range b.kubeContainers() {
		pod := k.w.template.Spec.SecurityContext
		if pod == nil {
			pod = &deploycheck.PodSecurityContext{}
		}
		sc := k.c.SecurityContext
		if sc == nil {
			sc = &deploycheck.ContainerSecurityContext{}
		}
		nonRoot := sc.RunAsNonRoot
		if nonRoot == nil {
			nonRoot = pod.RunAsNonRoot
		}
		if nonRoot == nil || !*nonRoot {
			p.add("%s: runAsNonRoot is not true", k.ref())
		}
		uid := sc.RunAsUser
		if uid == nil {
			uid = pod.RunAsUser
		}
		if uid == nil || *uid == 0 {
			p.add("%s: runAsUser must be set and non-zero", k.ref())
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			p.add("%s: allowPrivilegeEscalation must be false", k.ref())
		}
		if sc.Privileged != nil && *sc.Privileged {
			p.add("%s: privileged", k.ref())
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			p.add("%s: readOnlyRootFilesystem must be true", k.ref())
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			p.add("%s: capabilities must drop ALL and add none", k.ref())
		}
	}
	for _, s := range b.servoServices() {
		where := composePath + " service " + s.name
		if !s.s.ReadOnly {
			p.add("%s: read_only must be true", where)
		}
		if !slices.Contains(s.s.CapDrop, "ALL") || len(s.s.CapAdd) > 0 {
			p.add("%s: cap_drop must hold ALL and cap_add nothing", where)
		}
		if !slices.ContainsFunc(s.s.SecurityOpt, func(o string) bool { return strings.HasPrefix(o, "no-new-privileges") }) {
			p.add("%s: security_opt lacks no-new-privileges", where)
		}
		if s.s.User != "" && !numericNonRoot(s.s.User) {
			p.add("%s: user %q is root or not numeric", where, s.s.User)
		}
	}
	units, _ := b.servoUnits()
	for _, u := range units {
		where := systemdDir + "/" + u.name
		dyn, _ := u.u.Last("Service", "DynamicUser")
		user, hasUser := u.u.Last("Service", "User")
		if !truthy[strings.ToLower(dyn)] && (!hasUser || user == "root" || user == "0") {
			p.add("%s: runs as root: set DynamicUser=yes or a User= other than root", where)
		}
		if v, _ := u.u.Last("Service", "NoNewPrivileges"); !truthy[strings.ToLower(v)] {
			p.add("%s: NoNewPrivileges=yes is missing", where)
		}
		if v, _ := u.u.Last("Service", "ProtectSystem"); v != "strict" {
			p.add("%s: ProtectSystem=%s, want strict", where, v)
		}
	}
	return p
}

// checkMigrations: a Kubernetes Job, a compose service and a systemd unit
// run `servo migrate up` with the migrator URL, and the servers start after
// it, never running it themselves.
func checkMigrations(b *bundle) problems {
	var p problems
	jobs := 0
	for _, k := range b.kubeContainers() {
		if k.invErr != nil || k.inv.Cmd != "migrate" {
			continue
		}
		jobs++
		if k.w.obj.Kind != "Job" {
			p.add("%s: migrations belong in a Job, not a %s that restarts them forever", k.ref(), k.w.obj.Kind)
		}
		if k.inv.Sub != "up" {
			p.add("%s: runs `%s`, want `servo migrate up`", k.ref(), k.inv)
		}
		if src := k.source["SERVO_MIGRATE_DATABASE_URL"]; !strings.HasPrefix(src, "Secret ") {
			p.add("%s: SERVO_MIGRATE_DATABASE_URL must come from a Secret (got %q)", k.ref(), src)
		}
		if rp := k.w.template.Spec.RestartPolicy; rp != "Never" && rp != "OnFailure" {
			p.add("%s: restartPolicy %q: a Job needs Never or OnFailure", k.ref(), rp)
		}
	}
	if jobs == 0 {
		p.add("no Kubernetes Job runs `servo migrate up`")
	}

	migrators := map[string]bool{}
	for _, s := range b.servoServices() {
		if s.invErr != nil || s.inv.Cmd != "migrate" {
			continue
		}
		migrators[s.name] = true
		where := composePath + " service " + s.name
		if s.inv.Sub != "up" {
			p.add("%s: runs `%s`, want `servo migrate up`", where, s.inv)
		}
		if s.env["SERVO_MIGRATE_DATABASE_URL"] == "" {
			p.add("%s: SERVO_MIGRATE_DATABASE_URL is not set", where)
		}
		healthy := false
		for dep, d := range s.s.DependsOn {
			if db, ok := b.Compose.Services[dep]; ok && db.Healthcheck != nil && d.Condition == "service_healthy" {
				healthy = true
			}
		}
		if !healthy {
			p.add("%s: must depend on the database with condition service_healthy (and the database needs a healthcheck)", where)
		}
	}
	if len(migrators) == 0 {
		p.add("%s: no service runs `servo migrate up`", composePath)
	}
	for _, s := range b.servoServices() {
		if s.invErr != nil || s.inv.Cmd == "migrate" {
			continue
		}
		ok := false
		for dep, d := range s.s.DependsOn {
			if migrators[dep] && d.Condition == "service_completed_successfully" {
				ok = true
			}
		}
		if !ok {
			p.add("%s service %s: must depend on the migration service with condition service_completed_successfully", composePath, s.name)
		}
	}

	units, _ := b.servoUnits()
	found := false
	for _, u := range units {
		where := systemdDir + "/" + u.name
		for _, key := range []string{"ExecStartPre", "ExecStartPost", "ExecStopPost"} {
			for _, v := range u.u.Values("Service", key) {
				if strings.Contains(v, " migrate") {
					p.add("%s: %s=%s: migrating on every start races other nodes and puts the owner's credentials on every node; run the migration unit once per release", where, key, v)
				}
			}
		}
		if u.invErr != nil || u.inv.Cmd != "migrate" {
			continue
		}
		found = true
		if u.inv.Sub != "up" {
			p.add("%s: runs `%s`, want `servo migrate up`", where, u.inv)
		}
		if t, _ := u.u.Last("Service", "Type"); t != "oneshot" {
			p.add("%s: Type=%s, want oneshot", where, t)
		}
		if u.env["SERVO_MIGRATE_DATABASE_URL"] == "" {
			p.add("%s: none of its environment files (%v) sets SERVO_MIGRATE_DATABASE_URL", where, u.envFiles)
		}
	}
	if !found {
		p.add("%s: no unit runs `servo migrate up`", systemdDir)
	}
	return p
}

// credentialVars are the variables that hold credentials.
var credentialVars = []string{"SERVO_DATABASE_URL", "SERVO_MIGRATE_DATABASE_URL", "SERVO_ADMIN_KEY", "SERVO_RUNTIME_SIGNING_KEY"}

// roleStatement matches a CREATE ROLE statement of an init script.
var roleStatement = regexp.MustCompile(`(?is)CREATE\s+ROLE\s+(\w+)([^;]*);`)

// loginOption and unsafeRoleOption find the options of a CREATE ROLE that
// give a login, and those that would let the role bypass row-level security
// or inherit another role's privileges.
var (
	loginOption      = regexp.MustCompile(`\bLOGIN\b`)
	unsafeRoleOption = regexp.MustCompile(`\b(NOLOGIN|SUPERUSER|BYPASSRLS|IN\s+ROLE|ROLE)\b`)
)

// checkAppRole: servers connect as the application role, from a Secret,
// and never receive the schema owner's URL; the compose init script gives
// the application role a plain login and the owner the database.
func checkAppRole(b *bundle) problems {
	var p problems
	migrateKeys := map[string]bool{}
	for _, k := range b.kubeContainers() {
		if k.invErr == nil && k.inv.Cmd == "migrate" {
			migrateKeys[k.source["SERVO_MIGRATE_DATABASE_URL"]] = true
		}
	}
	for _, k := range b.kubeContainers() {
		if k.invErr != nil || k.inv.Cmd == "migrate" {
			continue
		}
		if _, ok := k.env["SERVO_MIGRATE_DATABASE_URL"]; ok {
			p.add("%s: a server gets SERVO_MIGRATE_DATABASE_URL, the schema owner's credentials", k.ref())
		}
		src := k.source["SERVO_DATABASE_URL"]
		if !strings.HasPrefix(src, "Secret ") {
			p.add("%s: SERVO_DATABASE_URL holds credentials and must come from a Secret (got %q)", k.ref(), src)
		}
		if migrateKeys[src] {
			p.add("%s: SERVO_DATABASE_URL comes from %s, the migration Job's owner URL", k.ref(), src)
		}
	}

	for _, o := range b.Objects {
		for _, v := range credentialVars {
			if _, ok := o.Data[v]; ok && o.Kind == "ConfigMap" {
				p.add("%s holds %s: credentials belong in a Secret", o.Ref(), v)
			}
		}
	}

	var ownerUser, ownerDB string
	for _, s := range b.servoServices() {
		if s.invErr == nil && s.inv.Cmd == "migrate" {
			if u, err := url.Parse(s.env["SERVO_MIGRATE_DATABASE_URL"]); err == nil {
				ownerUser, ownerDB = u.User.Username(), strings.TrimPrefix(u.Path, "/")
			}
		}
	}
	superusers := map[string]bool{"postgres": true}
	for _, s := range b.Compose.Services {
		if u := s.Environment["POSTGRES_USER"]; u != "" {
			superusers[u] = true
		}
	}
	var initSQL string
	for _, s := range b.Compose.Services {
		for _, v := range s.Volumes {
			if host, target, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(target, "/docker-entrypoint-initdb.d") {
				initSQL += b.Files[path.Join("deployments", host)]
			}
		}
	}
	roles := map[string]string{}
	for _, m := range roleStatement.FindAllStringSubmatch(initSQL, -1) {
		roles[m[1]] = strings.ToUpper(m[2])
	}
	for _, s := range b.servoServices() {
		if s.invErr != nil || s.inv.Cmd == "migrate" {
			continue
		}
		where := composePath + " service " + s.name
		if _, ok := s.env["SERVO_MIGRATE_DATABASE_URL"]; ok {
			p.add("%s: a server gets SERVO_MIGRATE_DATABASE_URL, the schema owner's credentials", where)
		}
		cfg, err := loadConfig(s.env)
		if err != nil {
			continue
		}
		u, err := url.Parse(cfg.Database.URL)
		if err != nil {
			p.add("%s: SERVO_DATABASE_URL: %v", where, err)
			continue
		}
		user := u.User.Username()
		switch {
		case user != cfg.Database.AppRole:
			p.add("%s: connects as %q, not the application role %q", where, user, cfg.Database.AppRole)
		case superusers[user]:
			p.add("%s: connects as the superuser %q: `servo serve` refuses it", where, user)
		case user == ownerUser:
			p.add("%s: connects as the schema owner %q: `servo serve` refuses it", where, user)
		}
		opts, ok := roles[user]
		switch {
		case !ok:
			p.add("%s: the init script does not create %q with a login", where, user)
		case !loginOption.MatchString(opts) || unsafeRoleOption.MatchString(opts):
			p.add("%s: the init script creates %q with %q; it needs LOGIN and nothing that bypasses row-level security", where, user, strings.TrimSpace(opts))
		}
	}
	if ownerUser != "" && !regexp.MustCompile(`(?i)ALTER\s+DATABASE\s+`+regexp.QuoteMeta(ownerDB)+`\s+OWNER\s+TO\s+`+regexp.QuoteMeta(ownerUser)+`\b`).MatchString(initSQL) {
		p.add("%s: the init script does not make %q the owner of database %q, so `servo migrate up` cannot create the schema", composePath, ownerUser, ownerDB)
	}

	units, _ := b.servoUnits()
	for _, u := range units {
		if u.invErr == nil && u.inv.Cmd != "migrate" && u.env["SERVO_MIGRATE_DATABASE_URL"] != "" {
			p.add("%s/%s: a server gets SERVO_MIGRATE_DATABASE_URL from %v; keep it in the migration unit's file", systemdDir, u.name, u.envFiles)
		}
	}
	return p
}

// checkSubcommands: every container, service and unit runs a real servo
// subcommand; the image's entrypoint is the binary; the Service's pods
// serve HTTP; with API nodes started --no-workers, some Deployment runs
// `servo worker`.
func checkSubcommands(b *bundle) problems {
	var p problems
	for _, name := range sortedKeys(httpCommands) {
		if _, ok := servoCommands().Commands[name]; !ok {
			p.add("the checks take `servo %s` to serve HTTP, but servo has no such command", name)
		}
	}
	final := b.Docker.Final()
	if in, ok := final.Last("ENTRYPOINT"); !ok {
		p.add("%s: no ENTRYPOINT", dockerfilePath)
	} else if args, ok := deploycheck.ExecForm(in.Args); !ok || !slices.Equal(args, []string{"/servo"}) {
		p.add("%s:%d: ENTRYPOINT %s, want [\"/servo\"] in exec form (the image has no shell)", dockerfilePath, in.Line, in.Args)
	}
	if args, err := b.imageCmd(); err != nil {
		p.add("%s: %v", dockerfilePath, err)
	} else if _, err := parseInvocation(args); err != nil {
		p.add("%s: CMD: %v", dockerfilePath, err)
	}
	noWorkers, workers := false, false
	for _, k := range b.kubeContainers() {
		if k.invErr != nil {
			p.add("%s: %v", k.ref(), k.invErr)
			continue
		}
		if k.inv.Cmd == "serve" && slices.Contains(k.inv.Flags, "--no-workers") {
			noWorkers = true
		}
		if k.inv.Cmd == "worker" && k.w.obj.Kind == "Deployment" {
			workers = true
		}
	}
	if noWorkers && !workers {
		p.add("API containers run `servo serve --no-workers` but no Deployment runs `servo worker`: runs would never execute")
	}
	for _, s := range b.servoServices() {
		if s.invErr != nil {
			p.add("%s service %s: %v", composePath, s.name, s.invErr)
		}
	}
	units, _ := b.servoUnits()
	for _, u := range units {
		if u.invErr != nil {
			p.add("%s/%s: %v", systemdDir, u.name, u.invErr)
		}
	}
	return p
}

// checkImages: every Kubernetes container runs one image, of the Servo
// repository; compose runs the same repository built from the Dockerfile;
// the kustomization's image override names it.
func checkImages(b *bundle) problems {
	var p problems
	images := map[string][]string{}
	for _, k := range b.kubeContainers() {
		images[k.c.Image] = append(images[k.c.Image], k.ref())
		if repoOf(k.c.Image) != imageRepo {
			p.add("%s: image %q is not %s", k.ref(), k.c.Image, imageRepo)
		}
	}
	if len(images) > 1 {
		p.add("Kubernetes containers run different images (the migration must match the servers): %v", images)
	}
	for _, s := range b.servoServices() {
		where := composePath + " service " + s.name
		if repoOf(s.s.Image) != imageRepo {
			p.add("%s: image %q is not %s", where, s.s.Image, imageRepo)
		}
		if bd := s.s.Build; bd != nil {
			root := path.Clean(path.Join("deployments", bd.Context))
			if root == "." {
				root = ""
			}
			if _, ok := b.Files[path.Join(root, "go.mod")]; !ok {
				p.add("%s: build context %q is not the repository root", where, bd.Context)
			}
			if _, ok := b.Files[path.Join(root, bd.Dockerfile)]; !ok {
				p.add("%s: build dockerfile %q does not exist in the context", where, bd.Dockerfile)
			}
		}
	}
	for _, im := range b.Kustomization.Images {
		if im.Name != imageRepo {
			p.add("%s: images entry %q matches no container image (%s): the override would do nothing", kustomizationPath, im.Name, imageRepo)
		}
	}
	return p
}

// apiVersions are the served API versions of the kinds the manifests use.
var apiVersions = map[string]string{
	"Namespace": "v1", "ConfigMap": "v1", "Secret": "v1", "Service": "v1",
	"Deployment": "apps/v1", "Job": "batch/v1", "PodDisruptionBudget": "policy/v1",
}

// checkReferences: API versions are served; names, keys, files, selectors,
// volumes and namespaces referenced anywhere exist and agree.
func checkReferences(b *bundle) problems {
	var p problems
	namespaces := map[string]bool{}
	for _, o := range b.Objects {
		if want := apiVersions[o.Kind]; o.APIVersion != want {
			p.add("%s: apiVersion %s, want %s", o.Ref(), o.APIVersion, want)
		}
		if o.Kind == "Namespace" {
			namespaces[o.Metadata.Name] = true
		} else {
			namespaces[o.Metadata.Namespace] = true
		}
	}
	if len(namespaces) != 1 || !namespaces[b.Kustomization.Namespace] {
		p.add("objects live in namespaces %v; all of them, and %s, must use one", sortedKeys(namespaces), kustomizationPath)
	}

	listed := map[string]bool{}
	for _, r := range b.Kustomization.Resources {
		listed[r] = true
		if _, ok := b.Files[path.Join(k8sDir, r)]; !ok {
			p.add("%s lists %s, which does not exist", kustomizationPath, r)
		}
	}
	for _, f := range b.K8sFiles {
		if _, separate := appliedSeparately[f]; !listed[f] && !separate {
			p.add("%s/%s is neither in %s nor applied separately: it would never be deployed", k8sDir, f, kustomizationPath)
		}
		if _, separate := appliedSeparately[f]; listed[f] && separate {
			p.add("%s lists %s, which is applied separately (%s)", kustomizationPath, f, appliedSeparately[f])
		}
	}

	for _, k := range b.kubeContainers() {
		for _, ef := range k.c.EnvFrom {
			if ef.ConfigMapRef != nil && b.object("ConfigMap", ef.ConfigMapRef.Name) == nil {
				p.add("%s: envFrom ConfigMap %q does not exist", k.ref(), ef.ConfigMapRef.Name)
			}
		}
		for _, e := range k.c.Env {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				continue
			}
			r := e.ValueFrom.SecretKeyRef
			s := b.object("Secret", r.Name)
			if s == nil {
				p.add("%s: %s refers to Secret %q, which %s does not describe", k.ref(), e.Name, r.Name, secretExamplePath)
			} else if _, ok := s.Data[r.Key]; !ok {
				p.add("%s: %s refers to key %q of Secret %q, which has keys %v", k.ref(), e.Name, r.Key, r.Name, sortedKeys(s.Data))
			}
		}
		volumes := map[string]bool{}
		for _, v := range k.w.template.Spec.Volumes {
			volumes[v.Name] = true
		}
		for _, m := range k.c.VolumeMounts {
			if !volumes[m.Name] {
				p.add("%s: volumeMount %q names no volume of the pod", k.ref(), m.Name)
			}
		}
	}
	for _, w := range b.workloads() {
		if !subset(w.selector, w.template.Metadata.Labels) && w.obj.Kind == "Deployment" {
			p.add("%s: selector %v does not match the pod labels %v: the API server refuses it", w.ref(), w.selector, w.template.Metadata.Labels)
		}
		for _, t := range w.template.Spec.TopologySpreadConstraints {
			if !subset(t.LabelSelector.MatchLabels, w.template.Metadata.Labels) {
				p.add("%s: topologySpreadConstraints selector %v does not match its own pods", w.ref(), t.LabelSelector.MatchLabels)
			}
		}
	}
	for _, o := range b.Objects {
		var sel map[string]string
		switch {
		case o.Service != nil:
			sel = o.Service.Selector
		case o.PDB != nil:
			sel = o.PDB.Selector.MatchLabels
		default:
			continue
		}
		matched := false
		for _, w := range b.workloads() {
			if w.obj.Kind == "Deployment" && subset(sel, w.template.Metadata.Labels) {
				matched = true
			}
		}
		if !matched {
			p.add("%s: selector %v matches no Deployment's pods", o.Ref(), sel)
		}
	}

	for _, name := range sortedKeys(b.Compose.Services) {
		s := b.Compose.Services[name]
		for dep := range s.DependsOn {
			if _, ok := b.Compose.Services[dep]; !ok {
				p.add("%s service %s: depends on unknown service %q", composePath, name, dep)
			}
		}
		for _, v := range s.Volumes {
			host, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(host, ".") || strings.HasPrefix(host, "/") {
				if _, ok := b.Files[path.Join("deployments", host)]; !ok {
					p.add("%s service %s: bind mount %s does not exist", composePath, name, host)
				}
			} else if _, ok := b.Compose.Volumes[host]; !ok {
				p.add("%s service %s: volume %q is not declared under volumes:", composePath, name, host)
			}
		}
	}
	for key := range b.Compose.Extensions {
		if !strings.HasPrefix(key, "x-") {
			p.add("%s: unknown top-level key %q", composePath, key)
		}
	}
	_, up := b.servoUnits()
	p = append(p, up...)
	return p
}

// checkShutdown: the orchestrator waits longer than the server drains.
func checkShutdown(b *bundle) problems {
	var p problems
	for _, k := range b.kubeContainers() {
		// Workers also drain for http.shutdown_timeout: running steps get that
		// long to finish before they are handed back.
		if k.invErr != nil || (k.inv.Cmd != "serve" && k.inv.Cmd != "worker") {
			continue
		}
		cfg, err := loadConfig(k.env)
		if err != nil {
			continue
		}
		grace := 30 * time.Second
		if g := k.w.template.Spec.TerminationGracePeriodSeconds; g != nil {
			grace = time.Duration(*g) * time.Second
		}
		sleep := time.Duration(k.c.PreStopSleep()) * time.Second
		if need := sleep + cfg.HTTP.ShutdownTimeout; grace <= need {
			p.add("%s: terminationGracePeriodSeconds %s is not more than the preStop sleep %s + SERVO_HTTP_SHUTDOWN_TIMEOUT %s: requests still draining are killed", k.ref(), grace, sleep, cfg.HTTP.ShutdownTimeout)
		}
		behindService := false
		for _, o := range b.Objects {
			if o.Service != nil && subset(o.Service.Selector, k.w.template.Metadata.Labels) {
				behindService = true
			}
		}
		if behindService && sleep <= 0 {
			p.add("%s: no preStop sleep: the server stops accepting connections before every proxy has dropped the pod, and those requests fail", k.ref())
		}
	}
	for _, s := range b.servoServices() {
		if s.invErr != nil || !servesHTTP(s.inv) {
			continue
		}
		cfg, err := loadConfig(s.env)
		if err != nil {
			continue
		}
		grace := 10 * time.Second
		if s.s.StopGracePeriod != "" {
			if grace, err = time.ParseDuration(s.s.StopGracePeriod); err != nil {
				p.add("%s service %s: stop_grace_period: %v", composePath, s.name, err)
				continue
			}
		}
		if grace <= cfg.HTTP.ShutdownTimeout {
			p.add("%s service %s: stop_grace_period %s is not more than SERVO_HTTP_SHUTDOWN_TIMEOUT %s", composePath, s.name, grace, cfg.HTTP.ShutdownTimeout)
		}
	}
	units, _ := b.servoUnits()
	for _, u := range units {
		if u.invErr != nil || !servesHTTP(u.inv) {
			continue
		}
		cfg, err := loadConfig(u.env)
		if err != nil {
			continue
		}
		stop := 90 * time.Second
		if v, ok := u.u.Last("Service", "TimeoutStopSec"); ok {
			if stop, err = parseSystemdDuration(v); err != nil {
				p.add("%s/%s: TimeoutStopSec=%s: %v", systemdDir, u.name, v, err)
				continue
			}
		}
		if stop <= cfg.HTTP.ShutdownTimeout {
			p.add("%s/%s: TimeoutStopSec %s is not more than SERVO_HTTP_SHUTDOWN_TIMEOUT %s", systemdDir, u.name, stop, cfg.HTTP.ShutdownTimeout)
		}
	}
	return p
}

// checkProbeTiming: readiness waits longer than the server's database ping;
// the start-up window covers the database connect timeout.
func checkProbeTiming(b *bundle) problems {
	var p problems
	for _, k := range b.kubeContainers() {
		if k.invErr != nil || !servesHTTP(k.inv) {
			continue
		}
		cfg, err := loadConfig(k.env)
		if err != nil {
			continue
		}
		if rp := k.c.ReadinessProbe; rp != nil {
			if t := time.Duration(rp.Timeout()) * time.Second; t <= serverPingTimeout {
				p.add("%s: readiness timeoutSeconds %s is not more than the server's database ping timeout %s: a slow but healthy database marks pods unready", k.ref(), t, serverPingTimeout)
			}
		}
		var window time.Duration
		switch {
		case k.c.StartupProbe != nil:
			sp := k.c.StartupProbe
			window = time.Duration(sp.InitialDelaySeconds+sp.Period()*sp.Failures()) * time.Second
		case k.c.LivenessProbe != nil:
			lp := k.c.LivenessProbe
			window = time.Duration(lp.InitialDelaySeconds+lp.Period()*lp.Failures()) * time.Second
		default:
			continue
		}
		if window < cfg.Database.ConnectTimeout {
			p.add("%s: the probes give start-up %s, less than SERVO_DATABASE_CONNECT_TIMEOUT %s: a pod waiting for its database is killed", k.ref(), window, cfg.Database.ConnectTimeout)
		}
	}
	return p
}

// checkResources: every container requests cpu and memory, bounds memory,
// and requests no more than its limits.
func checkResources(b *bundle) problems {
	var p problems
	for _, k := range b.kubeContainers() {
		r := k.c.Resources
		for _, res := range []string{"cpu", "memory"} {
			if r.Requests[res] == "" {
				p.add("%s: no %s request", k.ref(), res)
			}
		}
		if r.Limits["memory"] == "" {
			p.add("%s: no memory limit", k.ref())
		}
		for res, req := range r.Requests {
			lim, ok := r.Limits[res]
			if !ok {
				continue
			}
			rq, err1 := parseQuantity(req)
			lm, err2 := parseQuantity(lim)
			switch {
			case err1 != nil || err2 != nil:
				p.add("%s: %s quantities %q/%q do not parse", k.ref(), res, req, lim)
			case rq > lm:
				p.add("%s: %s request %s exceeds its limit %s: the API server refuses it", k.ref(), res, req, lim)
			}
		}
	}
	return p
}

// goDirective matches the go directive of go.mod; versionVar the
// declaration -X main.version sets.
var (
	goDirective = regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`)
	versionVar  = regexp.MustCompile(`(?m)^var version\b`)
)

// checkDockerBuild: a golang builder no older than go.mod builds
// ./cmd/servo statically with a version; the final stage is distroless
// static (or scratch) holding that binary as /servo.
func checkDockerBuild(b *bundle) problems {
	var p problems
	final := b.Docker.Final()
	if len(b.Docker.Stages) < 2 {
		p.add("%s: want a builder stage and a final stage", dockerfilePath)
		return p
	}
	if !strings.HasPrefix(final.From, "gcr.io/distroless/static") && final.From != "scratch" {
		p.add("%s: final stage FROM %s: use gcr.io/distroless/static (or scratch): no shell, no package manager, a few MB", dockerfilePath, final.From)
	}
	var copyFrom, src string
	for _, in := range final.All("COPY") {
		f := strings.Fields(in.Args)
		if len(f) >= 3 && f[len(f)-1] == "/servo" {
			for _, flag := range f[:len(f)-2] {
				if v, ok := strings.CutPrefix(flag, "--from="); ok {
					copyFrom, src = v, f[len(f)-2]
				}
			}
		}
	}
	if copyFrom == "" {
		p.add("%s: the final stage does not COPY --from=<builder> the binary to /servo", dockerfilePath)
		return p
	}
	build, ok := b.Docker.Stage(copyFrom)
	if !ok {
		p.add("%s: COPY --from=%s names no stage", dockerfilePath, copyFrom)
		return p
	}
	image, tag, _ := strings.Cut(strings.TrimPrefix(build.From, "docker.io/library/"), ":")
	m := goDirective.FindStringSubmatch(b.Files["go.mod"])
	if image != "golang" || m == nil {
		p.add("%s: builder FROM %s: want golang:<go.mod's version>", dockerfilePath, build.From)
	} else {
		var major, minor int
		_, err := fmt.Sscanf(tag, "%d.%d", &major, &minor)
		wantMajor, _ := strconv.Atoi(m[1])
		wantMinor, _ := strconv.Atoi(m[2])
		if err != nil || major < wantMajor || (major == wantMajor && minor < wantMinor) {
			p.add("%s: builder FROM %s is older than go.mod's go %s.%s", dockerfilePath, build.From, m[1], m[2])
		}
	}
	var goBuild string
	for _, in := range build.All("RUN") {
		if strings.Contains(in.Args, "go build") {
			goBuild = in.Args
		}
	}
	if goBuild == "" {
		p.add("%s: the builder stage runs no `go build`", dockerfilePath)
		return p
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-s -w", "-X main.version=", "./cmd/servo", "-o " + src + " "} {
		if !strings.Contains(goBuild+" ", want) {
			p.add("%s: the go build lacks %q: %s", dockerfilePath, want, goBuild)
		}
	}
	declared := false
	for name, text := range b.Files {
		if strings.HasPrefix(name, "cmd/servo/") && !strings.HasSuffix(name, "_test.go") && versionVar.MatchString(text) {
			declared = true
		}
	}
	if !declared {
		p.add("cmd/servo declares no `var version`: -X main.version sets nothing")
	}
	return p
}

// checkExampleConfigs: configs/servo.{development,production}.yaml load,
// set and document every key once, and hold what their names promise.
func checkExampleConfigs(b *bundle) problems {
	var p problems
	dir, err := os.MkdirTemp("", "servo-configs")
	if err != nil {
		p.add("temp dir: %v", err)
		return p
	}
	defer func() { _ = os.RemoveAll(dir) }()
	for _, name := range exampleConfigs {
		text, ok := b.Files[name]
		if !ok {
			p.add("%s is missing", name)
			continue
		}
		file := path.Join(dir, path.Base(name))
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			p.add("write %s: %v", file, err)
			continue
		}
		cfg, err := config.Load(config.Options{File: file, Environ: []string{}})
		if err != nil {
			p.add("%s does not load: %v", name, err)
			continue
		}
		var tree map[string]map[string]any
		if err := yaml.Unmarshal([]byte(text), &tree); err != nil {
			p.add("%s: %v", name, err)
			continue
		}
		for _, k := range config.Keys() {
			if n := strings.Count(text, k.Env); n != 1 {
				p.add("%s names %s %d times, want once (beside %s)", name, k.Env, n, k.Name)
			}
			section, leaf, _ := strings.Cut(k.Name, ".")
			if _, ok := tree[section][leaf]; !ok {
				p.add("%s does not set %s", name, k.Name)
			}
		}
		switch {
		case strings.Contains(name, "production"):
			for _, key := range []string{"database.url", "database.migrate_url", "auth.admin_key", "runtime.signing_key"} {
				section, leaf, _ := strings.Cut(key, ".")
				if v, ok := tree[section][leaf]; ok && v != nil && v != "" {
					p.add("%s sets %s, a credential: it belongs in the environment, from a secret store", name, key)
				}
			}
			if cfg.Log.Format != "json" {
				p.add("%s: log.format %s, want json for a log collector", name, cfg.Log.Format)
			}
			prod, err := config.Load(config.Options{File: file, Environ: []string{"SERVO_DATABASE_URL=postgres://servo_app@db/servo"}})
			if err != nil || !isPostgres(prod.Database.URL) {
				p.add("%s: SERVO_DATABASE_URL does not override database.url (%v)", name, err)
			}
		case strings.Contains(name, "development"):
			if cfg.Log.Format != "console" {
				p.add("%s: log.format %s, want console", name, cfg.Log.Format)
			}
			if host, _, _ := net.SplitHostPort(cfg.HTTP.Addr); host != "127.0.0.1" && host != "localhost" {
				p.add("%s: http.addr %s listens beyond loopback", name, cfg.HTTP.Addr)
			}
		}
	}
	return p
}

// metricName matches names that look like Servo's, Go's or the process's
// Prometheus metrics.
var metricName = regexp.MustCompile(`\b(?:servo_(?:http|db)|go|process)_[a-z0-9_]+\b`)

// repoPath matches a backquoted repository path in a document.
var repoPath = regexp.MustCompile("`((?:deployments|configs|docs|migrations|cmd|internal)/[A-Za-z0-9_./-]*[A-Za-z0-9_])/?`")

// checkDocs: metric names in the operator documents are metrics the server
// exports; paths they name exist.
func checkDocs(b *bundle) problems {
	var p problems
	f, err := facts()
	if err != nil {
		p.add("build the server: %v", err)
		return p
	}
	for _, name := range docFiles {
		text, ok := b.Files[name]
		if !ok {
			p.add("%s is missing", name)
			continue
		}
		seen := map[string]bool{}
		for _, m := range metricName.FindAllString(text, -1) {
			if seen[m] {
				continue
			}
			seen[m] = true
			if _, ok := f.metrics[m]; ok {
				continue
			}
			base := m
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				base = strings.TrimSuffix(base, suffix)
			}
			if t := f.metrics[base]; base != m && (t == "histogram" || t == "summary") {
				continue
			}
			p.add("%s names the metric %s, which the server does not export", name, m)
		}
		for _, m := range repoPath.FindAllStringSubmatch(text, -1) {
			if !b.exists(m[1]) {
				p.add("%s names %s, which does not exist", name, m[1])
			}
		}
	}
	return p
}

// exists reports whether a file or directory exists in the repository: among
// the files read, or on disk.
func (b *bundle) exists(p string) bool {
	if _, ok := b.Files[p]; ok {
		return true
	}
	for name := range b.Files {
		if strings.HasPrefix(name, p+"/") {
			return true
		}
	}
	_, err := fs.Stat(os.DirFS("../.."), p)
	return err == nil
}

// uniqueKey is a primary key, unique constraint or unique index.
type uniqueKey struct {
	table, name string
	cols        []string
}

var (
	createTable  = regexp.MustCompile(`(?s)CREATE TABLE (?:IF NOT EXISTS )?(\w+) \((.*?)\n\);`)
	tableKey     = regexp.MustCompile(`^(?:CONSTRAINT (\w+)\s+)?(PRIMARY KEY|UNIQUE)\s*\(([^)]*)\)`)
	inlineUnique = regexp.MustCompile(`(?:CONSTRAINT (\w+)\s+)?UNIQUE\b`)
	uniqueIndex  = regexp.MustCompile(`CREATE UNIQUE INDEX (?:IF NOT EXISTS )?(\w+) ON (\w+)(?: USING \w+)? \(([^)]*)\)`)
	addKey       = regexp.MustCompile(`ALTER TABLE (\w+) ADD CONSTRAINT (\w+) (PRIMARY KEY|UNIQUE) \(([^)]*)\)`)
	addTenantCol = regexp.MustCompile(`ALTER TABLE (\w+) ADD COLUMN tenant_id\b`)
	dropKey      = regexp.MustCompile(`(?:ALTER TABLE \w+ DROP CONSTRAINT|DROP INDEX) (?:IF EXISTS )?(\w+)`)
	dropTable    = regexp.MustCompile(`DROP TABLE (?:IF EXISTS )?(\w+)`)
)

func columns(list string) []string {
	var out []string
	for _, c := range strings.Split(list, ",") {
		if f := strings.Fields(c); len(f) > 0 {
			out = append(out, strings.Trim(f[0], `"`))
		}
	}
	return out
}

// schemaKeys reads the PostgreSQL up migrations, in order, and returns the
// tables with a tenant_id column and every unique key.
func schemaKeys(files map[string]string) (map[string]bool, map[string]uniqueKey) {
	tenantTables, keys := map[string]bool{}, map[string]uniqueKey{}
	for _, name := range sortedKeys(files) {
		if !strings.HasPrefix(name, "migrations/postgres/") || !strings.HasSuffix(name, ".up.sql") {
			continue
		}
		var sqlText strings.Builder
		for _, line := range strings.Split(files[name], "\n") {
			if code, _, _ := strings.Cut(line, "--"); strings.TrimSpace(code) != "" {
				sqlText.WriteString(code + "\n")
			}
		}
		text := sqlText.String()
		for _, m := range createTable.FindAllStringSubmatch(text, -1) {
			table := m[1]
			for _, raw := range strings.Split(m[2], "\n") {
				line := strings.TrimSuffix(strings.TrimSpace(raw), ",")
				if km := tableKey.FindStringSubmatch(line); km != nil {
					cols := columns(km[3])
					kname := km[1]
					if kname == "" && km[2] == "PRIMARY KEY" {
						kname = table + "_pkey"
					} else if kname == "" {
						kname = table + "_" + strings.Join(cols, "_") + "_key"
					}
					keys[kname] = uniqueKey{table, kname, cols}
					continue
				}
				f := strings.Fields(line)
				if len(f) < 2 || slices.Contains([]string{"CONSTRAINT", "FOREIGN", "CHECK", "EXCLUDE"}, f[0]) {
					continue
				}
				col := f[0]
				if col == "tenant_id" {
					tenantTables[table] = true
				}
				if strings.Contains(line, "PRIMARY KEY") {
					keys[table+"_pkey"] = uniqueKey{table, table + "_pkey", []string{col}}
				}
				for _, um := range inlineUnique.FindAllStringSubmatch(line, -1) {
					kname := um[1]
					if kname == "" {
						kname = table + "_" + col + "_key"
					}
					keys[kname] = uniqueKey{table, kname, []string{col}}
				}
			}
		}
		for _, m := range uniqueIndex.FindAllStringSubmatch(text, -1) {
			keys[m[1]] = uniqueKey{m[2], m[1], columns(m[3])}
		}
		for _, m := range addKey.FindAllStringSubmatch(text, -1) {
			keys[m[2]] = uniqueKey{m[1], m[2], columns(m[4])}
		}
		for _, m := range addTenantCol.FindAllStringSubmatch(text, -1) {
			tenantTables[m[1]] = true
		}
		for _, m := range dropKey.FindAllStringSubmatch(text, -1) {
			delete(keys, m[1])
		}
		for _, m := range dropTable.FindAllStringSubmatch(text, -1) {
			delete(tenantTables, m[1])
			for k, v := range keys {
				if v.table == m[1] {
					delete(keys, k)
				}
			}
		}
	}
	return tenantTables, keys
}

// checkShardingInventory: docs/scaling.md names every table with a
// tenant_id column and every key of those tables that does not include
// tenant_id, which sharding by tenant_id would have to change.
func checkShardingInventory(b *bundle) problems {
	var p problems
	doc, ok := b.Files[scalingDocPath]
	if !ok {
		p.add("%s is missing", scalingDocPath)
		return p
	}
	tables, keys := schemaKeys(b.Files)
	if len(tables) == 0 {
		p.add("found no table with a tenant_id column in migrations/postgres: the parser is out of date")
	}
	for _, t := range sortedKeys(tables) {
		if !strings.Contains(doc, "`"+t+"`") {
			p.add("%s does not mention the tenant table `%s`", scalingDocPath, t)
		}
	}
	for _, name := range sortedKeys(keys) {
		k := keys[name]
		if tables[k.table] && !slices.Contains(k.cols, "tenant_id") && !strings.Contains(doc, "`"+name+"`") {
			p.add("%s does not list `%s` (%s %v), a key without tenant_id that a tenant_id distribution would have to change", scalingDocPath, name, k.table, k.cols)
		}
	}
	return p
}

// --- the tests ---------------------------------------------------------------------

// loadRepo reads and parses the repository's deployment files.
func loadRepo(t *testing.T) (map[string]string, *bundle) {
	t.Helper()
	files, err := deploycheck.ReadTree(os.DirFS("../.."))
	if err != nil {
		t.Fatalf("read the deployment files: %v", err)
	}
	b, err := parseBundle(files)
	if err != nil {
		t.Fatalf("the deployment files do not parse:\n%v", err)
	}
	return files, b
}

// TestDeploymentFiles runs every check on the files as they are.
func TestDeploymentFiles(t *testing.T) {
	t.Parallel()
	_, b := loadRepo(t)
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			for _, problem := range c.run(b) {
				t.Error(problem)
			}
		})
	}
}

// TestDeploymentChecksCatch breaks the files one edit at a time and requires the check
// that owns the edit to report it.
func TestDeploymentChecksCatch(t *testing.T) {
	t.Parallel()
	files, _ := loadRepo(t)
	for _, c := range checks {
		if len(c.breaks) == 0 {
			t.Errorf("check %q has no edit that breaks it", c.name)
		}
		for _, e := range c.breaks {
			t.Run(c.name+"/"+e.file+": "+firstLine(e.new), func(t *testing.T) {
				broken := maps.Clone(files)
				if !strings.Contains(broken[e.file], e.old) {
					t.Fatalf("%s does not contain %q any more: update the edit", e.file, e.old)
				}
				broken[e.file] = strings.ReplaceAll(broken[e.file], e.old, e.new)
				b, err := parseBundle(broken)
				if err != nil {
					t.Fatalf("the broken files do not parse, so the check is not what catches this: %v", err)
				}
				if got := c.run(b); len(got) == 0 {
					t.Errorf("replacing %q with %q in %s went unnoticed", e.old, e.new, e.file)
				} else {
					t.Logf("caught: %s", got[0])
				}
			})
		}
	}
}

// TestDeploymentInvocations pins how the checks read servo command lines
// against the real command tree.
func TestDeploymentInvocations(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string // "" when the arguments must be refused
	}{
		{[]string{"serve"}, "servo serve"},
		{[]string{"serve", "--no-workers"}, "servo serve --no-workers"},
		{[]string{"--config", "/etc/servo/servo.yaml", "worker"}, "servo worker"},
		{[]string{"migrate", "up", "--config=/c.yaml"}, "servo migrate up"},
		{[]string{"migrate"}, ""},
		{[]string{"migrate", "sideways"}, ""},
		{[]string{"serve", "--port=1"}, ""},
		{[]string{"--no-workers", "serve"}, ""},
		{[]string{"serve", "now"}, ""},
		{[]string{"launch"}, ""},
		{[]string{"tenants", "create", "acme"}, "servo tenants create acme"},
		{[]string{"tenants", "create"}, ""},
		{[]string{"keys", "list", "--tenant", "acme"}, "servo keys list --tenant"},
		{[]string{"keys", "list", "--tenant"}, ""},
		{[]string{"version", "--config=/c.yaml"}, "servo version"},
		{[]string{"help"}, ""},
		{[]string{"completion", "bash"}, ""},
		{nil, ""},
	} {
		inv, err := parseInvocation(tt.args)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("parseInvocation(%q) = %s, want an error", tt.args, inv)
		case tt.want != "" && (err != nil || inv.String() != tt.want):
			t.Errorf("parseInvocation(%q) = %s, %v; want %s", tt.args, inv, err, tt.want)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if line == "" {
		return "(removed)"
	}
	return line
}
