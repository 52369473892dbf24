package lineagefmt

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

func TestDOTQuote(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"raw.orders", `"raw.orders"`},
		{`say "hi"`, `"say \"hi\""`},
		{`C:\data\N`, `"C:\\data\\N"`},
		{`ends with \`, `"ends with \\"`},
		{"s3://bucket/path with spaces", `"s3://bucket/path with spaces"`},
		{"two\nlines", `"two\nlines"`},
		{"tab\there\x00nul\x7f", `"tab here nul "`},
		{"ünïcödé → 表", `"ünïcödé → 表"`},
		{"<html>&amp;{}[];", `"<html>&amp;{}[];"`},
		{"", `""`},
	} {
		if got := dotQuote(tc.in); got != tc.want {
			t.Errorf("dotQuote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// dotUnquote reads a DOT quoted string back the way Graphviz does for an
// escString label: \" is a quote, \\ a backslash, \n a line break. It
// fails when a quote inside is not escaped.
func dotUnquote(t *testing.T, q string) string {
	t.Helper()
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		t.Fatalf("%s is not quoted", q)
	}
	var b strings.Builder
	in := q[1 : len(q)-1]
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '"':
			t.Fatalf("%s: unescaped quote at %d", q, i+1)
		case c == '\\':
			if i+1 == len(in) {
				t.Fatalf("%s: a lone backslash escapes the closing quote", q)
			}
			i++
			switch in[i] {
			case '"', '\\':
				b.WriteByte(in[i])
			case 'n':
				b.WriteByte('\n')
			default:
				t.Fatalf("%s: escape \\%c would be read as a Graphviz sequence", q, in[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

var (
	mermaidEntity   = regexp.MustCompile(`^#(quot|amp|lt|gt|[0-9]+);`)
	mermaidEntities = regexp.MustCompile(`#(quot|amp|lt|gt|[0-9]+);`)
)

// mermaidUnquote decodes the entity codes mermaidQuote writes and fails on
// any character that would end or change the label.
func mermaidUnquote(t *testing.T, q string) string {
	t.Helper()
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		t.Fatalf("%s is not quoted", q)
	}
	in := q[1 : len(q)-1]
	if strings.ContainsAny(mermaidEntities.ReplaceAllString(in, ""), "\"<>&`;#\n\r") {
		t.Fatalf("%s holds a raw character Mermaid would interpret", q)
	}
	// Every # starts one of our entity codes.
	for i := range len(in) {
		if in[i] == '#' && !mermaidEntity.MatchString(in[i:]) {
			t.Fatalf("%s: # at %d starts no entity", q, i+1)
		}
	}
	return strings.NewReplacer("#quot;", `"`, "#35;", "#", "#amp;", "&", "#lt;", "<", "#gt;", ">", "#96;", "`", "#59;", ";").Replace(in)
}

func TestMermaidQuote(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"raw.orders", `"raw.orders"`},
		{`say "hi"`, `"say #quot;hi#quot;"`},
		{"s3://bucket/path with spaces", `"s3://bucket/path with spaces"`},
		{"<script>alert(1)</script>", `"#lt;script#gt;alert(1)#lt;/script#gt;"`},
		{"a#b;c&d", `"a#35;b#59;c#amp;d"`},
		{"`md`", `"#96;md#96;"`},
		{"line\nbreak", `"line break"`},
		{`back\slash [x] (y) {z} |w|`, `"back\slash [x] (y) {z} |w|"`},
	} {
		if got := mermaidQuote(tc.in); got != tc.want {
			t.Errorf("mermaidQuote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestQuoteRoundTrip checks, on random strings full of the characters that
// matter, that both quotings read back as the original (control characters
// aside, which become spaces) and never leak a raw delimiter.
func TestQuoteRoundTrip(t *testing.T) {
	t.Parallel()
	alphabet := []rune("ab /\\\"'#;&<>`[](){}|:-.=\n\t%é表")
	r := rand.New(rand.NewPCG(7, 11))
	for range 2000 {
		n := r.IntN(12)
		rs := make([]rune, n)
		for i := range rs {
			rs[i] = alphabet[r.IntN(len(alphabet))]
		}
		in := string(rs)
		if got := dotUnquote(t, dotQuote(in)); got != strings.ReplaceAll(in, "\t", " ") {
			t.Fatalf("DOT round trip of %q gave %q via %s", in, got, dotQuote(in))
		}
		want := strings.NewReplacer("\t", " ", "\n", " ").Replace(in)
		if got := mermaidUnquote(t, mermaidQuote(in)); got != want {
			t.Fatalf("Mermaid round trip of %q gave %q via %s", in, got, mermaidQuote(in))
		}
	}
}

func testLineage() *domain.Lineage {
	asset := func(name, typ string) domain.Asset {
		return domain.Asset{ID: uuid.New(), Name: name, AssetType: typ}
	}
	root := asset("mart.revenue", "table")
	up := asset(`raw "orders"`, "table")
	up2 := asset("s3://bucket/a b", "file")
	down := asset("dash#1;<b>", "dashboard")
	edge := func(u, d domain.Asset, typ domain.DependencyType) domain.AssetDependency {
		return domain.AssetDependency{ID: uuid.New(), UpstreamAssetID: u.ID, DownstreamAssetID: d.ID, DependencyType: typ}
	}
	return &domain.Lineage{
		Root: root,
		Nodes: []domain.LineageNode{
			{Asset: up, Depth: 1, Direction: domain.Upstream},
			{Asset: down, Depth: 1, Direction: domain.Downstream},
			{Asset: up2, Depth: 2, Direction: domain.Upstream},
		},
		Edges: []domain.AssetDependency{
			edge(up, root, domain.DependencyData),
			edge(root, down, domain.DependencyControl),
			edge(up2, up, domain.DependencyMetadata),
		},
	}
}

func TestLineageDOT(t *testing.T) {
	t.Parallel()
	l := testLineage()
	got := DOT(l)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if lines[0] != "digraph lineage {" || lines[len(lines)-1] != "}" || !strings.Contains(got, "rankdir=LR;") {
		t.Fatalf("not a left-to-right digraph:\n%s", got)
	}
	root := l.Root.ID.String()
	for _, want := range []string{
		`"` + root + `" [label="mart.revenue", tooltip="table", style="rounded,bold,filled"`,
		`"` + l.Nodes[0].Asset.ID.String() + `" [label="raw \"orders\"", tooltip="table"];`,
		`"` + l.Nodes[1].Asset.ID.String() + `" [label="dash#1;<b>", tooltip="dashboard"];`,
		`"` + l.Nodes[0].Asset.ID.String() + `" -> "` + root + `" [label="data", style=solid`,
		`"` + root + `" -> "` + l.Nodes[1].Asset.ID.String() + `" [label="control", style=dotted`,
		`"` + l.Nodes[2].Asset.ID.String() + `" -> "` + l.Nodes[0].Asset.ID.String() + `" [label="metadata", style=dashed`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("DOT lacks %s:\n%s", want, got)
		}
	}
	if n := strings.Count(got, " -> "); n != len(l.Edges) {
		t.Errorf("%d edges in DOT, want %d", n, len(l.Edges))
	}
}

func TestLineageMermaid(t *testing.T) {
	t.Parallel()
	l := testLineage()
	got := Mermaid(l)
	for _, want := range []string{
		"flowchart LR\n",
		"  n0[\"mart.revenue\"]\n",
		"  n1[\"raw #quot;orders#quot;\"]\n",
		"  n2[\"dash#35;1#59;#lt;b#gt;\"]\n",
		"  n3[\"s3://bucket/a b\"]\n",
		"  n1 --> n0\n",
		"  n0 ==> n2\n",
		"  n3 -.-> n1\n",
		"  class n0 root\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Mermaid lacks %q:\n%s", want, got)
		}
	}
	// A node listed twice (the root among the nodes) is written once.
	l.Nodes = append(l.Nodes, domain.LineageNode{Asset: l.Root, Depth: 1, Direction: domain.Upstream})
	if n := strings.Count(Mermaid(l), "[\"mart.revenue\"]"); n != 1 {
		t.Errorf("the root is written %d times", n)
	}
}
