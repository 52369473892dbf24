package api_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var mermaidID = regexp.MustCompile(`^n[0-9]+$`)

// TestLineageAsText asks a real server for lineage as Graphviz DOT and as
// a Mermaid flowchart, with asset names holding quotes, slashes, spaces and
// markup, and checks the formats' contract: content types, escaping, one
// line per node and edge, 400 for an unknown format, and tenant isolation.
func TestLineageAsText(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := e.keyA
	names := []string{"mart.revenue", `raw "orders"`, "s3://bucket/path with spaces", `C:\exports\N`, "dash#1;<b>&co"}
	ids := map[string]string{}
	for _, n := range names {
		var out struct {
			Asset struct {
				ID string `json:"id"`
			} `json:"asset"`
		}
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: k, body: map[string]any{"name": n, "asset_type": "table"}}).json(t, &out)
		ids[n] = out.Asset.ID
	}
	for _, d := range [][3]string{
		{names[1], names[0], "data"},
		{names[2], names[1], "metadata"},
		{names[3], names[0], "data"},
		{names[0], names[4], "control"},
	} {
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/dependencies", key: k,
			body: map[string]any{"upstream": d[0], "downstream": d[1], "dependency_type": d[2]}})
	}
	base := "/api/v1/assets/" + url.PathEscape(names[0]) + "/lineage?direction=both&depth=5"

	dot := e.must(http.StatusOK, req{method: "GET", path: base + "&format=dot", key: k})
	if ct := dot.header.Get("Content-Type"); ct != "text/vnd.graphviz; charset=utf-8" {
		t.Errorf("DOT Content-Type = %q", ct)
	}
	body := string(dot.body)
	for _, want := range []string{
		"digraph lineage {\n  rankdir=LR;\n",
		`"` + ids[names[0]] + `" [label="mart.revenue", tooltip="table", style="rounded,bold,filled"`,
		`[label="raw \"orders\"", tooltip="table"];`,
		`[label="s3://bucket/path with spaces", tooltip="table"];`,
		`[label="C:\\exports\\N", tooltip="table"];`,
		`[label="dash#1;<b>&co", tooltip="table"];`,
		`"` + ids[names[2]] + `" -> "` + ids[names[1]] + `" [label="metadata", style=dashed`,
		`"` + ids[names[0]] + `" -> "` + ids[names[4]] + `" [label="control", style=dotted`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("DOT lacks %s:\n%s", want, body)
		}
	}
	if n := strings.Count(body, " -> "); n != 4 {
		t.Errorf("DOT has %d edges, want 4:\n%s", n, body)
	}
	if n := strings.Count(body, "[label=") - 4; n != len(names) {
		t.Errorf("DOT has %d nodes, want %d:\n%s", n, len(names), body)
	}

	mm := e.must(http.StatusOK, req{method: "GET", path: base + "&format=mermaid", key: k})
	if ct := mm.header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" && ct != "text/plain; charset=utf-8" {
		t.Errorf("Mermaid Content-Type = %q", ct)
	}
	body = string(mm.body)
	for _, want := range []string{
		"flowchart LR\n",
		"  n0[\"mart.revenue\"]\n",
		"[\"raw #quot;orders#quot;\"]\n",
		"[\"s3://bucket/path with spaces\"]\n",
		"[\"C:\\exports\\N\"]\n",
		"[\"dash#35;1#59;#lt;b#gt;#amp;co\"]\n",
		"  class n0 root\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("Mermaid lacks %q:\n%s", want, body)
		}
	}
	var arrows []string
	for _, line := range strings.Split(body, "\n") {
		if f := strings.Fields(line); len(f) == 3 && mermaidID.MatchString(f[0]) && mermaidID.MatchString(f[2]) {
			arrows = append(arrows, f[1])
		}
	}
	slices.Sort(arrows)
	if want := []string{"-->", "-->", "-.->", "==>"}; !slices.Equal(arrows, want) {
		t.Errorf("Mermaid edges %v, want %v:\n%s", arrows, want, body)
	}

	// JSON stays the default, and format=json says so explicitly.
	for _, q := range []string{"", "&format=json"} {
		res := e.must(http.StatusOK, req{method: "GET", path: base + q, key: k})
		var l struct {
			Nodes []any `json:"nodes"`
			Edges []any `json:"edges"`
		}
		res.json(t, &l)
		if len(l.Nodes) != len(names)-1 || len(l.Edges) != 4 {
			t.Errorf("JSON%s: %d nodes, %d edges", q, len(l.Nodes), len(l.Edges))
		}
	}

	// Bad input is 4xx with the error envelope, whatever the format.
	if got := e.must(http.StatusBadRequest, req{method: "GET", path: base + "&format=svg", key: k}).errBody(t); !strings.Contains(got.Message, "format") {
		t.Errorf("unknown format: %+v", got)
	}
	e.must(http.StatusBadRequest, req{method: "GET", path: base + "&format=DOT", key: k})
	e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/assets/x/lineage?format=dot&depth=0", key: k})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/assets/" + url.PathEscape("no/such") + "/lineage?format=mermaid", key: k})
	e.must(http.StatusUnauthorized, req{method: "GET", path: base + "&format=dot"})
	// Another tenant sees nothing, in any format.
	e.must(http.StatusNotFound, req{method: "GET", path: base + "&format=dot", key: e.keyB})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/assets/" + ids[names[0]] + "/lineage?format=mermaid", key: e.keyB})

	// The OpenAPI document describes the parameter and both text answers.
	doc, _ := fetchOpenAPI(t, e)
	op := doc.Paths.Find("/api/v1/assets/{asset}/lineage").Get
	p := op.Parameters.GetByInAndName("query", "format")
	if p == nil {
		t.Fatal("openapi.json does not document ?format= on the lineage route")
	}
	var enum []string
	for _, v := range p.Schema.Value.Enum {
		enum = append(enum, v.(string))
	}
	if !slices.Equal(enum, []string{"json", "dot", "mermaid"}) {
		t.Errorf("format enum = %v", enum)
	}
	for _, ct := range []string{"application/json", "text/vnd.graphviz", "text/plain"} {
		if op.Responses.Status(200).Value.Content.Get(ct) == nil {
			t.Errorf("openapi.json: the lineage 200 lacks %s", ct)
		}
	}
}
