// Package deployments holds Servo's deployment files: the container image
// (Dockerfile), a Docker Compose stack (compose.yaml), Kubernetes manifests
// (k8s/) and systemd units (systemd/). It has no code of its own. Its tests
// parse every file and check what would break a deploy, since no container
// engine or cluster runs them: probe paths against the server's routes,
// ports against the listen address, environment variables against the
// configuration keys, users, images, subcommands, the migration steps, and
// the example configurations and operations documents beside them.
package deployments
