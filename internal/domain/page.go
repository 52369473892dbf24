package domain

// Paging limits.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Page asks for one page of a listing ordered newest first
// (created_at DESC, id DESC), either by offset or, cheaper on deep pages, by
// keyset: with Cursor set the page starts right after that position. The
// two do not combine.
type Page struct {
	Limit  int
	Offset int
	Cursor *Cursor
	// Count says how exactly the listing counts its Total; empty is
	// CountEstimate.
	Count CountMode
}

// CountMode says how a listing counts the rows that match it.
type CountMode string

// Count modes.
const (
	// CountEstimate, the default, counts exactly up to TotalBound rows past
	// the page's offset (past the start on a cursor page) and, past that,
	// answers an estimate: an exact count of the same listing in the same
	// scope, at most a few seconds old, never below what the page proves.
	CountEstimate CountMode = "estimate"
	// CountExact counts every matching row.
	CountExact CountMode = "exact"
)

// TotalBound is how many rows a listing counts exactly, past the offset,
// before its Total becomes an estimate (CountEstimate).
const TotalBound = 1000

// Normalize applies the default limit and validates the page.
func (p *Page) Normalize() error {
	var v Validator
	v.Check(p.Limit >= 0 && p.Limit <= MaxLimit, "limit", "must be between 1 and %d", MaxLimit)
	v.Check(p.Offset >= 0, "offset", "must not be negative")
	v.Check(p.Cursor == nil || p.Offset == 0, "cursor", "cannot be combined with offset")
	v.Check(p.Count == "" || p.Count == CountEstimate || p.Count == CountExact, "count", "must be exact or estimate")
	if err := v.Err(); err != nil {
		return err
	}
	if p.Limit == 0 {
		p.Limit = DefaultLimit
	}
	return nil
}

// List is one page of items with the count of matching rows. Total is
// exact unless TotalIsEstimate (see CountEstimate). NextCursor, when set,
// continues the listing after the last item; it is nil on the last page.
type List[T any] struct {
	Items []T
	Total int64
	// TotalIsEstimate reports that Total is an estimate, not an exact
	// count.
	TotalIsEstimate bool
	Limit           int
	Offset          int
	NextCursor      *Cursor
}
