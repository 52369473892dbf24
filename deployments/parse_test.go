package deployments

// This file reads the deployment files into typed values. The Kubernetes
// manifests and the compose file are decoded strictly: a field the types
// below do not know is an error, because the API server (kubectl's strict
// field validation) and `docker compose` refuse it too, and a misspelt field
// such as "readinesProbe" would otherwise pass unnoticed. A field added on
// purpose only needs adding to its type here.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Paths of the files the checks read, relative to the repository root.
const (
	dockerfilePath    = "deployments/Dockerfile"
	composePath       = "deployments/compose.yaml"
	k8sDir            = "deployments/k8s"
	kustomizationPath = "deployments/k8s/kustomization.yaml"
	secretExamplePath = "deployments/k8s/secret.example.yaml"
	systemdDir        = "deployments/systemd"
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

// readTree reads every file the checks look at into a map keyed by its
// slash-separated path from the repository root.
func readTree(fsys fs.FS) (map[string]string, error) {
	files := map[string]string{}
	read := func(p string) error {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[p] = string(b)
		return nil
	}
	err := fs.WalkDir(fsys, "deployments", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return read(p)
	})
	if err != nil {
		return nil, err
	}
	for _, pattern := range []string{"configs/*.yaml", "docs/*.md", "migrations/postgres/*.up.sql", "cmd/servo/*.go", "go.mod"} {
		matches, err := fs.Glob(fsys, pattern)
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			if err := read(m); err != nil {
				return nil, err
			}
		}
	}
	return files, nil
}

// bundle is every deployment file, parsed.
type bundle struct {
	files         map[string]string
	docker        dockerfile
	compose       composeFile
	objects       []k8sObject
	k8sFiles      []string
	kustomization kustomization
	units         map[string]unit
	envFiles      map[string]map[string]string
}

// parseBundle parses the files readTree returned. Any file that does not
// parse is an error: a deploy would fail on it.
func parseBundle(files map[string]string) (*bundle, error) {
	b := &bundle{files: files, units: map[string]unit{}, envFiles: map[string]map[string]string{}}
	var errs []error
	need := func(p string) string {
		text, ok := files[p]
		if !ok {
			errs = append(errs, fmt.Errorf("%s is missing", p))
		}
		return text
	}

	var err error
	if b.docker, err = parseDockerfile(need(dockerfilePath)); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", dockerfilePath, err))
	}
	if err = decodeStrict([]byte(need(composePath)), &b.compose); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", composePath, err))
	}
	if err = decodeStrict([]byte(need(kustomizationPath)), &b.kustomization); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", kustomizationPath, err))
	}

	for _, p := range sortedKeys(files) {
		dir, name := path.Split(p)
		switch {
		case dir == k8sDir+"/" && strings.HasSuffix(name, ".yaml") && name != "kustomization.yaml":
			b.k8sFiles = append(b.k8sFiles, name)
			objs, err := parseK8sFile(name, files[p])
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p, err))
			}
			b.objects = append(b.objects, objs...)
		case dir == systemdDir+"/" && strings.HasSuffix(name, ".service"):
			u, err := parseUnit(files[p])
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p, err))
			}
			b.units[name] = u
		case dir == systemdDir+"/" && strings.HasSuffix(name, ".env.example"):
			env, err := parseEnvFile(files[p])
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p, err))
			}
			b.envFiles[name] = env
		}
	}
	return b, errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// decodeStrict decodes one YAML document into v, refusing unknown fields.
func decodeStrict(doc []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return err
	}
	return nil
}

// --- YAML scalar types ----------------------------------------------------

// intOrString is Kubernetes' IntOrString: a port number or a port name, a
// count or a percentage.
type intOrString struct {
	IntVal int
	StrVal string
	IsInt  bool
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (v *intOrString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a number or a name", n.Line)
	}
	if n.ShortTag() == "!!int" {
		i, err := strconv.Atoi(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		*v = intOrString{IntVal: i, IsInt: true}
		return nil
	}
	*v = intOrString{StrVal: n.Value}
	return nil
}

func (v intOrString) String() string {
	if v.IsInt {
		return strconv.Itoa(v.IntVal)
	}
	return v.StrVal
}

// kubeString is a string field of the Kubernetes API. The API server refuses
// a number or a boolean there (an unquoted 8080 or true), so this does too.
type kubeString string

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *kubeString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return fmt.Errorf("line %d: %q must be a string (quote it): Kubernetes refuses a %s here", n.Line, n.Value, strings.TrimPrefix(n.ShortTag(), "!!"))
	}
	*s = kubeString(n.Value)
	return nil
}

// stringMap is a map[string]string of the Kubernetes API (labels,
// annotations, ConfigMap data): every value must be a YAML string.
type stringMap map[string]string

// UnmarshalYAML implements yaml.Unmarshaler.
func (m *stringMap) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping", n.Line)
	}
	out := stringMap{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		var v kubeString
		if err := v.UnmarshalYAML(n.Content[i+1]); err != nil {
			return fmt.Errorf("%s: %w", n.Content[i].Value, err)
		}
		out[n.Content[i].Value] = string(v)
	}
	*m = out
	return nil
}

// --- Kubernetes ---------------------------------------------------------------

type objectMeta struct {
	Name        string    `yaml:"name"`
	Namespace   string    `yaml:"namespace"`
	Labels      stringMap `yaml:"labels"`
	Annotations stringMap `yaml:"annotations"`
}

type labelSelector struct {
	MatchLabels stringMap `yaml:"matchLabels"`
}

type podTemplate struct {
	Metadata objectMeta `yaml:"metadata"`
	Spec     podSpec    `yaml:"spec"`
}

type podSpec struct {
	RestartPolicy                 string              `yaml:"restartPolicy"`
	ServiceAccountName            string              `yaml:"serviceAccountName"`
	AutomountServiceAccountToken  *bool               `yaml:"automountServiceAccountToken"`
	TerminationGracePeriodSeconds *int                `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               *podSecurityContext `yaml:"securityContext"`
	NodeSelector                  stringMap           `yaml:"nodeSelector"`
	TopologySpreadConstraints     []struct {
		MaxSkew           int           `yaml:"maxSkew"`
		TopologyKey       string        `yaml:"topologyKey"`
		WhenUnsatisfiable string        `yaml:"whenUnsatisfiable"`
		LabelSelector     labelSelector `yaml:"labelSelector"`
	} `yaml:"topologySpreadConstraints"`
	InitContainers []container `yaml:"initContainers"`
	Containers     []container `yaml:"containers"`
	Volumes        []struct {
		Name     string `yaml:"name"`
		EmptyDir *struct {
			Medium    string `yaml:"medium"`
			SizeLimit string `yaml:"sizeLimit"`
		} `yaml:"emptyDir"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
		Secret *struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
	} `yaml:"volumes"`
}

type seccompProfile struct {
	Type string `yaml:"type"`
}

type podSecurityContext struct {
	RunAsNonRoot   *bool           `yaml:"runAsNonRoot"`
	RunAsUser      *int64          `yaml:"runAsUser"`
	RunAsGroup     *int64          `yaml:"runAsGroup"`
	FSGroup        *int64          `yaml:"fsGroup"`
	SeccompProfile *seccompProfile `yaml:"seccompProfile"`
}

type containerSecurityContext struct {
	RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
	RunAsUser                *int64 `yaml:"runAsUser"`
	RunAsGroup               *int64 `yaml:"runAsGroup"`
	Privileged               *bool  `yaml:"privileged"`
	AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
	ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
	Capabilities             *struct {
		Add  []string `yaml:"add"`
		Drop []string `yaml:"drop"`
	} `yaml:"capabilities"`
	SeccompProfile *seccompProfile `yaml:"seccompProfile"`
}

type keyRef struct {
	Name     string `yaml:"name"`
	Key      string `yaml:"key"`
	Optional *bool  `yaml:"optional"`
}

type envVar struct {
	Name      string      `yaml:"name"`
	Value     *kubeString `yaml:"value"`
	ValueFrom *struct {
		SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
		ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
		FieldRef        *struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
	} `yaml:"valueFrom"`
}

type nameRef struct {
	Name     string `yaml:"name"`
	Optional *bool  `yaml:"optional"`
}

type httpGetAction struct {
	Path   string      `yaml:"path"`
	Port   intOrString `yaml:"port"`
	Scheme string      `yaml:"scheme"`
}

type probe struct {
	HTTPGet   *httpGetAction `yaml:"httpGet"`
	TCPSocket *struct {
		Port intOrString `yaml:"port"`
	} `yaml:"tcpSocket"`
	Exec *struct {
		Command []string `yaml:"command"`
	} `yaml:"exec"`
	InitialDelaySeconds int `yaml:"initialDelaySeconds"`
	PeriodSeconds       int `yaml:"periodSeconds"`
	TimeoutSeconds      int `yaml:"timeoutSeconds"`
	SuccessThreshold    int `yaml:"successThreshold"`
	FailureThreshold    int `yaml:"failureThreshold"`
}

// period, timeout and failures return the probe's settings with
// Kubernetes' defaults.
func (p *probe) period() int   { return orDefault(p.PeriodSeconds, 10) }
func (p *probe) timeout() int  { return orDefault(p.TimeoutSeconds, 1) }
func (p *probe) failures() int { return orDefault(p.FailureThreshold, 3) }

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

type container struct {
	Name            string   `yaml:"name"`
	Image           string   `yaml:"image"`
	ImagePullPolicy string   `yaml:"imagePullPolicy"`
	Command         []string `yaml:"command"`
	Args            []string `yaml:"args"`
	WorkingDir      string   `yaml:"workingDir"`
	Ports           []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	} `yaml:"ports"`
	EnvFrom []struct {
		Prefix       string   `yaml:"prefix"`
		ConfigMapRef *nameRef `yaml:"configMapRef"`
		SecretRef    *nameRef `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Env            []envVar `yaml:"env"`
	StartupProbe   *probe   `yaml:"startupProbe"`
	LivenessProbe  *probe   `yaml:"livenessProbe"`
	ReadinessProbe *probe   `yaml:"readinessProbe"`
	Lifecycle      *struct {
		PreStop *struct {
			Sleep *struct {
				Seconds int `yaml:"seconds"`
			} `yaml:"sleep"`
			Exec *struct {
				Command []string `yaml:"command"`
			} `yaml:"exec"`
			HTTPGet *httpGetAction `yaml:"httpGet"`
		} `yaml:"preStop"`
	} `yaml:"lifecycle"`
	Resources struct {
		Requests stringOrNumberMap `yaml:"requests"`
		Limits   stringOrNumberMap `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *containerSecurityContext `yaml:"securityContext"`
	VolumeMounts    []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

// stringOrNumberMap holds resource quantities, which may be written as
// numbers (cpu: 1) or strings (memory: 128Mi).
type stringOrNumberMap map[string]string

// preStopSleep returns the seconds of the container's preStop sleep, or 0.
func (c *container) preStopSleep() int {
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		return c.Lifecycle.PreStop.Sleep.Seconds
	}
	return 0
}

// probes returns the container's probes by kind, in a stable order.
func (c *container) probes() []namedProbe {
	var out []namedProbe
	for _, p := range []namedProbe{{"startup", c.StartupProbe}, {"liveness", c.LivenessProbe}, {"readiness", c.ReadinessProbe}} {
		if p.probe != nil {
			out = append(out, p)
		}
	}
	return out
}

type namedProbe struct {
	kind  string
	probe *probe
}

// containerPort resolves a port given by number or by name against the
// container's declared ports.
func (c *container) containerPort(p intOrString) (int, bool) {
	for _, cp := range c.Ports {
		if (p.IsInt && cp.ContainerPort == p.IntVal) || (!p.IsInt && cp.Name == p.StrVal) {
			return cp.ContainerPort, true
		}
	}
	if p.IsInt {
		return p.IntVal, false
	}
	return 0, false
}

type deploymentSpec struct {
	Replicas             *int `yaml:"replicas"`
	RevisionHistoryLimit *int `yaml:"revisionHistoryLimit"`
	MinReadySeconds      int  `yaml:"minReadySeconds"`
	Strategy             *struct {
		Type          string `yaml:"type"`
		RollingUpdate *struct {
			MaxUnavailable *intOrString `yaml:"maxUnavailable"`
			MaxSurge       *intOrString `yaml:"maxSurge"`
		} `yaml:"rollingUpdate"`
	} `yaml:"strategy"`
	Selector labelSelector `yaml:"selector"`
	Template podTemplate   `yaml:"template"`
}

type jobSpec struct {
	BackoffLimit            *int          `yaml:"backoffLimit"`
	ActiveDeadlineSeconds   *int          `yaml:"activeDeadlineSeconds"`
	TTLSecondsAfterFinished *int          `yaml:"ttlSecondsAfterFinished"`
	Selector                labelSelector `yaml:"selector"`
	Template                podTemplate   `yaml:"template"`
}

type serviceSpec struct {
	Type     string    `yaml:"type"`
	Selector stringMap `yaml:"selector"`
	Ports    []struct {
		Name       string      `yaml:"name"`
		Port       int         `yaml:"port"`
		TargetPort intOrString `yaml:"targetPort"`
		Protocol   string      `yaml:"protocol"`
	} `yaml:"ports"`
}

type pdbSpec struct {
	MinAvailable   *intOrString  `yaml:"minAvailable"`
	MaxUnavailable *intOrString  `yaml:"maxUnavailable"`
	Selector       labelSelector `yaml:"selector"`
}

// k8sObject is one Kubernetes object; the field of its kind is set.
type k8sObject struct {
	File       string
	APIVersion string
	Kind       string
	Metadata   objectMeta
	Deployment *deploymentSpec
	Job        *jobSpec
	Service    *serviceSpec
	PDB        *pdbSpec
	Data       stringMap // ConfigMap data, Secret stringData
	SecretType string
}

func (o *k8sObject) ref() string {
	return fmt.Sprintf("%s %s/%s (%s)", o.Kind, o.Metadata.Namespace, o.Metadata.Name, o.File)
}

// typed is the shape of every kind: apiVersion, kind, metadata and S.
type typed[S any] struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       S          `yaml:"spec"`
}

// parseK8sFile decodes every document of a manifest file.
func parseK8sFile(name, text string) ([]k8sObject, error) {
	dec := yaml.NewDecoder(strings.NewReader(text))
	var out []k8sObject
	for i := 1; ; i++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("document %d: %w", i, err)
		}
		if len(node.Content) == 0 {
			continue
		}
		doc, err := yaml.Marshal(&node)
		if err != nil {
			return out, fmt.Errorf("document %d: %w", i, err)
		}
		obj, err := decodeK8sObject(name, doc)
		if err != nil {
			return out, fmt.Errorf("document %d: %w", i, err)
		}
		out = append(out, obj)
	}
}

func decodeK8sObject(file string, doc []byte) (k8sObject, error) {
	var head struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return k8sObject{}, err
	}
	obj := k8sObject{File: file, APIVersion: head.APIVersion, Kind: head.Kind}
	var err error
	switch head.Kind {
	case "Deployment":
		var v typed[deploymentSpec]
		err = decodeStrict(doc, &v)
		obj.Metadata, obj.Deployment = v.Metadata, &v.Spec
	case "Job":
		var v typed[jobSpec]
		err = decodeStrict(doc, &v)
		obj.Metadata, obj.Job = v.Metadata, &v.Spec
	case "Service":
		var v typed[serviceSpec]
		err = decodeStrict(doc, &v)
		obj.Metadata, obj.Service = v.Metadata, &v.Spec
	case "PodDisruptionBudget":
		var v typed[pdbSpec]
		err = decodeStrict(doc, &v)
		obj.Metadata, obj.PDB = v.Metadata, &v.Spec
	case "Namespace":
		var v struct {
			APIVersion string     `yaml:"apiVersion"`
			Kind       string     `yaml:"kind"`
			Metadata   objectMeta `yaml:"metadata"`
		}
		err = decodeStrict(doc, &v)
		obj.Metadata = v.Metadata
	case "ConfigMap":
		var v struct {
			APIVersion string     `yaml:"apiVersion"`
			Kind       string     `yaml:"kind"`
			Metadata   objectMeta `yaml:"metadata"`
			Data       stringMap  `yaml:"data"`
		}
		err = decodeStrict(doc, &v)
		obj.Metadata, obj.Data = v.Metadata, v.Data
	case "Secret":
		var v struct {
			APIVersion string     `yaml:"apiVersion"`
			Kind       string     `yaml:"kind"`
			Metadata   objectMeta `yaml:"metadata"`
			Type       string     `yaml:"type"`
			StringData stringMap  `yaml:"stringData"`
		}
		err = decodeStrict(doc, &v)
		obj.Metadata, obj.Data, obj.SecretType = v.Metadata, v.StringData, v.Type
	default:
		return obj, fmt.Errorf("kind %q: the checks do not know it; add it to decodeK8sObject", head.Kind)
	}
	if err != nil {
		return obj, fmt.Errorf("%s %s: %w", head.Kind, obj.Metadata.Name, err)
	}
	return obj, nil
}

// kustomization is deployments/k8s/kustomization.yaml.
type kustomization struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Namespace  string   `yaml:"namespace"`
	Resources  []string `yaml:"resources"`
	Images     []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
		Digest  string `yaml:"digest"`
	} `yaml:"images"`
}

// --- Docker Compose ---------------------------------------------------------

type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]*struct {
		Driver string `yaml:"driver"`
	} `yaml:"volumes"`
	// Extensions holds the top-level x-* keys (anchors shared by services).
	Extensions map[string]any `yaml:",inline"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string            `yaml:"context"`
		Dockerfile string            `yaml:"dockerfile"`
		Args       map[string]string `yaml:"args"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Entrypoint  []string          `yaml:"entrypoint"`
	User        string            `yaml:"user"`
	Environment map[string]string `yaml:"environment"`
	EnvFile     []string          `yaml:"env_file"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
		Restart   bool   `yaml:"restart"`
		Required  *bool  `yaml:"required"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test          []string `yaml:"test"`
		Interval      string   `yaml:"interval"`
		Timeout       string   `yaml:"timeout"`
		Retries       int      `yaml:"retries"`
		StartPeriod   string   `yaml:"start_period"`
		StartInterval string   `yaml:"start_interval"`
		Disable       bool     `yaml:"disable"`
	} `yaml:"healthcheck"`
	Restart         string   `yaml:"restart"`
	StopGracePeriod string   `yaml:"stop_grace_period"`
	StopSignal      string   `yaml:"stop_signal"`
	ReadOnly        bool     `yaml:"read_only"`
	CapDrop         []string `yaml:"cap_drop"`
	CapAdd          []string `yaml:"cap_add"`
	SecurityOpt     []string `yaml:"security_opt"`
	Tmpfs           []string `yaml:"tmpfs"`
}

// --- Dockerfile ---------------------------------------------------------------

type dockerInstr struct {
	Cmd  string // upper case: FROM, RUN, COPY...
	Args string
	Line int
}

type dockerStage struct {
	From   string
	Name   string
	Instrs []dockerInstr
}

type dockerfile struct {
	Stages []dockerStage
}

func (d dockerfile) final() dockerStage {
	if len(d.Stages) == 0 {
		return dockerStage{}
	}
	return d.Stages[len(d.Stages)-1]
}

// stage returns the stage named name (FROM ... AS name).
func (d dockerfile) stage(name string) (dockerStage, bool) {
	for _, s := range d.Stages {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return dockerStage{}, false
}

// last returns the last instruction cmd of the stage.
func (s dockerStage) last(cmd string) (dockerInstr, bool) {
	for i := len(s.Instrs) - 1; i >= 0; i-- {
		if s.Instrs[i].Cmd == cmd {
			return s.Instrs[i], true
		}
	}
	return dockerInstr{}, false
}

// all returns every instruction cmd of the stage.
func (s dockerStage) all(cmd string) []dockerInstr {
	var out []dockerInstr
	for _, in := range s.Instrs {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// parseDockerfile splits a Dockerfile into stages of instructions, joining
// continuation lines and dropping comments.
func parseDockerfile(text string) (dockerfile, error) {
	var d dockerfile
	var cur strings.Builder
	start := 0
	flush := func() error {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := dockerInstr{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start}
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			st := dockerStage{}
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				f = f[1:]
			}
			if len(f) == 0 {
				return fmt.Errorf("line %d: FROM without an image", start)
			}
			st.From = f[0]
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.Name = f[2]
			}
			d.Stages = append(d.Stages, st)
			return nil
		}
		if len(d.Stages) == 0 {
			if in.Cmd != "ARG" {
				return fmt.Errorf("line %d: %s before the first FROM", start, in.Cmd)
			}
			return nil
		}
		st := &d.Stages[len(d.Stages)-1]
		st.Instrs = append(st.Instrs, in)
		return nil
	}
	for i, raw := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(raw)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur.Len() == 0 {
			if trimmed == "" {
				continue
			}
			start = i + 1
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\"))
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(trimmed)
		if err := flush(); err != nil {
			return d, err
		}
	}
	if cur.Len() > 0 {
		return d, errors.New("the last instruction ends with a line continuation")
	}
	if len(d.Stages) == 0 {
		return d, errors.New("no FROM")
	}
	return d, nil
}

// execForm parses the JSON (exec) form of CMD and ENTRYPOINT. The image has
// no shell, so the shell form cannot run.
func execForm(args string) ([]string, bool) {
	var out []string
	if err := json.Unmarshal([]byte(args), &out); err != nil {
		return nil, false
	}
	return out, true
}

// --- systemd ------------------------------------------------------------------

type unitEntry struct {
	Key, Value string
	Line       int
}

// unit is a systemd unit file: its entries by section, in order.
type unit map[string][]unitEntry

// values returns every value of key in section, in order.
func (u unit) values(section, key string) []string {
	var out []string
	for _, e := range u[section] {
		if e.Key == key {
			out = append(out, e.Value)
		}
	}
	return out
}

// last returns the value of key in section that systemd uses: the last one.
func (u unit) last(section, key string) (string, bool) {
	v := u.values(section, key)
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

func parseUnit(text string) (unit, error) {
	u := unit{}
	section := ""
	var pending string
	pendingLine := 0
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if pending == "" && (line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")) {
			continue
		}
		if pending == "" {
			pendingLine = i + 1
		}
		if strings.HasSuffix(line, "\\") {
			pending += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line, pending = pending+line, ""
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			return u, fmt.Errorf("line %d: %q is neither a [Section] nor Key=Value in a section", pendingLine, line)
		}
		u[section] = append(u[section], unitEntry{Key: strings.TrimSpace(key), Value: strings.TrimSpace(value), Line: pendingLine})
	}
	return u, nil
}

// envLine matches one VARIABLE=value line of an environment file.
var envLine = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)

// parseEnvFile parses a systemd EnvironmentFile: VARIABLE=value lines,
// comments starting with # or ;.
func parseEnvFile(text string) (map[string]string, error) {
	out := map[string]string{}
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		m := envLine.FindStringSubmatch(line)
		if m == nil {
			return out, fmt.Errorf("line %d: %q is not VARIABLE=value", i+1, line)
		}
		v := m[2]
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[m[1]] = v
	}
	return out, nil
}
