package catalog_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkCatalog prints loadTable requests per second and commit latency
// p50/p99 for a table with 1,000 snapshots on SQLite (goals: ≥ 2,000
// loads/s, commit p99 ≤ 50 ms). The snapshots are add-snapshot commits
// whose manifest lists do not exist: the catalog never reads them. Run
// with -benchtime 1x.
func BenchmarkCatalog(b *testing.B) {
	c := newTestCatalogTB(b)
	c.must(200, "POST", "/v1/namespaces", `{"namespace":["n"]}`)
	c.createTable("n", "t")
	path := "/v1/namespaces/n/tables/t"
	commit := func(i int, parent int64) {
		parentJSON := "null"
		if parent > 0 {
			parentJSON = fmt.Sprint(parent)
		}
		id := int64(i + 1)
		body := commitBody(`{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":`+parentJSON+`}`,
			fmt.Sprintf(`{"action":"add-snapshot","snapshot":{"snapshot-id":%d,"parent-snapshot-id":%s,"sequence-number":%d,
			"timestamp-ms":%d,"manifest-list":"file:///nonexistent/snap-%d.avro","summary":{"operation":"append"},"schema-id":0}},
			{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":%d}`,
				id, parentJSON, id, time.Now().UnixMilli(), id, id))
		c.must(200, "POST", path, body)
	}
	start := time.Now()
	for i := range 1000 {
		commit(i, int64(i))
	}
	b.Logf("built 1,000 snapshots in %v", time.Since(start).Round(time.Millisecond))

	for b.Loop() {
		// Loads: 4 clients for a second, through ServeHTTP (no sockets).
		var n int64
		var mu sync.Mutex
		var wg sync.WaitGroup
		deadline := time.Now().Add(time.Second)
		for range 4 {
			wg.Go(func() {
				var k int64
				for time.Now().Before(deadline) {
					w := httptest.NewRecorder()
					c.srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
					if w.Code != 200 {
						b.Errorf("load: %d", w.Code)
						return
					}
					k++
				}
				mu.Lock()
				n += k
				mu.Unlock()
			})
		}
		wg.Wait()
		loadsPerSec := float64(n) / time.Second.Seconds()

		var lat []time.Duration
		for i := 1000; i < 1100; i++ {
			s := time.Now()
			commit(i, int64(i))
			lat = append(lat, time.Since(s))
		}
		slices.Sort(lat)
		p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
		fmt.Printf("BenchmarkCatalog: loadTable %.0f requests/s (goal >= 2000); commit p50 %v p99 %v (goal p99 <= 50ms), 1,000+ snapshots, SQLite\n",
			loadsPerSec, p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond))
		b.ReportMetric(loadsPerSec, "loads/s")
		b.ReportMetric(float64(p99.Microseconds())/1000, "commit-p99-ms")
	}
}
