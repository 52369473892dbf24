package deploycheck

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// IntOrString is Kubernetes' IntOrString: a port number or a port name, a
// count or a percentage.
type IntOrString struct {
	IntVal int
	StrVal string
	IsInt  bool
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (v *IntOrString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a number or a name", n.Line)
	}
	if n.ShortTag() == "!!int" {
		i, err := strconv.Atoi(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		*v = IntOrString{IntVal: i, IsInt: true}
		return nil
	}
	*v = IntOrString{StrVal: n.Value}
	return nil
}

// String returns the number or the name.
func (v IntOrString) String() string {
	if v.IsInt {
		return strconv.Itoa(v.IntVal)
	}
	return v.StrVal
}

// KubeString is a string field of the Kubernetes API. The API server refuses
// a number or a boolean there (an unquoted 8080 or true), so this does too.
type KubeString string

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *KubeString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return fmt.Errorf("line %d: %q must be a string (quote it): Kubernetes refuses a %s here", n.Line, n.Value, strings.TrimPrefix(n.ShortTag(), "!!"))
	}
	*s = KubeString(n.Value)
	return nil
}

// StringMap is a map[string]string of the Kubernetes API (labels,
// annotations, ConfigMap data): every value must be a YAML string.
type StringMap map[string]string

// UnmarshalYAML implements yaml.Unmarshaler.
func (m *StringMap) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping", n.Line)
	}
	out := StringMap{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		var v KubeString
		if err := v.UnmarshalYAML(n.Content[i+1]); err != nil {
			return fmt.Errorf("%s: %w", n.Content[i].Value, err)
		}
		out[n.Content[i].Value] = string(v)
	}
	*m = out
	return nil
}

// Kubernetes objects.

// ObjectMeta is an object's metadata.
type ObjectMeta struct {
	Name        string    `yaml:"name"`
	Namespace   string    `yaml:"namespace"`
	Labels      StringMap `yaml:"labels"`
	Annotations StringMap `yaml:"annotations"`
}

// LabelSelector selects objects by their labels.
type LabelSelector struct {
	MatchLabels StringMap `yaml:"matchLabels"`
}

// PodTemplate is a workload's pod template.
type PodTemplate struct {
	Metadata ObjectMeta `yaml:"metadata"`
	Spec     PodSpec    `yaml:"spec"`
}

// PodSpec is the specification of a pod.
type PodSpec struct {
	RestartPolicy                 string              `yaml:"restartPolicy"`
	ServiceAccountName            string              `yaml:"serviceAccountName"`
	AutomountServiceAccountToken  *bool               `yaml:"automountServiceAccountToken"`
	TerminationGracePeriodSeconds *int                `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               *PodSecurityContext `yaml:"securityContext"`
	NodeSelector                  StringMap           `yaml:"nodeSelector"`
	TopologySpreadConstraints     []struct {
		MaxSkew           int           `yaml:"maxSkew"`
		TopologyKey       string        `yaml:"topologyKey"`
		WhenUnsatisfiable string        `yaml:"whenUnsatisfiable"`
		LabelSelector     LabelSelector `yaml:"labelSelector"`
	} `yaml:"topologySpreadConstraints"`
	InitContainers []Container `yaml:"initContainers"`
	Containers     []Container `yaml:"containers"`
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

// SeccompProfile names a seccomp profile.
type SeccompProfile struct {
	Type string `yaml:"type"`
}

// PodSecurityContext is a pod's security settings.
type PodSecurityContext struct {
	RunAsNonRoot   *bool           `yaml:"runAsNonRoot"`
	RunAsUser      *int64          `yaml:"runAsUser"`
	RunAsGroup     *int64          `yaml:"runAsGroup"`
	FSGroup        *int64          `yaml:"fsGroup"`
	SeccompProfile *SeccompProfile `yaml:"seccompProfile"`
}

// ContainerSecurityContext is a container's security settings.
type ContainerSecurityContext struct {
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
	SeccompProfile *SeccompProfile `yaml:"seccompProfile"`
}

// KeyRef names one key of a ConfigMap or Secret.
type KeyRef struct {
	Name     string `yaml:"name"`
	Key      string `yaml:"key"`
	Optional *bool  `yaml:"optional"`
}

// EnvVar is one environment variable of a container.
type EnvVar struct {
	Name      string      `yaml:"name"`
	Value     *KubeString `yaml:"value"`
	ValueFrom *struct {
		SecretKeyRef    *KeyRef `yaml:"secretKeyRef"`
		ConfigMapKeyRef *KeyRef `yaml:"configMapKeyRef"`
		FieldRef        *struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
	} `yaml:"valueFrom"`
}

// NameRef names a whole ConfigMap or Secret.
type NameRef struct {
	Name     string `yaml:"name"`
	Optional *bool  `yaml:"optional"`
}

// HTTPGetAction is a probe or hook that sends GET to a path and port.
type HTTPGetAction struct {
	Path   string      `yaml:"path"`
	Port   IntOrString `yaml:"port"`
	Scheme string      `yaml:"scheme"`
}

// Probe is a startup, liveness or readiness probe.
type Probe struct {
	HTTPGet   *HTTPGetAction `yaml:"httpGet"`
	TCPSocket *struct {
		Port IntOrString `yaml:"port"`
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

// Period returns the seconds between probes, with Kubernetes' default.
func (p *Probe) Period() int { return orDefault(p.PeriodSeconds, 10) }

// Timeout returns the seconds one probe may take, with Kubernetes' default.
func (p *Probe) Timeout() int { return orDefault(p.TimeoutSeconds, 1) }

// Failures returns how many failed probes in a row count as a failure,
// with Kubernetes' default.
func (p *Probe) Failures() int { return orDefault(p.FailureThreshold, 3) }

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// Container is one container of a pod.
type Container struct {
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
		ConfigMapRef *NameRef `yaml:"configMapRef"`
		SecretRef    *NameRef `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Env            []EnvVar `yaml:"env"`
	StartupProbe   *Probe   `yaml:"startupProbe"`
	LivenessProbe  *Probe   `yaml:"livenessProbe"`
	ReadinessProbe *Probe   `yaml:"readinessProbe"`
	Lifecycle      *struct {
		PreStop *struct {
			Sleep *struct {
				Seconds int `yaml:"seconds"`
			} `yaml:"sleep"`
			Exec *struct {
				Command []string `yaml:"command"`
			} `yaml:"exec"`
			HTTPGet *HTTPGetAction `yaml:"httpGet"`
		} `yaml:"preStop"`
	} `yaml:"lifecycle"`
	Resources struct {
		Requests StringOrNumberMap `yaml:"requests"`
		Limits   StringOrNumberMap `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *ContainerSecurityContext `yaml:"securityContext"`
	VolumeMounts    []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

// StringOrNumberMap holds resource quantities, which may be written as
// numbers (cpu: 1) or strings (memory: 128Mi).
type StringOrNumberMap map[string]string

// PreStopSleep returns the seconds of the container's preStop sleep, or 0.
func (c *Container) PreStopSleep() int {
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		return c.Lifecycle.PreStop.Sleep.Seconds
	}
	return 0
}

// Probes returns the container's probes by kind, in a stable order.
func (c *Container) Probes() []NamedProbe {
	var out []NamedProbe
	for _, p := range []NamedProbe{{"startup", c.StartupProbe}, {"liveness", c.LivenessProbe}, {"readiness", c.ReadinessProbe}} {
		if p.Probe != nil {
			out = append(out, p)
		}
	}
	return out
}

// NamedProbe is a container's probe with its kind.
type NamedProbe struct {
	Kind  string
	Probe *Probe
}

// ContainerPort resolves a port given by number or by name against the
// container's declared ports.
func (c *Container) ContainerPort(p IntOrString) (int, bool) {
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

// DeploymentSpec is the specification of a Deployment.
type DeploymentSpec struct {
	Replicas             *int `yaml:"replicas"`
	RevisionHistoryLimit *int `yaml:"revisionHistoryLimit"`
	MinReadySeconds      int  `yaml:"minReadySeconds"`
	Strategy             *struct {
		Type          string `yaml:"type"`
		RollingUpdate *struct {
			MaxUnavailable *IntOrString `yaml:"maxUnavailable"`
			MaxSurge       *IntOrString `yaml:"maxSurge"`
		} `yaml:"rollingUpdate"`
	} `yaml:"strategy"`
	Selector LabelSelector `yaml:"selector"`
	Template PodTemplate   `yaml:"template"`
}

// JobSpec is the specification of a Job.
type JobSpec struct {
	BackoffLimit            *int          `yaml:"backoffLimit"`
	ActiveDeadlineSeconds   *int          `yaml:"activeDeadlineSeconds"`
	TTLSecondsAfterFinished *int          `yaml:"ttlSecondsAfterFinished"`
	Selector                LabelSelector `yaml:"selector"`
	Template                PodTemplate   `yaml:"template"`
}

// ServiceSpec is the specification of a Service.
type ServiceSpec struct {
	Type     string    `yaml:"type"`
	Selector StringMap `yaml:"selector"`
	Ports    []struct {
		Name       string      `yaml:"name"`
		Port       int         `yaml:"port"`
		TargetPort IntOrString `yaml:"targetPort"`
		Protocol   string      `yaml:"protocol"`
	} `yaml:"ports"`
}

// PDBSpec is the specification of a PodDisruptionBudget.
type PDBSpec struct {
	MinAvailable   *IntOrString  `yaml:"minAvailable"`
	MaxUnavailable *IntOrString  `yaml:"maxUnavailable"`
	Selector       LabelSelector `yaml:"selector"`
}

// Object is one Kubernetes object; the field of its kind is set.
type Object struct {
	File       string
	APIVersion string
	Kind       string
	Metadata   ObjectMeta
	Deployment *DeploymentSpec
	Job        *JobSpec
	Service    *ServiceSpec
	PDB        *PDBSpec
	Data       StringMap // ConfigMap data, Secret stringData
	SecretType string
}

// Ref names the object and its file for messages.
func (o *Object) Ref() string {
	return fmt.Sprintf("%s %s/%s (%s)", o.Kind, o.Metadata.Namespace, o.Metadata.Name, o.File)
}

// typed is the shape of every kind: apiVersion, kind, metadata and S.
type typed[S any] struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   ObjectMeta `yaml:"metadata"`
	Spec       S          `yaml:"spec"`
}

// ParseK8sFile decodes every document of a manifest file.
func ParseK8sFile(name, text string) ([]Object, error) {
	dec := yaml.NewDecoder(strings.NewReader(text))
	var out []Object
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
		obj, err := decodeObject(name, doc)
		if err != nil {
			return out, fmt.Errorf("document %d: %w", i, err)
		}
		out = append(out, obj)
	}
}

func decodeObject(file string, doc []byte) (Object, error) {
	var head struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return Object{}, err
	}
	obj := Object{File: file, APIVersion: head.APIVersion, Kind: head.Kind}
	var err error
	switch head.Kind {
	case "Deployment":
		var v typed[DeploymentSpec]
		err = DecodeStrict(doc, &v)
		obj.Metadata, obj.Deployment = v.Metadata, &v.Spec
	case "Job":
		var v typed[JobSpec]
		err = DecodeStrict(doc, &v)
		obj.Metadata, obj.Job = v.Metadata, &v.Spec
	case "Service":
		var v typed[ServiceSpec]
		err = DecodeStrict(doc, &v)
		obj.Metadata, obj.Service = v.Metadata, &v.Spec
	case "PodDisruptionBudget":
		var v typed[PDBSpec]
		err = DecodeStrict(doc, &v)
		obj.Metadata, obj.PDB = v.Metadata, &v.Spec
	case "Namespace":
		var v struct {
			APIVersion string     `yaml:"apiVersion"`
			Kind       string     `yaml:"kind"`
			Metadata   ObjectMeta `yaml:"metadata"`
		}
		err = DecodeStrict(doc, &v)
		obj.Metadata = v.Metadata
	case "ConfigMap":
		var v struct {
			APIVersion string     `yaml:"apiVersion"`
			Kind       string     `yaml:"kind"`
			Metadata   ObjectMeta `yaml:"metadata"`
			Data       StringMap  `yaml:"data"`
		}
		err = DecodeStrict(doc, &v)
		obj.Metadata, obj.Data = v.Metadata, v.Data
	case "Secret":
		var v struct {
			APIVersion string     `yaml:"apiVersion"`
			Kind       string     `yaml:"kind"`
			Metadata   ObjectMeta `yaml:"metadata"`
			Type       string     `yaml:"type"`
			StringData StringMap  `yaml:"stringData"`
		}
		err = DecodeStrict(doc, &v)
		obj.Metadata, obj.Data, obj.SecretType = v.Metadata, v.StringData, v.Type
	default:
		return obj, fmt.Errorf("kind %q: the checks do not know it; add it to decodeObject", head.Kind)
	}
	if err != nil {
		return obj, fmt.Errorf("%s %s: %w", head.Kind, obj.Metadata.Name, err)
	}
	return obj, nil
}

// Kustomization is deployments/k8s/kustomization.yaml.
type Kustomization struct {
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
