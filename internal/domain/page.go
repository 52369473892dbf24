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
}

// Normalize applies the default limit and validates the page.
func (p *Page) Normalize() error {
	var v Validator
	v.Check(p.Limit >= 0 && p.Limit <= MaxLimit, "limit", "must be between 1 and %d", MaxLimit)
	v.Check(p.Offset >= 0, "offset", "must not be negative")
	v.Check(p.Cursor == nil || p.Offset == 0, "cursor", "cannot be combined with offset")
	if err := v.Err(); err != nil {
		return err
	}
	if p.Limit == 0 {
		p.Limit = DefaultLimit
	}
	return nil
}

// List is one page of items with the total count of matching rows.
// NextCursor, when set, continues the listing after the last item; it is
// nil on the last page.
type List[T any] struct {
	Items      []T
	Total      int64
	Limit      int
	Offset     int
	NextCursor *Cursor
}
