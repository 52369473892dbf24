package runtime

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/servo-data/servo/internal/domain"
)

// Policy is the operator's allowlist of what compute specs may run.
type Policy struct {
	// Commands are absolute paths of executables a command spec may run;
	// empty means command execution is off. A step runs the path as the
	// list names it, with that path as argv[0]: a symlink to a multi-call
	// program (busybox) stays the applet it is named after.
	Commands []string
	// Hosts are host[:port] entries an http spec may call; a bare host
	// allows ports 443 and 80 only; empty means none.
	Hosts []string
	// MaxTimeout caps a spec's timeout: it must stay below the lease, or a
	// step still running would be taken for a lost one.
	MaxTimeout string
	// Path is where a bare argv[0] is looked up (the steps' PATH); default
	// DefaultStepPath.
	Path string
	// Network is the servers's step network (host or none); a spec may not
	// ask for host where it is none.
	Network string
	// Self are the server's own listen addresses (host:port); an http step
	// may never target them.
	Self []string
}

// executable reports whether p is a regular file someone may execute.
func executable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// sameEntry reports whether a and b name the same directory entry once
// the symlinks of their directories (not of the entries themselves) are
// resolved: /bin/echo and /usr/bin/echo on a merged-/usr system.
func sameEntry(a, b string) bool {
	if filepath.Base(a) != filepath.Base(b) {
		return false
	}
	da, err1 := filepath.EvalSymlinks(filepath.Dir(a))
	db, err2 := filepath.EvalSymlinks(filepath.Dir(b))
	return err1 == nil && err2 == nil && da == db
}

// allowedPath returns the allowlist entry candidate names, or "".
func (p Policy) allowedPath(candidate string) string {
	for _, c := range p.Commands {
		if c == "" {
			continue
		}
		c = filepath.Clean(c)
		if c == candidate || sameEntry(c, candidate) {
			return c
		}
	}
	return ""
}

// resolveCommand returns the allowlisted path argv0 runs: an absolute
// argv0 must name an allowlist entry (its directory may be reached through
// a symlink, the entry itself may not); a bare name is looked up in the
// steps' PATH. Relative paths are refused.
func (p Policy) resolveCommand(argv0 string) (string, bool) {
	if strings.Contains(argv0, "/") {
		if !filepath.IsAbs(argv0) {
			return "", false
		}
		c := p.allowedPath(filepath.Clean(argv0))
		return c, c != ""
	}
	path := p.Path
	if path == "" {
		path = DefaultStepPath
	}
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		cand := filepath.Join(dir, argv0)
		if !executable(cand) {
			continue
		}
		if c := p.allowedPath(cand); c != "" {
			return c, true
		}
	}
	return "", false
}

// hostPort splits an http step's URL into its host and port, the port
// defaulting to the scheme's.
func hostPort(u *url.URL) (string, string) {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return strings.ToLower(u.Hostname()), port
}

// allowedHost reports whether host:port is on the list: an entry with a
// port allows that port, a bare entry 443 and 80.
func (p Policy) allowedHost(host, port string) bool {
	return slices.ContainsFunc(p.Hosts, func(e string) bool {
		e = strings.ToLower(strings.TrimSpace(e))
		if h, pt, err := net.SplitHostPort(e); err == nil {
			return strings.Trim(h, "[]") == host && pt == port
		}
		return strings.Trim(e, "[]") == host && (port == "443" || port == "80")
	})
}

// isSelf reports whether host:port is one of the server's own listeners:
// the same port on the listener's host, or on any loopback or local
// address when the listener takes every interface.
func (p Policy) isSelf(host, port string) bool {
	for _, s := range p.Self {
		sh, sp, err := net.SplitHostPort(s)
		if err != nil || sp != port {
			continue
		}
		if strings.EqualFold(sh, host) || sh == "" || sh == "0.0.0.0" || sh == "::" || host == "localhost" {
			return true
		}
		if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified() || localAddress(ip)) {
			return true
		}
	}
	return false
}

// localAddress reports whether ip is an address of this machine.
func localAddress(ip net.IP) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// Allow implements service.ComputePolicy: a command's argv[0] must name an
// allowed executable; an http URL's host and port must be allowed and not
// the server's own.
func (p Policy) Allow(spec *domain.ComputeSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if p.MaxTimeout != "" && spec.Timeout != "" {
		if max := (&domain.ComputeSpec{Timeout: p.MaxTimeout}).TimeoutDuration(); spec.TimeoutDuration() > max {
			return domain.Invalid("compute.timeout", "must be at most %s on this server", p.MaxTimeout)
		}
	}
	if spec.Network == domain.NetworkHost && p.Network == domain.NetworkNone {
		return domain.Invalid("compute.network", "steps have no network on this server (runtime.step_network=none)")
	}
	switch spec.Kind {
	case domain.ComputeCommand:
		if len(p.Commands) == 0 {
			return domain.Invalid("compute.argv", "command execution is off on this server (SERVO_RUNTIME_ALLOWED_COMMANDS)")
		}
		if _, ok := p.resolveCommand(spec.Argv[0]); !ok {
			return domain.Invalid("compute.argv", "executable %q is not allowed on this server", spec.Argv[0])
		}
	case domain.ComputeHTTP:
		u, err := url.Parse(spec.URL)
		if err != nil {
			return domain.Invalid("compute.url", "is not a URL")
		}
		host, port := hostPort(u)
		if !p.allowedHost(host, port) {
			return domain.Invalid("compute.url", "%s is not allowed on this server (SERVO_RUNTIME_ALLOWED_HOSTS)", strconv.Quote(net.JoinHostPort(host, port)))
		}
		if p.isSelf(host, port) {
			return domain.Invalid("compute.url", "an http step cannot call this server itself")
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
	c, _ := p.resolveCommand(spec.Argv[0])
	return c, nil
}
