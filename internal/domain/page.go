package domain

// Paging limits.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Page asks for one page of a listing ordered newest first
// (created_at DESC, id DESC).
type Page struct {
	Limit  int
	Offset int
}

// Normalize applies the default limit and validates the page.
func (p *Page) Normalize() error {
	var v Validator
	v.Check(p.Limit >= 0 && p.Limit <= MaxLimit, "limit", "must be between 1 and %d", MaxLimit)
	v.Check(p.Offset >= 0, "offset", "must not be negative")
	if err := v.Err(); err != nil {
		return err
	}
	if p.Limit == 0 {
		p.Limit = DefaultLimit
	}
	return nil
}

// List is one page of items with the total count of matching rows.
type List[T any] struct {
	Items  []T
	Total  int64
	Limit  int
	Offset int
}
