package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/servo-data/servo/internal/config/defaults"
	"github.com/servo-data/servo/internal/domain"
)

// Isolation modes of command steps (runtime.isolation).
const (
	// IsolationAuto picks bwrap where the bwrap program is found, else
	// IsolationUser where the server can switch users, else refuses.
	IsolationAuto = "auto"
	// IsolationBwrap runs each step in a bubblewrap sandbox (as the step
	// user when the server runs as root).
	IsolationBwrap = "bwrap"
	// IsolationUser runs each step as the step user, without namespaces.
	IsolationUser = "user"
	// IsolationNone runs steps as the server's own user, in its world: for
	// development only; it is logged at every start and shown on
	// /api/v1/health.
	IsolationNone = "none"
)

// IsolationOff is what a process reports that runs no command steps.
const IsolationOff = "off"

// DefaultStepUser is the account command steps run as when the server runs
// as root and runtime.step_user is not set.
const DefaultStepUser = defaults.StepUser

// ErrNoIsolation is returned when command steps are enabled but cannot be
// isolated from the server.
var ErrNoIsolation = errors.New("command steps cannot be isolated")

// SandboxConfig says how command steps are isolated from the server.
type SandboxConfig struct {
	// Isolation is auto (default), bwrap, user or none.
	Isolation string
	// StepUser is the account steps run as: a name or uid:gid. Empty means
	// DefaultStepUser when the server runs as root.
	StepUser string
	// Network is the default step network: host (default) or none.
	Network string
	// Path is the PATH steps get, and where bare argv[0] names are looked
	// up; default DefaultStepPath.
	Path string
	// Bwrap is the bubblewrap program; default "bwrap" found on the
	// server's PATH.
	Bwrap string
	// Binds are host directories mounted read-write, at the same path, in
	// every bwrap sandbox. Not an operator setting: tests use it to see
	// what a step wrote.
	Binds []string
}

// sandbox launches command steps isolated as its mode says.
type sandbox struct {
	mode    string
	cred    *syscall.Credential // the step user; nil: the server's uid
	bwrap   string
	network string
	path    string
	binds   []string
	// exposed are the allowlisted executables, mounted read-only in the
	// sandbox at the path the allowlist names.
	exposed []string
	// mounts are the bwrap options that mount the host's files, the same
	// for every step: worked out once, not at each start.
	mounts []string
	// removing counts the work directories still being removed.
	removing sync.WaitGroup
	// hold, set by tests only, makes every sandbox wait, once set up and
	// before it starts the step, until hold is written to or closed.
	hold *os.File
}

// bwrapProgram returns the bwrap program's path, or "" when it is missing.
func bwrapProgram(name string) string {
	if name == "" {
		name = "bwrap"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return p
}

// lookupStepUser resolves a name or uid:gid to credentials.
func lookupStepUser(spec string) (*syscall.Credential, error) {
	if u, g, ok := strings.Cut(spec, ":"); ok {
		uid, err1 := strconv.ParseUint(u, 10, 32)
		gid, err2 := strconv.ParseUint(g, 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("runtime.step_user %q: write a user name or uid:gid in numbers", spec)
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
	}
	u, err := user.Lookup(spec)
	if err != nil {
		return nil, fmt.Errorf("runtime.step_user %q: %w", spec, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("runtime.step_user %q has a non-numeric uid or gid", spec)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// newSandbox decides how steps run. With commands off it never fails (no
// step will run); with commands on it refuses a setup in which a step
// would run as the server in the server's world, unless isolation is none.
func newSandbox(cfg SandboxConfig, commands []string) (*sandbox, error) {
	s := &sandbox{network: cfg.Network, path: cfg.Path, binds: cfg.Binds, exposed: commands}
	if s.network == "" {
		s.network = domain.NetworkHost
	}
	if s.path == "" {
		s.path = DefaultStepPath
	}
	mode := cfg.Isolation
	if mode == "" {
		mode = IsolationAuto
	}
	enabled := len(commands) > 0
	fail := func(format string, args ...any) (*sandbox, error) {
		if !enabled {
			s.mode = IsolationOff
			return s, nil
		}
		return nil, fmt.Errorf("%w: %s", ErrNoIsolation, fmt.Sprintf(format, args...))
	}
	switch mode {
	case IsolationAuto, IsolationBwrap, IsolationUser, IsolationNone:
	default:
		return nil, fmt.Errorf("runtime.isolation %q is not one of auto, bwrap, user, none", mode)
	}
	if s.network != domain.NetworkHost && s.network != domain.NetworkNone {
		return nil, fmt.Errorf("runtime.step_network %q is not one of host, none", s.network)
	}
	if !enabled {
		s.mode = IsolationOff
		return s, nil
	}
	if mode == IsolationNone {
		s.mode = IsolationNone
		return s, nil
	}
	root := os.Geteuid() == 0
	switch {
	case cfg.StepUser != "":
		cred, err := lookupStepUser(cfg.StepUser)
		if err != nil {
			return fail("%v", err)
		}
		if cred.Uid == 0 || cred.Uid == uint32(os.Geteuid()) {
			return fail("runtime.step_user %q is uid %d: steps must never run as root or as the server's own user", cfg.StepUser, cred.Uid)
		}
		if !root {
			return fail("runtime.step_user %q needs the server to run as root, to switch to it; or unset it and use runtime.isolation=bwrap", cfg.StepUser)
		}
		s.cred = cred
	case root:
		cred, err := lookupStepUser(DefaultStepUser)
		if err != nil {
			return fail("the server runs as root and the step account %q does not exist: create it (useradd --system --no-create-home --shell /usr/sbin/nologin %s) or set runtime.step_user (SERVO_RUNTIME_STEP_USER)", DefaultStepUser, DefaultStepUser)
		}
		s.cred = cred
	}
	bw := bwrapProgram(cfg.Bwrap)
	switch mode {
	case IsolationAuto:
		switch {
		case bw != "":
			s.mode, s.bwrap = IsolationBwrap, bw
		case s.cred != nil:
			s.mode = IsolationUser
		default:
			return fail("bwrap is not installed and the server cannot switch users: install bubblewrap (apt-get install bubblewrap), or run as root with runtime.step_user, or set runtime.isolation=none (SERVO_RUNTIME_ISOLATION=none) to run steps as the server, unisolated")
		}
	case IsolationBwrap:
		if bw == "" {
			return fail("runtime.isolation=bwrap but the bwrap program is not found: install bubblewrap (apt-get install bubblewrap)")
		}
		s.mode, s.bwrap = IsolationBwrap, bw
	case IsolationUser:
		if s.cred == nil {
			return fail("runtime.isolation=user needs the server to run as root, to switch to runtime.step_user")
		}
		s.mode = IsolationUser
	}
	if s.network == domain.NetworkNone && s.mode != IsolationBwrap {
		return fail("runtime.step_network=none needs runtime.isolation=bwrap")
	}
	if s.mode == IsolationBwrap {
		s.mounts = s.hostMounts()
	}
	return s, nil
}

// workDir makes a step's private work directory, owned by the step user.
func (s *sandbox) workDir() (string, error) {
	dir, err := os.MkdirTemp("", "servo-run-")
	if err != nil {
		return "", err
	}
	if s.cred != nil {
		if err := os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			_ = os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}

// discard removes a step's work directory in the background, so that the
// worker settles the step and starts the next without waiting for it.
func (s *sandbox) discard(dir string) {
	s.removing.Add(1)
	go func() {
		defer s.removing.Done()
		_ = os.RemoveAll(dir)
	}()
}

// drain waits until the work directories being removed are gone.
func (s *sandbox) drain() { s.removing.Wait() }

// network returns the network a spec's step gets, or an error when the
// spec asks for more than the server allows.
func (s *sandbox) stepNetwork(spec *domain.ComputeSpec) (string, error) {
	switch spec.Network {
	case "":
		return s.network, nil
	case domain.NetworkNone:
		if s.mode != IsolationBwrap {
			return "", fmt.Errorf("network none needs runtime.isolation=bwrap on this server")
		}
		return domain.NetworkNone, nil
	case domain.NetworkHost:
		if s.network != domain.NetworkHost {
			return "", fmt.Errorf("the host network is off on this server (runtime.step_network=none)")
		}
		return domain.NetworkHost, nil
	}
	return "", fmt.Errorf("network %q is not host or none", spec.Network)
}

// command builds the process that runs path with args (argv[0] is path)
// in env, inside work directory dir. The caller starts it and then calls
// the returned function with whether it started. The process leads its
// own process group, so that killing the group ends the step and its
// children.
//
// Under bwrap the sandbox must die with the worker however the worker
// ends. bwrap's --die-with-parent covers the step only once the sandbox is
// set up: while it sets up (mounts, namespaces) bwrap's inner process has
// no parent-death signal of its own, and if the outer bwrap died then, the
// inner one would live on, orphaned. So the outer bwrap starts as the init
// process of a PID namespace of its own: whenever it dies, the kernel kills
// every process of that namespace, the whole sandbox included; and it gets
// the parent-death signal (set by the caller) from the worker's thread.
// Its options are written only once it has started with that signal in
// place: a bwrap whose worker died before then reads no options and runs
// nothing (an empty root holds no program).
func (s *sandbox) command(path string, args, env []string, dir, network string) (*exec.Cmd, func(started bool), error) {
	attr := &syscall.SysProcAttr{Setpgid: true, Credential: s.cred}
	if s.mode != IsolationBwrap {
		cmd := exec.Command(path, args...)
		cmd.Env = env
		cmd.Dir = dir
		cmd.SysProcAttr = attr
		return cmd, func(bool) {}, nil
	}
	argv := s.bwrapArgs(env, dir, network)
	// The options go through a pipe (--args), not the command line, so
	// that the step's variables are not in any process's cmdline; the
	// command and its arguments follow "--".
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	files := []*os.File{r}
	if s.hold != nil {
		// Tests only: the sandbox, once set up, waits until hold is
		// written to or closed.
		files = append(files, s.hold)
		argv = append(argv, "--block-fd", "4")
	}
	cmd := exec.Command(s.bwrap, append([]string{"--args", "3", "--", path}, args...)...)
	// bwrap is pid 1 of the sandbox, and its own environment is readable
	// there as /proc/1/environ: it starts with none at all.
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.ExtraFiles = files
	attr.Cloneflags = syscall.CLONE_NEWPID
	if s.cred == nil && os.Geteuid() != 0 {
		// Not root: a PID namespace needs a user namespace of its own,
		// in which the server's ids map to themselves.
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Geteuid(), HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getegid(), HostID: os.Getegid(), Size: 1}}
	}
	cmd.SysProcAttr = attr
	return cmd, func(started bool) {
		_ = r.Close()
		if !started {
			_ = w.Close()
			return
		}
		go func() {
			var b strings.Builder
			for _, a := range argv {
				b.WriteString(a)
				b.WriteByte(0)
			}
			_, _ = w.WriteString(b.String())
			_ = w.Close()
		}()
	}, nil
}

// etcFiles are the parts of /etc a step sees: name lookup, TLS roots,
// time zone, loader cache and the alternatives system's links.
var etcFiles = []string{
	"/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/hosts", "/etc/resolv.conf",
	"/etc/host.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols", "/etc/ssl",
	"/etc/ca-certificates", "/etc/localtime", "/etc/timezone", "/etc/alternatives",
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/mime.types",
}

// bwrapArgs are the options of the sandbox: new pid, ipc and uts namespaces (and net when
// the step's network is none), a new mount namespace holding /usr and a
// few /etc files read-only, fresh /proc, /dev and /tmp, the work directory
// read-write, the allowlisted executables read-only; nothing else of the
// host's files. The sandbox dies with the server.
func (s *sandbox) bwrapArgs(env []string, dir, network string) []string {
	a := make([]string, 0, 16+len(s.mounts)+3*len(s.binds)+5+3*len(env))
	a = append(a,
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		"--die-with-parent", "--hostname", "servo-step", "--clearenv",
	)
	if network == domain.NetworkNone {
		a = append(a, "--unshare-net")
	}
	if s.cred == nil {
		// Not root: a user namespace in which the step is nobody.
		a = append(a, "--unshare-user", "--uid", "65534", "--gid", "65534")
	}
	a = append(a, s.mounts...)
	for _, b := range s.binds {
		a = append(a, "--bind", b, b)
	}
	a = append(a, "--bind", dir, dir, "--chdir", dir)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		a = append(a, "--setenv", k, v)
	}
	return a
}

// hostMounts are the options mounting the host's files every sandbox
// sees: /usr, the top-level links into it (or the directories themselves),
// the /etc files, fresh /proc, /dev, /tmp and /run, and the allowlisted
// executables outside /usr.
func (s *sandbox) hostMounts() []string {
	a := []string{"--ro-bind", "/usr", "/usr"}
	for _, d := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		if target, err := os.Readlink(d); err == nil {
			a = append(a, "--symlink", target, d)
		} else if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			a = append(a, "--ro-bind", d, d)
		}
	}
	for _, f := range etcFiles {
		a = append(a, "--ro-bind-try", f, f)
	}
	a = append(a, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run")
	for _, p := range s.exposed {
		if p = filepath.Clean(p); !strings.HasPrefix(p, "/usr/") {
			a = append(a, "--ro-bind-try", p, p)
		}
	}
	return a
}
