package testdb

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
)

// StepUser is the account the runtime runs command steps as when the
// server runs as root (runtime.DefaultStepUser).
const StepUser = "servo-step"

// ensureStepUser creates StepUser when the tests run as root and it is
// missing, as a deployment would (deployments/ and .ci/run create it too),
// so that the runtime's tests run steps in the real sandbox.
func ensureStepUser() error {
	if os.Geteuid() != 0 {
		return nil
	}
	if _, err := user.Lookup(StepUser); err == nil {
		return nil
	}
	out, err := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
		"--shell", "/usr/sbin/nologin", StepUser).CombinedOutput()
	if _, lerr := user.Lookup(StepUser); lerr == nil {
		return nil // created, here or by a test binary running at the same time
	}
	return fmt.Errorf("create the step account %s (useradd --system --no-create-home --shell /usr/sbin/nologin %s): %v: %s", StepUser, StepUser, err, out)
}
