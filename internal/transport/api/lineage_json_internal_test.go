package api

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/transport/lineagefmt"
)

// wantLineageJSON is what echo's c.JSON writes for l: encoding/json's
// Encoder with its defaults.
func wantLineageJSON(t testing.TB, l *domain.Lineage) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(lineageDTO(l)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gotLineageJSON(t testing.TB, l *domain.Lineage) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := lineagefmt.EncodeJSON(&b, l); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// lineageWith builds a lineage whose every string field holds s.
func lineageWith(s string, n int) *domain.Lineage {
	tenant := s
	at := time.Date(2026, 11, 27, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
	asset := func(i int) domain.Asset {
		a := domain.Asset{ID: uuid.New(), TenantID: &tenant, Name: s + "n", Description: s, AssetType: s, Owner: s,
			Tags: []string{s, "t"}, CreatedAt: at, UpdatedAt: at.Add(time.Duration(i) * time.Hour)}
		switch i % 3 {
		case 1:
			a.TenantID, a.Tags = nil, nil
		case 2:
			a.Compute = &domain.ComputeSpec{Kind: "command", Argv: []string{s, "<&>"}, Env: map[string]string{s: s}, Timeout: "1m",
				Retry: &domain.RetryPolicy{MaxAttempts: 3, Multiplier: 1.5}}
			a.Partitions = &domain.PartitionsDef{Type: "static", Keys: []string{s, "eu"}}
		}
		return a
	}
	l := &domain.Lineage{Root: asset(0), Nodes: []domain.LineageNode{}, Edges: []domain.AssetDependency{}, Truncated: n%2 == 1}
	for i := range n {
		l.Nodes = append(l.Nodes, domain.LineageNode{Asset: asset(i + 1), Depth: i * 7, Direction: domain.Downstream})
		l.Edges = append(l.Edges, domain.AssetDependency{ID: uuid.New(), TenantID: s, UpstreamAssetID: uuid.New(),
			DownstreamAssetID: uuid.New(), DependencyType: domain.DependencyData, CreatedAt: at})
	}
	return l
}

func TestEncodeLineage_SameBytesAsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", "plain.name_1", `quote " and \ backslash`, "<script>&amp;</script>", "tab\there\nnewline\r\x00\x1f",
		"é ü 中文 🚀", "line\u2028sep\u2029", "bad \xff\xfe utf8", "\x7f del", strings.Repeat("long-", 3000),
	} {
		for _, n := range []int{0, 1, 2, 5} {
			l := lineageWith(s, n)
			if got, want := gotLineageJSON(t, l), wantLineageJSON(t, l); !bytes.Equal(got, want) {
				t.Errorf("string %.40q, %d nodes:\n got %.300s\nwant %.300s", s, n, got, want)
			}
		}
	}
	// Large enough to be sent in many chunks.
	l := lineageWith("chunked", 3000)
	if got, want := gotLineageJSON(t, l), wantLineageJSON(t, l); !bytes.Equal(got, want) {
		t.Errorf("3000 nodes: %d bytes, want %d, equal prefix %d", len(got), len(want), commonPrefix(got, want))
	}
}

func TestEncodeLineage_RandomStrings(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		l := lineageWith(string(b), 1)
		if got, want := gotLineageJSON(t, l), wantLineageJSON(t, l); !bytes.Equal(got, want) {
			t.Fatalf("string %q:\n got %s\nwant %s", b, got, want)
		}
	}
}

// TestEncodeLineage_TimesSameAsMarshalJSON checks the encoder's
// timestamps against Time.MarshalJSON, years outside 0-9999 and odd
// offsets included.
func TestEncodeLineage_TimesSameAsMarshalJSON(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	times := []time.Time{{}, time.Unix(0, 0), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 2, 3, 4, 5, 6, 7000, time.FixedZone("-0930", -(9*3600+1800)))}
	for range 2000 {
		times = append(times, time.Unix(r.Int64N(1<<36)-1<<35, r.Int64N(1e9)).In(time.FixedZone("z", r.IntN(50000)-25000)))
	}
	l := lineageWith("t", 0)
	for _, at := range times {
		l.Root.CreatedAt, l.Root.UpdatedAt = at, at
		want, _ := TimeOf(at).MarshalJSON()
		got := gotLineageJSON(t, l)
		if !bytes.Equal(got, wantLineageJSON(t, l)) || !bytes.Contains(got, append([]byte(`"created_at":`), want...)) {
			t.Fatalf("%v: got %s, want created_at %s", at, got, want)
		}
	}
}

func FuzzEncodeLineage(f *testing.F) {
	for _, s := range []string{"", "a<b", "\xff", "\u2028", `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := lineageWith(s, 2)
		if got, want := gotLineageJSON(t, l), wantLineageJSON(t, l); !bytes.Equal(got, want) {
			t.Fatalf("string %q:\n got %s\nwant %s", s, got, want)
		}
	})
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
