package deploycheck

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// CommandLine describes what a program's command line accepts, read from
// its cobra command tree: the flags allowed before the subcommand and the
// subcommands, two levels deep.
type CommandLine struct {
	// Global maps the root's persistent flags ("--config") to whether they
	// take a value.
	Global map[string]bool
	// Commands maps a command path ("serve", "migrate up") to the command.
	Commands map[string]Command
}

// Command is one command of a CommandLine.
type Command struct {
	// Subs are the names of its subcommands; a command with some needs one
	// (servo's parent commands only print an error of their own).
	Subs []string
	// Flags maps every flag it takes, inherited ones included, to whether
	// the flag takes a value.
	Flags map[string]bool
	// Args checks its positional arguments.
	Args func(args []string) error
}

// CommandLineOf reads the command line of a cobra tree. Hidden commands and
// cobra's own help and completion commands are left out: a deployment file
// has no business running them. A command that does not say which
// positional arguments it takes is taken to take none.
func CommandLineOf(root *cobra.Command) CommandLine {
	cl := CommandLine{Global: flagSet(root.PersistentFlags()), Commands: map[string]Command{}}
	var walk func(prefix string, c *cobra.Command)
	walk = func(prefix string, c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			path := strings.TrimSpace(prefix + " " + sub.Name())
			cmd := Command{Flags: flagSet(sub.LocalFlags())}
			for name, v := range flagSet(sub.InheritedFlags()) {
				cmd.Flags[name] = v
			}
			for _, s := range sub.Commands() {
				if !s.Hidden && s.Name() != "help" {
					cmd.Subs = append(cmd.Subs, s.Name())
				}
			}
			sort.Strings(cmd.Subs)
			cmd.Args = func(args []string) error {
				if sub.Args == nil {
					if len(args) > 0 {
						return fmt.Errorf("unexpected argument %q", args[0])
					}
					return nil
				}
				return sub.Args(sub, args)
			}
			cl.Commands[path] = cmd
			if len(cmd.Subs) > 0 && prefix == "" {
				walk(path, sub)
			}
		}
	}
	walk("", root)
	return cl
}

// flagSet maps each flag of fs, by its long and its short form, to whether
// it takes a value.
func flagSet(fs *pflag.FlagSet) map[string]bool {
	out := map[string]bool{}
	fs.VisitAll(func(f *pflag.Flag) {
		takesValue := f.NoOptDefVal == ""
		out["--"+f.Name] = takesValue
		if f.Shorthand != "" {
			out["-"+f.Shorthand] = takesValue
		}
	})
	return out
}

// Top returns the names of the top-level commands, sorted.
func (cl CommandLine) Top() []string {
	var out []string
	for p := range cl.Commands {
		if !strings.Contains(p, " ") {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Invocation is a parsed command line: the command, its subcommand if any,
// the flags given (by name, values dropped) and the positional arguments.
type Invocation struct {
	Cmd, Sub string
	Flags    []string
	Args     []string
}

// Path returns the command path, "migrate up" or "serve".
func (i Invocation) Path() string { return strings.TrimSpace(i.Cmd + " " + i.Sub) }

// String returns the invocation as a servo command line, global flags and
// flag values left out.
func (i Invocation) String() string {
	words := append([]string{"servo", i.Path()}, i.Flags...)
	return strings.Join(append(words, i.Args...), " ")
}

// Parse parses the arguments after the program's name. Flags of the root
// (--config) may come anywhere; any other flag must belong to the command
// before it.
func (cl CommandLine) Parse(args []string) (Invocation, error) {
	var inv Invocation
	var cmd Command
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && a != "-" {
			name, _, hasValue := strings.Cut(a, "=")
			takesValue, global := cl.Global[name]
			if !global {
				if inv.Cmd == "" {
					return inv, fmt.Errorf("%v: flag %s before the subcommand", args, a)
				}
				var ok bool
				if takesValue, ok = cmd.Flags[name]; !ok {
					return inv, fmt.Errorf("%v: `servo %s` has no flag %s (known: %v)", args, inv.Path(), name, sortedNames(cmd.Flags))
				}
				inv.Flags = append(inv.Flags, name)
			}
			if takesValue && !hasValue {
				i++
				if i == len(args) {
					return inv, fmt.Errorf("%v: %s needs a value", args, name)
				}
			}
			continue
		}
		switch {
		case inv.Cmd == "":
			c, ok := cl.Commands[a]
			if !ok {
				return inv, fmt.Errorf("%v: %q is not a servo subcommand (known: %v)", args, a, cl.Top())
			}
			inv.Cmd, cmd = a, c
		case len(cmd.Subs) > 0 && inv.Sub == "":
			if !slices.Contains(cmd.Subs, a) {
				return inv, fmt.Errorf("%v: `servo %s %s` does not exist (known: %v)", args, inv.Cmd, a, cmd.Subs)
			}
			inv.Sub, cmd = a, cl.Commands[inv.Cmd+" "+a]
		default:
			inv.Args = append(inv.Args, a)
		}
	}
	if inv.Cmd == "" {
		return inv, fmt.Errorf("%v: no subcommand", args)
	}
	if len(cmd.Subs) > 0 && inv.Sub == "" {
		return inv, fmt.Errorf("%v: `servo %s` needs one of %v", args, inv.Cmd, cmd.Subs)
	}
	if err := cmd.Args(inv.Args); err != nil {
		return inv, fmt.Errorf("%v: `servo %s`: %w", args, inv.Path(), err)
	}
	return inv, nil
}

func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
