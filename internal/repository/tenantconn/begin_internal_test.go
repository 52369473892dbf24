package tenantconn

import "testing"

// TestBeginQuery checks the one message that begins a scoped transaction:
// BEGIN, then SetScopeSQL with the values quoted as literals, whatever
// they hold.
func TestBeginQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		scope Scope
		want  string
	}{
		{"tenant", Scope{Tenant: "acme"},
			"BEGIN; SELECT set_config('app.tenant_id', 'acme', true), set_config('app.system', '', true)"},
		{"system", Scope{System: "on"},
			"BEGIN; SELECT set_config('app.tenant_id', '', true), set_config('app.system', 'on', true)"},
		{"quote doubled", Scope{Tenant: "o'brien"},
			"BEGIN; SELECT set_config('app.tenant_id', 'o''brien', true), set_config('app.system', '', true)"},
		{"injection stays a literal", Scope{Tenant: "x', true); DROP TABLE assets; --"},
			"BEGIN; SELECT set_config('app.tenant_id', 'x'', true); DROP TABLE assets; --', true), set_config('app.system', '', true)"},
		{"NUL dropped", Scope{Tenant: "a\x00b"},
			"BEGIN; SELECT set_config('app.tenant_id', 'ab', true), set_config('app.system', '', true)"},
		{"placeholder text in a value is not replaced again", Scope{Tenant: "$2"},
			"BEGIN; SELECT set_config('app.tenant_id', '$2', true), set_config('app.system', '', true)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := beginQuery(tc.scope); got != tc.want {
				t.Errorf("beginQuery(%+v) =\n%s\nwant\n%s", tc.scope, got, tc.want)
			}
		})
	}
}
