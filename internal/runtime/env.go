package runtime

import (
	"sort"
	"strings"

	"github.com/servo-data/servo/internal/config/defaults"
	"github.com/servo-data/servo/internal/domain"
)

// DefaultStepPath is the PATH command steps get unless runtime.step_path
// says otherwise.
const DefaultStepPath = defaults.StepPath

// stepEnv builds a command step's whole environment; nothing is inherited
// from the server. It is exactly: PATH (the operator's), HOME and TMPDIR
// (the step's private work directory), LANG=C.UTF-8, the spec's variables,
// and the run context (SERVO_*), which the spec cannot override. Names a
// spec may not set (domain.ReservedEnvName) are dropped here too, in case
// a spec stored before that rule reaches a worker.
func stepEnv(path, workDir string, rc runContext, spec *domain.ComputeSpec) []string {
	env := []string{
		"PATH=" + path,
		"HOME=" + workDir,
		"TMPDIR=" + workDir,
		"LANG=C.UTF-8",
	}
	names := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if strings.HasPrefix(strings.ToUpper(k), "SERVO_") || domain.ReservedEnvName(k) {
			continue
		}
		if k == "LANG" {
			env[3] = "LANG=" + spec.Env[k]
			continue
		}
		env = append(env, k+"="+spec.Env[k])
	}
	return append(env,
		"SERVO_EXECUTION_ID="+rc.RunID,
		"SERVO_WORKFLOW_ID="+rc.WorkflowID,
		"SERVO_TENANT_ID="+rc.TenantID,
		"SERVO_ASSET_ID="+rc.AssetID,
		"SERVO_ASSET_NAME="+rc.AssetName,
		"SERVO_PARTITION_KEY="+rc.PartitionKey,
		"SERVO_PARTITION_CONTEXT="+rc.partitionContext(),
		"SERVO_CHECK_RESULTS_PATH="+rc.CheckResultsPath,
	)
}
