// Package domain owns Servo's entities, the run state machine, the sentinel
// errors every layer speaks, the tenant scope carried in a context, and the
// repository interfaces that storage implements. It imports no other Servo
// package.
package domain
