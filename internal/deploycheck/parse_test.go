package deploycheck

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

// repoFiles reads the repository's deployment files.
func repoFiles(t *testing.T) map[string]string {
	t.Helper()
	files, err := ReadTree(os.DirFS("../.."))
	if err != nil {
		t.Fatalf("read the deployment files: %v", err)
	}
	return files
}

// TestParseBundleReadsTheRepository parses every deployment file of the
// repository and finds each kind of file in it.
func TestParseBundleReadsTheRepository(t *testing.T) {
	t.Parallel()
	b, err := ParseBundle(repoFiles(t))
	if err != nil {
		t.Fatalf("the deployment files do not parse:\n%v", err)
	}
	if len(b.Docker.Stages) < 2 || len(b.Compose.Services) == 0 || len(b.Objects) == 0 ||
		len(b.Kustomization.Resources) == 0 || len(b.Units) == 0 || len(b.EnvFiles) == 0 {
		t.Fatalf("bundle misses a kind of file: %d stages, %d services, %d objects, %d resources, %d units, %d env files",
			len(b.Docker.Stages), len(b.Compose.Services), len(b.Objects), len(b.Kustomization.Resources), len(b.Units), len(b.EnvFiles))
	}
	for _, p := range []string{"go.mod", "docs/operations.md", "configs/servo.production.yaml"} {
		if b.Files[p] == "" {
			t.Errorf("ReadTree did not read %s", p)
		}
	}
	delete(b.Files, DockerfilePath)
	if _, err := ParseBundle(b.Files); err == nil || !strings.Contains(err.Error(), DockerfilePath+" is missing") {
		t.Errorf("a bundle without its Dockerfile = %v, want it named missing", err)
	}
}

// TestParseRejects checks that the strict decoding refuses what the API
// server, Docker Compose or Docker would refuse, one edit of the real files
// at a time.
func TestParseRejects(t *testing.T) {
	t.Parallel()
	files := repoFiles(t)
	for _, e := range []struct{ file, old, new string }{
		{"deployments/k8s/api.yaml", "readinessProbe:", "readinesProbe:"},
		{"deployments/k8s/configmap.yaml", `SERVO_DATABASE_MAX_OPEN_CONNS: "10"`, `SERVO_DATABASE_MAX_OPEN_CONNS: 10`},
		{"deployments/k8s/api.yaml", `prometheus.io/scrape: "true"`, `prometheus.io/scrape: true`},
		{"deployments/k8s/worker.yaml", "kind: Deployment", "kind: Deploymnet"},
		{"deployments/compose.yaml", "stop_grace_period:", "stop_grace:"},
		{"deployments/Dockerfile", "FROM golang:1.26 AS build", "FROM --platform=linux/amd64"},
		{"deployments/systemd/servo.env.example", "SERVO_LOG_LEVEL=info", "SERVO_LOG_LEVEL info"},
		{"deployments/systemd/servo.service", "[Service]", "Service"},
	} {
		t.Run(e.file+": "+e.new, func(t *testing.T) {
			t.Parallel()
			broken := maps.Clone(files)
			if !strings.Contains(broken[e.file], e.old) {
				t.Fatalf("%s does not contain %q any more: update the edit", e.file, e.old)
			}
			broken[e.file] = strings.ReplaceAll(broken[e.file], e.old, e.new)
			if _, err := ParseBundle(broken); err == nil {
				t.Errorf("replacing %q with %q in %s still parses", e.old, e.new, e.file)
			}
		})
	}
}

// TestParseDockerfile splits stages, joins continuation lines, drops
// comments and finds instructions.
func TestParseDockerfile(t *testing.T) {
	t.Parallel()
	d, err := ParseDockerfile(`# syntax=docker/dockerfile:1
ARG GO=1.26
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
RUN go build \
    -o /out/servo \
    ./cmd/servo
# a comment between instructions

FROM scratch
COPY --from=build /out/servo /servo
USER 65532:65532
user 1000
ENTRYPOINT ["/servo"]
CMD ["serve"]
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Stages) != 2 || d.Stages[0].From != "golang:1.26" || d.Stages[0].Name != "build" || d.Final().From != "scratch" {
		t.Fatalf("stages = %+v", d.Stages)
	}
	if run, ok := d.Stages[0].Last("RUN"); !ok || strings.Join(strings.Fields(run.Args), " ") != "go build -o /out/servo ./cmd/servo" || run.Line != 4 {
		t.Errorf("RUN = %+v, %v; want the joined line at line 4", run, ok)
	}
	if st, ok := d.Stage("BUILD"); !ok || st.From != "golang:1.26" {
		t.Errorf("Stage(BUILD) = %+v, %v", st, ok)
	}
	if _, ok := d.Stage("test"); ok {
		t.Error("Stage(test) found a stage that does not exist")
	}
	if users := d.Final().All("USER"); len(users) != 2 || users[1].Args != "1000" {
		t.Errorf("USER instructions = %+v, want both, the lower-case one upper-cased", users)
	}
	if u, _ := d.Final().Last("USER"); u.Args != "1000" {
		t.Errorf("last USER = %q", u.Args)
	}
	if in, _ := d.Final().Last("ENTRYPOINT"); !slices.Equal(must(ExecForm(in.Args)), []string{"/servo"}) {
		t.Errorf("ENTRYPOINT = %q", in.Args)
	}
	for text, want := range map[string]string{
		"":                              "no FROM",
		"RUN true\nFROM scratch":        "RUN before the first FROM",
		"FROM --platform=linux/amd64\n": "FROM without an image",
		"FROM scratch\nRUN a \\":        "continuation",
	} {
		if _, err := ParseDockerfile(text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDockerfile(%q) = %v, want an error about %s", text, err, want)
		}
	}
}

func must[T any](v T, ok bool) T {
	if !ok {
		var zero T
		return zero
	}
	return v
}

// TestExecForm accepts only the JSON form of CMD and ENTRYPOINT.
func TestExecForm(t *testing.T) {
	t.Parallel()
	if got, ok := ExecForm(`["serve", "--no-workers"]`); !ok || !slices.Equal(got, []string{"serve", "--no-workers"}) {
		t.Errorf("exec form = %q, %v", got, ok)
	}
	for _, shell := range []string{"serve --no-workers", `["serve"`, `"serve"`, ""} {
		if _, ok := ExecForm(shell); ok {
			t.Errorf("ExecForm(%q) accepted a shell form", shell)
		}
	}
}

// TestParseUnit reads sections and entries in order, joins continuation
// lines, and refuses a line outside a section.
func TestParseUnit(t *testing.T) {
	t.Parallel()
	u, err := ParseUnit(`# servo
[Unit]
Description=Servo
; another comment

[Service]
ExecStartPre=+/usr/bin/true
ExecStart=/usr/local/bin/servo \
    serve --no-workers
Environment=A=1
Environment=A=2
`)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := u.Last("Service", "ExecStart"); !ok || v != "/usr/local/bin/servo  serve --no-workers" {
		t.Errorf("ExecStart = %q, %v", v, ok)
	}
	if got := u.Values("Service", "Environment"); !slices.Equal(got, []string{"A=1", "A=2"}) {
		t.Errorf("Environment = %q", got)
	}
	if v, _ := u.Last("Service", "Environment"); v != "A=2" {
		t.Errorf("last Environment = %q, want the last one, as systemd takes", v)
	}
	if _, ok := u.Last("Install", "WantedBy"); ok {
		t.Error("found a key of a missing section")
	}
	if e := u["Service"][1]; e.Key != "ExecStart" || e.Line != 8 {
		t.Errorf("ExecStart entry = %+v, want its first line, 8", e)
	}
	for _, bad := range []string{"Description=x\n[Unit]", "[Unit]\nnot an entry"} {
		if _, err := ParseUnit(bad); err == nil {
			t.Errorf("ParseUnit(%q) = nil error", bad)
		}
	}
}

// TestParseEnvFile reads VARIABLE=value lines, strips matching quotes and
// refuses anything else.
func TestParseEnvFile(t *testing.T) {
	t.Parallel()
	env, err := ParseEnvFile("# comment\n; comment\n\nA=1\nB=\"two words\"\nC='x'\nD=\"unbalanced'\nE=\n")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "two words", "C": "x", "D": `"unbalanced'`, "E": ""}
	if !maps.Equal(env, want) {
		t.Errorf("env = %q, want %q", env, want)
	}
	for _, bad := range []string{"A = 1", "export A=1", "1A=x", "A"} {
		if _, err := ParseEnvFile(bad); err == nil {
			t.Errorf("ParseEnvFile(%q) = nil error", bad)
		}
	}
}

// TestParseK8sFile decodes every document strictly and resolves what the
// checks read: ports by name or number, probe defaults.
func TestParseK8sFile(t *testing.T) {
	t.Parallel()
	objs, err := ParseK8sFile("api.yaml", `---
apiVersion: v1
kind: Namespace
metadata:
  name: servo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: servo
  labels: {app: servo}
spec:
  selector:
    matchLabels: {app: servo}
  template:
    metadata:
      labels: {app: servo}
    spec:
      containers:
        - name: servo
          image: ghcr.io/servo-data/servo:1
          ports:
            - name: http
              containerPort: 8080
          readinessProbe:
            httpGet: {path: /readyz, port: http}
            periodSeconds: 5
          lifecycle:
            preStop:
              sleep: {seconds: 5}
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].Kind != "Namespace" || objs[1].Deployment == nil {
		t.Fatalf("objects = %+v", objs)
	}
	if ref := objs[1].Ref(); ref != "Deployment servo/api (api.yaml)" {
		t.Errorf("Ref() = %q", ref)
	}
	c := &objs[1].Deployment.Template.Spec.Containers[0]
	rp := c.ReadinessProbe
	if rp == nil || rp.Period() != 5 || rp.Timeout() != 1 || rp.Failures() != 3 {
		t.Fatalf("readiness probe = %+v, want period 5 and the defaults", rp)
	}
	if port, ok := c.ContainerPort(rp.HTTPGet.Port); !ok || port != 8080 {
		t.Errorf("port %s = %d, %v; want 8080 by name", rp.HTTPGet.Port, port, ok)
	}
	if port, ok := c.ContainerPort(IntOrString{IntVal: 9090, IsInt: true}); ok || port != 9090 {
		t.Errorf("undeclared port 9090 = %d, %v; want 9090, undeclared", port, ok)
	}
	if _, ok := c.ContainerPort(IntOrString{StrVal: "metrics"}); ok {
		t.Error("an unknown port name resolved")
	}
	if probes := c.Probes(); len(probes) != 1 || probes[0].Kind != "readiness" {
		t.Errorf("Probes() = %+v", probes)
	}
	if c.PreStopSleep() != 5 {
		t.Errorf("PreStopSleep() = %d", c.PreStopSleep())
	}
	for name, doc := range map[string]string{
		"an unknown kind":     "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
		"an unknown field":    "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {typo: 1}\n",
		"a number as a label": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, labels: {tier: 1}}\n",
		"a boolean as data":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {ENABLED: true}\n",
		"a list as a port":    "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80, targetPort: [1]}]}\n",
		"bad YAML":            "apiVersion: v1\nkind: [\n",
	} {
		if _, err := ParseK8sFile("x.yaml", doc); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}
