// Package lineagefmt renders a lineage answer (domain.Lineage) in the
// formats the API offers: Graphviz DOT, a Mermaid flowchart, and the JSON
// of the lineage answer written as a stream.
package lineagefmt

import (
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// lineageAssets lists the root and then the reached nodes, each once, in
// the order of the answer.
func lineageAssets(l *domain.Lineage) []*domain.Asset {
	out := make([]*domain.Asset, 0, len(l.Nodes)+1)
	seen := make(map[uuid.UUID]bool, len(l.Nodes)+1)
	add := func(a *domain.Asset) {
		if !seen[a.ID] {
			seen[a.ID] = true
			out = append(out, a)
		}
	}
	add(&l.Root)
	for i := range l.Nodes {
		add(&l.Nodes[i].Asset)
	}
	return out
}

// dotEdgeStyle tells the dependency types apart in DOT.
var dotEdgeStyle = map[domain.DependencyType]string{
	domain.DependencyData:     `style=solid, color="#2563eb"`,
	domain.DependencyMetadata: `style=dashed, color="#7c3aed"`,
	domain.DependencyControl:  `style=dotted, color="#ea580c"`,
}

// DOT renders a lineage answer as a Graphviz digraph laid out left
// to right. Nodes are identified by asset id and labelled by name (an
// asset of the tenant and a global one may share a name); the root is
// drawn bold; each edge carries its type as a label and a style: data
// solid, metadata dashed, control dotted.
func DOT(l *domain.Lineage) string {
	var b strings.Builder
	b.WriteString("digraph lineage {\n")
	b.WriteString("  rankdir=LR;\n")
	b.WriteString("  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=10];\n")
	for i, a := range lineageAssets(l) {
		fmt.Fprintf(&b, "  %s [label=%s", dotQuote(a.ID.String()), dotQuote(a.Name))
		if a.AssetType != "" {
			fmt.Fprintf(&b, ", tooltip=%s", dotQuote(a.AssetType))
		}
		if i == 0 {
			b.WriteString(`, style="rounded,bold,filled", fillcolor="#e0e7ff"`)
		}
		b.WriteString("];\n")
	}
	for _, e := range l.Edges {
		style, ok := dotEdgeStyle[e.DependencyType]
		if !ok {
			style = "style=solid"
		}
		fmt.Fprintf(&b, "  %s -> %s [label=%s, %s];\n",
			dotQuote(e.UpstreamAssetID.String()), dotQuote(e.DownstreamAssetID.String()),
			dotQuote(string(e.DependencyType)), style)
	}
	b.WriteString("}\n")
	return b.String()
}

// dotQuote returns s as a double-quoted DOT string (an ID or an escString
// label) that Graphviz reads back as s: quotes and backslashes are escaped
// (so that no \N, \G or \l sequence is read as one), a line break becomes
// the \n escape, and other control characters become spaces.
func dotQuote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// mermaidArrow tells the dependency types apart in Mermaid.
var mermaidArrow = map[domain.DependencyType]string{
	domain.DependencyData:     "-->",
	domain.DependencyMetadata: "-.->",
	domain.DependencyControl:  "==>",
}

// Mermaid renders a lineage answer as a Mermaid flowchart laid out
// left to right. Nodes get the ids n0 (the root), n1, ... in the order of
// the answer and their asset names as quoted labels; data edges are solid
// arrows, metadata edges dotted and control edges thick.
func Mermaid(l *domain.Lineage) string {
	assets := lineageAssets(l)
	ids := make(map[uuid.UUID]string, len(assets))
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	b.WriteString("  %% edges: --> data, -.-> metadata, ==> control\n")
	for i, a := range assets {
		id := fmt.Sprintf("n%d", i)
		ids[a.ID] = id
		fmt.Fprintf(&b, "  %s[%s]\n", id, mermaidQuote(a.Name))
	}
	for _, e := range l.Edges {
		up, ok1 := ids[e.UpstreamAssetID]
		down, ok2 := ids[e.DownstreamAssetID]
		if !ok1 || !ok2 {
			continue // the walk only returns edges among its nodes; stay safe
		}
		arrow, ok := mermaidArrow[e.DependencyType]
		if !ok {
			arrow = "-->"
		}
		fmt.Fprintf(&b, "  %s %s %s\n", up, arrow, down)
	}
	b.WriteString("  classDef root stroke-width:3px\n")
	b.WriteString("  class n0 root\n")
	return b.String()
}

// mermaidQuote returns s as a double-quoted Mermaid label that renders as
// s. Mermaid has no backslash escapes: characters that would end the
// string, start an entity, markup or a Markdown string are written as its
// entity codes (#quot;, #35;, ...), and control characters become spaces.
func mermaidQuote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString("#quot;")
		case r == '#':
			b.WriteString("#35;")
		case r == '&':
			b.WriteString("#amp;")
		case r == '<':
			b.WriteString("#lt;")
		case r == '>':
			b.WriteString("#gt;")
		case r == '`':
			b.WriteString("#96;")
		case r == ';':
			b.WriteString("#59;")
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
