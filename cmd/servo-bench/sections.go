package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// section is a named group of measurements beyond the core rows. A file of
// this package adds one with registerSection from an init function; the
// suite runs the sections in the order of their names, after the core rows,
// against the same servers and seed.
type section struct {
	// Name selects the section with -only.
	Name string
	// Run measures and returns the section's rows. It gets the environment
	// the core rows ran against.
	Run func(ctx context.Context, e *env) ([]row, error)
}

var sections []section

// registerSection adds s to the suite. Names must be unique.
func registerSection(s section) {
	for _, o := range sections {
		if o.Name == s.Name {
			panic("servo-bench: section " + s.Name + " registered twice")
		}
	}
	sections = append(sections, s)
	slices.SortFunc(sections, func(a, b section) int { return strings.Compare(a.Name, b.Name) })
}

// coreSection names the built-in rows (reads, lists, creates, lineage,
// trigger to success) for -only.
const coreSection = "core"

// pointSection names the point-read rows of the core section alone, for a
// quick measurement of the hot read with its baselines.
const pointSection = "point"

// sectionNames lists every section, core and its point-read rows first.
func sectionNames() []string {
	names := []string{coreSection, pointSection}
	for _, s := range sections {
		names = append(names, s.Name)
	}
	return names
}

// selected reports whether -only (a comma-separated list, empty for all)
// picks the section name.
func (o options) selected(name string) bool {
	if o.Only == "" {
		return true
	}
	return slices.Contains(strings.Split(o.Only, ","), name)
}

// checkOnly refuses a -only list naming an unknown section.
func (o options) checkOnly() error {
	if o.Only == "" {
		return nil
	}
	known := sectionNames()
	for _, n := range strings.Split(o.Only, ",") {
		if !slices.Contains(known, n) {
			return fmt.Errorf("-only: unknown section %q (known: %s)", n, strings.Join(known, ", "))
		}
	}
	return nil
}

// measureSections runs the registered sections -only selects.
func (e *env) measureSections(ctx context.Context) ([]row, error) {
	var rows []row
	for _, s := range sections {
		if !e.o.selected(s.Name) {
			continue
		}
		logf("section %s", s.Name)
		rs, err := s.Run(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("section %s: %w", s.Name, err)
		}
		rows = append(rows, rs...)
	}
	return rows, nil
}
