// Package service holds Servo's business rules on top of the domain's
// repository interfaces: validation, name resolution, global-row rules,
// dependency cycles, lineage walks, workflow versioning and run life cycles.
// It never sees GORM; it speaks domain types and domain errors only.
package service
