package domain

import "time"

// Tenant is an isolated customer of Servo. Its ID is a slug chosen by the
// operator and appears in every row the tenant owns.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// ValidateTenantID reports whether id is a well-formed tenant slug:
// a lowercase letter or digit, then up to 62 of [a-z0-9_-].
func ValidateTenantID(id string) error {
	if !tenantIDPattern.MatchString(id) {
		return Invalid("id", "must match ^[a-z0-9][a-z0-9_-]{0,62}$")
	}
	return nil
}

// Validate checks a tenant before it is stored.
func (t *Tenant) Validate() error {
	var v Validator
	v.Check(tenantIDPattern.MatchString(t.ID), "id", "must match ^[a-z0-9][a-z0-9_-]{0,62}$")
	v.Check(len(t.Name) <= 255, "name", "must be at most 255 characters")
	v.Check(ValidText(t.Name), "name", "must be valid UTF-8 without control characters")
	return v.Err()
}
