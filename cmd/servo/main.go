// Command servo runs the Servo server and its database migrations.
//
//	servo serve                     serve the HTTP API until SIGINT or SIGTERM
//	servo migrate up|down|status    manage the database schema
//	servo tenants create|list        manage tenants
//	servo keys create|list|revoke     manage API keys
//	servo version                   print the version
//
// Configuration comes from built-in defaults, an optional YAML file
// (--config or SERVO_CONFIG) and SERVO_* environment variables, in that
// order; see configs/servo.example.yaml.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is the release, set at build time with
// -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling so that a
		// second one stops a shutdown that hangs.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Environ())
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit code: 0 on
// success, 1 on any error, which it prints to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	root := newRootCmd(&app{stdout: stdout, stderr: stderr, environ: environ})
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		_, _ = fmt.Fprintf(stderr, "servo: error: %v\n", err)
		return 1
	}
	return 0
}
