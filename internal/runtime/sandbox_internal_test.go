package runtime

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/domain"
)

// groupMembers returns the live (not zombie) processes of process group
// pgid, from /proc.
func groupMembers(t *testing.T, pgid int) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 >= len(s) {
			continue
		}
		// After the command: state, ppid, pgrp, ...
		f := strings.Fields(s[i+2:])
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			out = append(out, pid)
		}
	}
	return out
}

// TestSandboxDiesWithItsLauncherDuringSetUp kills the outer bwrap while the
// sandbox is still being set up, the moment before it would start the step.
// bwrap's inner process takes its parent-death signal (--die-with-parent)
// only after this set-up, so on its own it would live on, orphaned, and go
// on to run the step with nobody waiting for it. The launcher's own PID
// namespace ends it with the launcher.
func TestSandboxDiesWithItsLauncherDuringSetUp(t *testing.T) {
	s, err := newSandbox(SandboxConfig{Isolation: IsolationBwrap}, []string{"/bin/sleep"})
	if err != nil {
		t.Fatal(err)
	}
	// The sandbox waits on hold once set up, until it is written to or
	// closed: the test holds the write end open throughout.
	hold, release, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = release.Close() }()
	s.hold = hold
	dir, err := s.workDir()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	cmd, launched, err := s.command("/bin/sleep", []string{"300"}, []string{"PATH=" + DefaultStepPath}, dir, domain.NetworkHost)
	if err != nil {
		t.Fatal(err)
	}
	done, err := startOnLockedThread(cmd)
	launched(err == nil)
	_ = hold.Close()
	if err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	defer func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }() // whatever happens, nothing is left
	// Wait until bwrap's inner process exists: it is set up (or setting
	// up) and waits on hold.
	for deadline := time.Now().Add(time.Minute); len(groupMembers(t, pgid)) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the sandbox's inner process never appeared (group %v)", groupMembers(t, pgid))
		}
	}
	// The launcher dies, as it would with the worker before the step ran.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-done
	var left []int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if left = groupMembers(t, pgid); len(left) == 0 {
			return
		}
	}
	t.Fatalf("processes of the sandbox outlived the bwrap that launched it: %v", left)
}
