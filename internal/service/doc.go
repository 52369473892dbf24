// Package service holds Servo's business rules on top of the domain's
// repository interfaces: validation, name resolution, global-row rules,
// dependency cycles, lineage walks, workflow versioning, and the use cases
// of runs; the rules of a run's life are the run engine's (internal/engine),
// which it builds over the same store. It never sees GORM; it speaks domain
// types and domain errors only.
package service
