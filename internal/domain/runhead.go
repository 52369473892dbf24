package domain

import "github.com/google/uuid"

// RunHead is one of a tenant's oldest queued runs with an asset, as a
// worker claiming runs sees it.
type RunHead struct {
	ID uuid.UUID
	// Observed says that the run's asset has no compute spec and no
	// checks, and that no check result was posted to the run: starting
	// it runs nothing, so it may start and succeed in one transaction.
	Observed bool
}
