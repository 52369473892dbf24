package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/config"
	"github.com/servo-data/servo/internal/logging"
	"github.com/servo-data/servo/internal/repository"
)

// app carries what every command shares: its streams, its environment and
// the global flags.
type app struct {
	stdout, stderr io.Writer
	environ        []string
	configFile     string
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "servo",
		Short: "Servo data orchestration server",
		Long: "Servo data orchestration server.\n\n" +
			"Configuration is read from built-in defaults, then the YAML file given by --config\n" +
			"(or " + config.EnvConfigFile + "), then these environment variables:\n\n" + envHelp(),
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.PersistentFlags().StringVar(&a.configFile, "config", "", "YAML configuration file (default: $"+config.EnvConfigFile+")")
	root.AddCommand(newServeCmd(a), newMigrateCmd(a), newTenantsCmd(a), newKeysCmd(a), newWorkerCmd(a), newVersionCmd(a), newBackfillsCmd(a))
	root.AddCommand(newSchedulesCmd(a))
	return root
}

// envHelp lists the environment variables with their keys and defaults.
func envHelp() string {
	var b strings.Builder
	for _, k := range config.Keys() {
		def := k.Default
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(&b, "  %s (%s, default %s)\n      %s\n", k.Env, k.Name, def, k.Doc)
	}
	return b.String()
}

// setup loads the configuration and builds the logger.
func (a *app) setup() (*config.Config, *zap.Logger, error) {
	cfg, err := config.Load(config.Options{File: a.configFile, Environ: a.environ})
	if err != nil {
		return nil, nil, err
	}
	log, err := logging.NewWithWriter(cfg.Log, a.stderr)
	if err != nil {
		return nil, nil, fmt.Errorf("logger: %w", err)
	}
	for _, name := range config.UnknownEnv(a.environ) {
		log.Warn("ignoring unknown environment variable; is it misspelt?", zap.String("name", name))
	}
	return cfg, log, nil
}

// poolConfig turns the database section into the repository's pool settings.
func poolConfig(d config.Database) repository.PoolConfig {
	return repository.PoolConfig{
		MaxOpen:        d.MaxOpenConns,
		MaxIdle:        d.MaxIdleConns,
		MaxLifetime:    d.ConnMaxLifetime,
		ConnectTimeout: d.ConnectTimeout,
		SlowQuery:      d.SlowQueryThreshold,
	}
}
