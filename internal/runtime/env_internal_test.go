package runtime

import (
	"slices"
	"testing"

	"github.com/servo-data/servo/internal/domain"
)

// TestStepEnvIsBuilt pins the whole step environment: the fixed base, the
// spec's variables in name order, the run context last; a spec stored
// before the name rules cannot bring in a start-up variable or override
// PATH, HOME, TMPDIR or the run context, and may set LANG.
func TestStepEnvIsBuilt(t *testing.T) {
	t.Parallel()
	rc := runContext{RunID: "e", WorkflowID: "w", TenantID: "t", AssetID: "a", AssetName: "n", PartitionKey: "p", Attempt: 1, CheckResultsPath: "/tmp/w/" + CheckResultsFile}
	spec := &domain.ComputeSpec{Kind: domain.ComputeCommand, Argv: []string{"/bin/true"}, Env: map[string]string{
		"B": "2", "A": "1", "LANG": "de_DE.UTF-8",
		"LD_PRELOAD": "/x.so", "BASH_ENV": "/x", "PATH": "/evil", "HOME": "/", "TMPDIR": "/", "SERVO_TENANT_ID": "spoofed",
		"PYTHONPATH": "/x", "BASH_FUNC_ls%%": "() { id; }",
	}}
	got := stepEnv("/usr/bin:/bin", "/tmp/w", rc, spec)
	want := []string{
		"PATH=/usr/bin:/bin", "HOME=/tmp/w", "TMPDIR=/tmp/w", "LANG=de_DE.UTF-8", "A=1", "B=2",
		"SERVO_EXECUTION_ID=e", "SERVO_WORKFLOW_ID=w", "SERVO_TENANT_ID=t", "SERVO_ASSET_ID=a", "SERVO_ASSET_NAME=n",
		"SERVO_PARTITION_KEY=p", `SERVO_PARTITION_CONTEXT={"attempt":1,"execution_id":"e","partition_key":"p"}`,
		"SERVO_CHECK_RESULTS_PATH=/tmp/w/" + CheckResultsFile,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("step env =\n%q\nwant\n%q", got, want)
	}
	if got := stepEnv("/bin", "/w", rc, &domain.ComputeSpec{}); got[3] != "LANG=C.UTF-8" || len(got) != 12 {
		t.Fatalf("step env without spec variables = %q", got)
	}
}
