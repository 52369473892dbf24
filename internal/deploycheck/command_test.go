package deploycheck

import (
	"slices"
	"testing"

	"github.com/spf13/cobra"
)

// tree builds a small command tree shaped like servo's.
func tree() *cobra.Command {
	noop := func(*cobra.Command, []string) error { return nil }
	root := &cobra.Command{Use: "servo"}
	var s string
	var b bool
	root.PersistentFlags().StringVarP(&s, "config", "c", "", "configuration file")
	serve := &cobra.Command{Use: "serve", Args: cobra.NoArgs, RunE: noop}
	serve.Flags().BoolVar(&b, "no-workers", false, "")
	migrate := &cobra.Command{Use: "migrate", Args: cobra.NoArgs, RunE: noop}
	migrate.AddCommand(&cobra.Command{Use: "up", Args: cobra.NoArgs, RunE: noop}, &cobra.Command{Use: "down", Args: cobra.NoArgs, RunE: noop})
	tenants := &cobra.Command{Use: "tenants"}
	tenants.PersistentFlags().StringVar(&s, "server", "", "")
	create := &cobra.Command{Use: "create ID", Args: cobra.ExactArgs(1), RunE: noop}
	create.Flags().StringVar(&s, "name", "", "")
	tenants.AddCommand(create)
	loose := &cobra.Command{Use: "version", RunE: noop} // says nothing about arguments
	hidden := &cobra.Command{Use: "debug", Hidden: true, RunE: noop}
	root.AddCommand(serve, migrate, tenants, loose, hidden)
	root.InitDefaultHelpCmd()
	return root
}

// TestCommandLineOf reads commands, subcommands and flags, inherited ones
// included, and leaves out hidden and help commands.
func TestCommandLineOf(t *testing.T) {
	t.Parallel()
	cl := CommandLineOf(tree())
	if got := cl.Top(); !slices.Equal(got, []string{"migrate", "serve", "tenants", "version"}) {
		t.Errorf("Top() = %v", got)
	}
	if got := cl.Commands["migrate"].Subs; !slices.Equal(got, []string{"down", "up"}) {
		t.Errorf("migrate's subcommands = %v", got)
	}
	if takesValue, ok := cl.Global["--config"]; !ok || !takesValue || !cl.Global["-c"] {
		t.Errorf("global flags = %v, want --config and -c taking a value", cl.Global)
	}
	create := cl.Commands["tenants create"]
	for flag, takesValue := range map[string]bool{"--name": true, "--server": true, "--config": true} {
		if got, ok := create.Flags[flag]; !ok || got != takesValue {
			t.Errorf("tenants create flag %s = %v, %v", flag, got, ok)
		}
	}
	if takesValue, ok := cl.Commands["serve"].Flags["--no-workers"]; !ok || takesValue {
		t.Errorf("serve --no-workers = %v, %v; want a flag without a value", takesValue, ok)
	}
}

// TestCommandLineParse accepts what the tree accepts and refuses the rest
// with an error.
func TestCommandLineParse(t *testing.T) {
	t.Parallel()
	cl := CommandLineOf(tree())
	for _, tt := range []struct {
		args []string
		want string // "" when the arguments must be refused
	}{
		{[]string{"serve"}, "servo serve"},
		{[]string{"serve", "--no-workers"}, "servo serve --no-workers"},
		{[]string{"--config", "/etc/servo.yaml", "serve"}, "servo serve"},
		{[]string{"-c", "/etc/servo.yaml", "serve"}, "servo serve"},
		{[]string{"serve", "--config=/c.yaml", "--no-workers"}, "servo serve --no-workers"},
		{[]string{"migrate", "up"}, "servo migrate up"},
		{[]string{"migrate", "up", "--config", "/c.yaml"}, "servo migrate up"},
		{[]string{"tenants", "create", "acme", "--name", "Acme"}, "servo tenants create --name acme"},
		{[]string{"tenants", "--server=http://x", "create", "acme"}, "servo tenants create --server acme"},
		{[]string{"migrate"}, ""},
		{[]string{"migrate", "sideways"}, ""},
		{[]string{"migrate", "up", "now"}, ""},
		{[]string{"serve", "--port=1"}, ""},
		{[]string{"serve", "now"}, ""},
		{[]string{"--no-workers", "serve"}, ""},
		{[]string{"--config"}, ""},
		{[]string{"tenants", "create"}, ""},
		{[]string{"tenants", "create", "a", "b"}, ""},
		{[]string{"tenants", "create", "acme", "--name"}, ""},
		{[]string{"version", "extra"}, ""},
		{[]string{"debug"}, ""},
		{[]string{"help"}, ""},
		{[]string{"launch"}, ""},
		{nil, ""},
	} {
		inv, err := cl.Parse(tt.args)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("Parse(%q) = %s, want an error", tt.args, inv)
		case tt.want != "" && (err != nil || inv.String() != tt.want):
			t.Errorf("Parse(%q) = %s, %v; want %s", tt.args, inv, err, tt.want)
		}
	}
}
