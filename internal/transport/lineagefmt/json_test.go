package lineagefmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
)

// The bytes are checked against encoding/json of the API's own answer
// types in the api package (lineage_json_internal_test.go); these tests
// cover what needs no API types.

func TestAppendTime_SameAsLayout(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	times := []time.Time{{}, time.Unix(0, 0), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 2, 3, 4, 5, 6, 7000, time.FixedZone("-0930", -(9*3600+1800)))}
	for range 2000 {
		times = append(times, time.Unix(r.Int64N(1<<36)-1<<35, r.Int64N(1e9)).In(time.FixedZone("z", r.IntN(50000)-25000)))
	}
	for _, at := range times {
		want := `"` + at.UTC().Format(TimeLayout) + `"`
		if got := appendTime(nil, at); string(got) != want {
			t.Fatalf("%v: got %s, want %s", at, got, want)
		}
	}
}

// bigLineage is a lineage of n nodes and n edges, large enough for n in
// the thousands to be sent in many chunks.
func bigLineage(n int) *domain.Lineage {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	l := &domain.Lineage{Root: domain.Asset{ID: uuid.New(), Name: "root", CreatedAt: at, UpdatedAt: at}}
	for i := range n {
		l.Nodes = append(l.Nodes, domain.LineageNode{Asset: domain.Asset{ID: uuid.New(), Name: strings.Repeat("n", i%40), CreatedAt: at, UpdatedAt: at},
			Depth: 1, Direction: domain.Downstream})
		l.Edges = append(l.Edges, domain.AssetDependency{ID: uuid.New(), TenantID: "t", UpstreamAssetID: l.Root.ID,
			DownstreamAssetID: l.Nodes[i].Asset.ID, DependencyType: domain.DependencyData, CreatedAt: at})
	}
	return l
}

// TestEncodeJSON_ValidAndChunked checks that a large answer is one valid
// JSON document ending in a newline, sent in more than one write, none
// of them much above the chunk size.
func TestEncodeJSON_ValidAndChunked(t *testing.T) {
	t.Parallel()
	l := bigLineage(3000)
	var w countingWriter
	if err := EncodeJSON(&w, l); err != nil {
		t.Fatal(err)
	}
	if w.writes < 2 || w.largest > lineageChunk+4096 {
		t.Errorf("%d writes, largest %d bytes; want several of about %d", w.writes, w.largest, lineageChunk)
	}
	if !bytes.HasSuffix(w.buf.Bytes(), []byte("}\n")) {
		t.Errorf("the answer does not end in }\\n")
	}
	var got struct {
		Root  struct{ Name string }
		Nodes []struct {
			Depth     int
			Direction string
		}
		Edges []struct {
			DependencyType string `json:"dependency_type"`
		}
		Truncated *bool
	}
	if err := json.Unmarshal(w.buf.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if got.Root.Name != "root" || len(got.Nodes) != 3000 || len(got.Edges) != 3000 || got.Truncated == nil || *got.Truncated {
		t.Errorf("decoded root %q, %d nodes, %d edges, truncated %v", got.Root.Name, len(got.Nodes), len(got.Edges), got.Truncated)
	}
}

type countingWriter struct {
	buf             bytes.Buffer
	writes, largest int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	w.largest = max(w.largest, len(p))
	return w.buf.Write(p)
}

// failAfter fails every write after the first n bytes.
type failAfter struct{ n int }

func (w *failAfter) Write(p []byte) (int, error) {
	if w.n <= 0 {
		return 0, errors.New("client went away")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestEncodeJSON_StopsOnWriteError(t *testing.T) {
	t.Parallel()
	w := &failAfter{n: lineageChunk}
	if err := EncodeJSON(w, bigLineage(3000)); err == nil {
		t.Fatal("a failing writer: no error")
	}
}
