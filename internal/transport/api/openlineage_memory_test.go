package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/servo-data/servo/internal/openlineage"
	"github.com/servo-data/servo/internal/transport/api"
)

// manySmallObjects is a valid RunEvent of about size bytes, most of them a
// run facet of many small objects: what takes the most memory per byte
// once decoded.
func manySmallObjects(size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"eventType":"COMPLETE","eventTime":%q,"producer":"https://example.com/p","schemaURL":%q,`,
		time.Now().UTC().Format(time.RFC3339Nano), openlineage.SpecURL+"#/$defs/RunEvent")
	fmt.Fprintf(&b, `"job":{"namespace":"mem","name":"big"},"inputs":[],"outputs":[],"run":{"runId":%q,"facets":{"rows":{"_producer":"https://example.com/p","_schemaURL":"https://example.com/rows.json","rows":[`,
		uuid.NewString())
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"k":"v%07d","n":%d}`, i, i)
	}
	b.WriteString(`]}}}}`)
	return b.Bytes()
}

// TestOpenLineageAPI_BigEventMemory bounds what the server allocates for a
// large event of many small objects, per byte of the body, on both routes:
// decoding such an event whole took over twenty bytes per byte, which put
// eight concurrent 10 MiB events past 360 MB of resident memory. Reading,
// checking, validating and storing it now takes a few copies of the text.
func TestOpenLineageAPI_BigEventMemory(t *testing.T) {
	// Not parallel: it counts the allocations of the whole process.
	// A long request timeout: under the race detector, on a busy machine,
	// the default one can run out.
	e := newEnvFull(t, zap.NewNop(), false, api.Config{RequestTimeout: 3 * time.Minute}, openlineage.Lenient)
	e.must(http.StatusCreated, req{method: http.MethodPost, path: "/api/v1/lineage", key: e.keyA, body: manySmallObjects(1 << 10)})
	const maxPerByte = 10
	for _, batch := range []bool{false, true} {
		body, path, want := manySmallObjects(2<<20), "/api/v1/lineage", http.StatusCreated
		if batch {
			body, path, want = append(append([]byte{'['}, body...), ']'), "/api/v1/lineage/batch", http.StatusOK
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		res := e.do(req{method: http.MethodPost, path: path, key: e.keyA, body: body})
		runtime.ReadMemStats(&after)
		if res.status != want || !bytes.Contains(res.body, []byte(`"ok":true`)) {
			t.Fatalf("POST %s: %d %.300s", path, res.status, res.body)
		}
		perByte := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(body))
		t.Logf("POST %s of %d bytes: %.1f bytes allocated per byte", path, len(body), perByte)
		if perByte > maxPerByte {
			t.Errorf("POST %s of %d bytes allocated %.1f bytes per byte of the body, want at most %d", path, len(body), perByte, maxPerByte)
		}
	}
}
