// Package archtest holds the test that keeps Servo's layers in order: the
// imports of every non-test file point down the layers that
// docs/architecture.md draws.
package archtest
