// Package deployments holds Servo's deployment files: the container image
// (Dockerfile), a Docker Compose stack (compose.yaml), Kubernetes manifests
// (k8s/) and systemd units (systemd/). It has no code of its own. The files
// are parsed by internal/deploycheck and checked by the tests of cmd/servo
// (deployments_test.go), which stand in for a container engine and a
// cluster: probe paths against the server's routes, ports against the
// listen address, environment variables against the configuration keys,
// users, images, subcommands against servo's real command tree, the
// migration steps, and the example configurations and operations documents
// beside them.
package deployments
