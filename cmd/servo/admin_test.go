package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var keyPattern = regexp.MustCompile(`^servo_[A-Za-z0-9_-]{43}\n$`)

func TestTenantsAndKeysCommands(t *testing.T) {
	t.Parallel()
	_, env := sqliteEnv(t)
	env = append(env, "SERVO_LOG_LEVEL=warn")

	created := servo(t, env, "keys", "create", "--tenant", "acme", "--name", "ci")
	if created.code != 0 || !keyPattern.MatchString(created.stdout) {
		t.Fatalf("keys create = %+v, want only the key on stdout", created)
	}
	key := strings.TrimSpace(created.stdout)
	if strings.Contains(created.stderr, key) {
		t.Fatalf("the key leaked to stderr: %s", created.stderr)
	}

	tenants := servo(t, env, "tenants", "list")
	if tenants.code != 0 || !strings.Contains(tenants.stdout, "acme") {
		t.Fatalf("tenants list = %+v", tenants)
	}
	if got := servo(t, env, "tenants", "create", "globex", "--name", "Globex"); got.code != 0 || got.stdout != "globex\n" {
		t.Fatalf("tenants create = %+v", got)
	}
	if got := servo(t, env, "tenants", "create", "globex"); got.code != 1 || !strings.Contains(got.stderr, "conflict") {
		t.Fatalf("duplicate tenant = %+v", got)
	}
	if got := servo(t, env, "tenants", "create", "Not Valid"); got.code != 1 || !strings.Contains(got.stderr, "must match") {
		t.Fatalf("invalid tenant = %+v", got)
	}

	list := servo(t, env, "keys", "list", "--tenant", "acme")
	if list.code != 0 || strings.Contains(list.stdout, key) || !strings.Contains(list.stdout, key[:12]) || !strings.Contains(list.stdout, " ci ") {
		t.Fatalf("keys list = %+v, want the prefix and name, never the key", list)
	}
	id := strings.Fields(strings.Split(list.stdout, "\n")[1])[0]
	if got := servo(t, env, "keys", "revoke", id); got.code != 0 || !strings.Contains(got.stdout, "revoked "+id) {
		t.Fatalf("keys revoke = %+v", got)
	}
	if got := servo(t, env, "keys", "revoke", id); got.code != 1 || !strings.Contains(got.stderr, "already revoked") {
		t.Fatalf("second revoke = %+v", got)
	}
	if got := servo(t, env, "keys", "revoke", "not-a-uuid"); got.code != 1 {
		t.Fatalf("revoke of a malformed id = %+v", got)
	}
	if got := servo(t, env, "keys", "list", "--tenant", "nobody"); got.code != 1 || !strings.Contains(got.stderr, "not found") {
		t.Fatalf("keys of a missing tenant = %+v", got)
	}
	if got := servo(t, env, "keys", "create"); got.code != 1 || !strings.Contains(got.stderr, "tenant") {
		t.Fatalf("keys create without --tenant = %+v", got)
	}
	list = servo(t, env, "keys", "list", "--tenant", "acme")
	if !strings.Contains(list.stdout, "Z\n") || strings.HasSuffix(strings.TrimSpace(list.stdout), "-") {
		t.Fatalf("revoked key not shown as revoked: %s", list.stdout)
	}
}

func fmtSscan(s string, v *int) (int, error) { return fmt.Sscan(s, v) }
