package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/servo-data/servo/"

// imports maps each package directory (relative to the module root) to the
// imports of its non-test files.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	out := map[string][]string{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if !slices.Contains(out[rel], p) {
				out[rel] = append(out[rel], p)
			}
		}
		if _, ok := out[rel]; !ok {
			out[rel] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// under reports whether dir is pkg or inside it.
func under(dir, pkg string) bool { return dir == pkg || strings.HasPrefix(dir, pkg+"/") }

// TestLayers checks the import rules of docs/architecture.md.
func TestLayers(t *testing.T) {
	t.Parallel()
	all := imports(t)
	if len(all) < 20 {
		t.Fatalf("found only %d packages: the walk is broken", len(all))
	}
	// ours returns the packages of this module that dir imports.
	ours := func(dir string) []string {
		var out []string
		for _, p := range all[dir] {
			if strings.HasPrefix(p, module) {
				out = append(out, strings.TrimPrefix(p, module))
			}
		}
		return out
	}
	// Where the database drivers and the repository may be imported: the
	// repository itself, the migrations, the wiring in cmd/ and the test
	// support packages.
	storeSide := func(dir string) bool {
		return under(dir, "internal/repository") || under(dir, "migrations") || under(dir, "cmd") ||
			dir == "internal/testdb" || dir == "internal/transport/api/apitest"
	}
	rules := []struct {
		name string
		// applies reports whether the rule covers package dir.
		applies func(dir string) bool
		// allowed reports whether that package may import imp.
		allowed func(dir, imp string) bool
	}{
		{"domain imports nothing of ours",
			func(d string) bool { return d == "internal/domain" },
			func(_, imp string) bool { return !strings.HasPrefix(imp, module) }},
		{"the engine imports only domain",
			func(d string) bool { return under(d, "internal/engine") },
			func(_, imp string) bool { return !strings.HasPrefix(imp, module) || imp == module+"internal/domain" }},
		{"only the store side imports the repository",
			func(d string) bool { return !storeSide(d) },
			func(_, imp string) bool { return !under(strings.TrimPrefix(imp, module), "internal/repository") }},
		{"no GORM, pgx or pgconn above the repository",
			func(d string) bool { return !storeSide(d) },
			func(_, imp string) bool {
				return !strings.HasPrefix(imp, "gorm.io/") && !strings.HasPrefix(imp, "github.com/jackc/")
			}},
		{"below the transport nothing imports it",
			func(d string) bool { return !under(d, "internal/transport") && !under(d, "cmd") },
			func(_, imp string) bool { return !under(strings.TrimPrefix(imp, module), "internal/transport") }},
		{"nothing below the runtime imports it",
			func(d string) bool {
				if d == "internal/transport/api/apitest" {
					return false // test support: builds a whole server, workers included
				}
				return under(d, "internal/domain") || under(d, "internal/repository") || under(d, "internal/engine") ||
					under(d, "internal/service") || under(d, "internal/openlineage") || under(d, "internal/transport")
			},
			func(_, imp string) bool { return imp != module+"internal/runtime" }},
		{"the lineage renderers and the console stand apart from the API",
			func(d string) bool { return d == "internal/transport/lineagefmt" || d == "internal/transport/console" },
			func(_, imp string) bool { return !under(strings.TrimPrefix(imp, module), "internal/transport/api") }},
		{"the API does not mount the console itself",
			func(d string) bool { return d == "internal/transport/api" },
			func(_, imp string) bool { return imp != module+"internal/transport/console" }},
		{"the repository does not import the service, engine or runtime",
			func(d string) bool { return under(d, "internal/repository") },
			func(_, imp string) bool {
				p := strings.TrimPrefix(imp, module)
				return !under(p, "internal/service") && !under(p, "internal/engine") && !under(p, "internal/runtime")
			}},
	}
	for _, r := range rules {
		for dir := range all {
			if !r.applies(dir) {
				continue
			}
			for _, imp := range all[dir] {
				if !r.allowed(dir, imp) {
					t.Errorf("%s: %s imports %s", r.name, dir, imp)
				}
			}
		}
	}
	if got := ours("internal/domain"); len(got) != 0 {
		t.Errorf("internal/domain imports %v", got)
	}
}
