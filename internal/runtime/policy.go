package runtime

import (
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/servo-data/servo/internal/domain"
)

// Policy is the operator's allowlist of what compute specs may run.
type Policy struct {
	// Commands are absolute paths of executables a command spec may run;
	// empty means command execution is off.
	Commands []string
	// Hosts are host names an http spec may call; empty means none.
	Hosts []string
	// MaxTimeout caps a spec's timeout: it must stay below the lease, or a
	// step still running would be taken for a lost one.
	MaxTimeout string
}

// resolve finds argv0 on PATH and returns its cleaned absolute path with
// symlinks resolved.
func resolve(argv0 string) (string, error) {
	p, err := exec.LookPath(argv0)
	if err != nil {
		return "", err
	}
	p, err = filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	return filepath.Clean(p), nil
}

// allowedCommand reports whether path is on the list, comparing resolved
// paths so that a symlink cannot smuggle another executable in.
func (p Policy) allowedCommand(path string) bool {
	for _, c := range p.Commands {
		if c == "" {
			continue
		}
		if filepath.Clean(c) == path {
			return true
		}
		if r, err := filepath.EvalSymlinks(c); err == nil && filepath.Clean(r) == path {
			return true
		}
	}
	return false
}

// Allow implements service.ComputePolicy: a command's argv[0], resolved with
// PATH, must be an allowed executable; an http URL's host must be allowed.
func (p Policy) Allow(spec *domain.ComputeSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if p.MaxTimeout != "" && spec.Timeout != "" {
		if max := (&domain.ComputeSpec{Timeout: p.MaxTimeout}).TimeoutDuration(); spec.TimeoutDuration() > max {
			return domain.Invalid("compute.timeout", "must be at most %s on this server", p.MaxTimeout)
		}
	}
	switch spec.Kind {
	case domain.ComputeCommand:
		if len(p.Commands) == 0 {
			return domain.Invalid("compute.argv", "command execution is off on this server (SERVO_RUNTIME_ALLOWED_COMMANDS)")
		}
		path, err := resolve(spec.Argv[0])
		if err != nil || !p.allowedCommand(path) {
			return domain.Invalid("compute.argv", "executable %q is not allowed on this server", spec.Argv[0])
		}
	case domain.ComputeHTTP:
		u, err := url.Parse(spec.URL)
		if err != nil {
			return domain.Invalid("compute.url", "is not a URL")
		}
		host := strings.ToLower(u.Hostname())
		if !slices.ContainsFunc(p.Hosts, func(h string) bool { return strings.EqualFold(strings.TrimSpace(h), host) }) {
			return domain.Invalid("compute.url", "host %q is not allowed on this server (SERVO_RUNTIME_ALLOWED_HOSTS)", host)
		}
	default:
		return domain.Invalid("compute.kind", "must be command or http")
	}
	return nil
}

// commandPath returns the executable a spec runs, checked again at run time
// (the policy or PATH may have changed since the spec was written).
func (p Policy) commandPath(spec *domain.ComputeSpec) (string, error) {
	if err := p.Allow(spec); err != nil {
		return "", fmt.Errorf("refused at run time: %w", err)
	}
	return resolve(spec.Argv[0])
}
