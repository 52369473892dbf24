package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDeploymentsCreateTheStepAccount checks that every way of deploying
// Servo provides servo-step, the unprivileged account command steps run as
// when a worker runs as root, and that it is never the server's own: the
// image's passwd and group hold it with a uid of its own and no shell, and
// the systemd unit creates it before the server starts.
func TestDeploymentsCreateTheStepAccount(t *testing.T) {
	t.Parallel()
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	docker := read("deployments/Dockerfile")
	entry := regexp.MustCompile(`'servo-step:x:(\d+):(\d+):[^:]*:[^:]*:(/[a-z/]*nologin)'`).FindStringSubmatch(docker)
	if entry == nil {
		t.Fatal("deployments/Dockerfile: the image's passwd has no servo-step entry with a nologin shell")
	}
	user := regexp.MustCompile(`(?m)^USER (\d+):(\d+)$`).FindAllStringSubmatch(docker, -1)
	if len(user) == 0 {
		t.Fatal("deployments/Dockerfile: no numeric USER")
	}
	if uid := entry[1]; uid == "0" || uid == user[len(user)-1][1] {
		t.Errorf("deployments/Dockerfile: servo-step has uid %s, the same as root or the server's USER", uid)
	}
	if !regexp.MustCompile(`'servo-step:x:` + entry[2] + `:'`).MatchString(docker) {
		t.Errorf("deployments/Dockerfile: the image's group has no servo-step group %s", entry[2])
	}
	for _, line := range []string{"COPY --from=build /out/passwd /etc/passwd", "COPY --from=build /out/group /etc/group"} {
		if !strings.Contains(docker, line) {
			t.Errorf("deployments/Dockerfile: the final stage lacks %q", line)
		}
	}

	unit := read("deployments/systemd/servo.service")
	pre := regexp.MustCompile(`(?m)^ExecStartPre=\+/usr/bin/systemd-sysusers --inline "u servo-step - - /nonexistent /usr/sbin/nologin"$`)
	if !pre.MatchString(unit) {
		t.Error("deployments/systemd/servo.service: no ExecStartPre creating servo-step (systemd-sysusers --inline, privileged, nologin)")
	}
	if strings.Index(unit, "ExecStartPre=") > strings.Index(unit, "ExecStart=/") {
		t.Error("deployments/systemd/servo.service: servo-step is created after the server starts")
	}

	for _, p := range []string{"deployments/k8s/worker.yaml", "configs/servo.production.yaml"} {
		if body := read(p); !strings.Contains(body, "servo-step") {
			t.Errorf("%s does not say which account steps run as", p)
		}
	}
}
