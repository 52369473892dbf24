// Package deploycheck reads Servo's deployment files into typed values: the
// Dockerfile, the Docker Compose file, the Kubernetes manifests and
// kustomization, and the systemd units and environment files; and it
// parses a servo command line against the real command tree. The checks of
// what those files say live in the tests of cmd/servo, which can build that
// tree; this package only parses.
//
// The Kubernetes manifests and the compose file are decoded strictly: a
// field the types here do not know is an error, because the API server
// (kubectl's strict field validation) and `docker compose` refuse it too,
// and a misspelt field such as "readinesProbe" would otherwise pass
// unnoticed. A field added on purpose only needs adding to its type here.
package deploycheck

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Paths of the files the checks read, relative to the repository root.
const (
	DockerfilePath    = "deployments/Dockerfile"
	ComposePath       = "deployments/compose.yaml"
	K8sDir            = "deployments/k8s"
	KustomizationPath = "deployments/k8s/kustomization.yaml"
	SystemdDir        = "deployments/systemd"
)

// ReadTree reads every file the checks look at into a map keyed by its
// slash-separated path from the repository root.
func ReadTree(fsys fs.FS) (map[string]string, error) {
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

// Bundle is every deployment file, parsed.
type Bundle struct {
	Files         map[string]string
	Docker        Dockerfile
	Compose       ComposeFile
	Objects       []Object
	K8sFiles      []string
	Kustomization Kustomization
	Units         map[string]Unit
	EnvFiles      map[string]map[string]string
}

// ParseBundle parses the files ReadTree returned. Any file that does not
// parse is an error: a deploy would fail on it.
func ParseBundle(files map[string]string) (*Bundle, error) {
	b := &Bundle{Files: files, Units: map[string]Unit{}, EnvFiles: map[string]map[string]string{}}
	var errs []error
	need := func(p string) string {
		text, ok := files[p]
		if !ok {
			errs = append(errs, fmt.Errorf("%s is missing", p))
		}
		return text
	}

	var err error
	if b.Docker, err = ParseDockerfile(need(DockerfilePath)); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", DockerfilePath, err))
	}
	if err = DecodeStrict([]byte(need(ComposePath)), &b.Compose); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", ComposePath, err))
	}
	if err = DecodeStrict([]byte(need(KustomizationPath)), &b.Kustomization); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", KustomizationPath, err))
	}

	for _, p := range sortedKeys(files) {
		dir, name := path.Split(p)
		switch {
		case dir == K8sDir+"/" && strings.HasSuffix(name, ".yaml") && name != "kustomization.yaml":
			b.K8sFiles = append(b.K8sFiles, name)
			objs, err := ParseK8sFile(name, files[p])
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p, err))
			}
			b.Objects = append(b.Objects, objs...)
		case dir == SystemdDir+"/" && strings.HasSuffix(name, ".service"):
			u, err := ParseUnit(files[p])
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p, err))
			}
			b.Units[name] = u
		case dir == SystemdDir+"/" && strings.HasSuffix(name, ".env.example"):
			env, err := ParseEnvFile(files[p])
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p, err))
			}
			b.EnvFiles[name] = env
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

// DecodeStrict decodes one YAML document into v, refusing unknown fields.
func DecodeStrict(doc []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return err
	}
	return nil
}
