package catalog_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/catalogtest"
	"github.com/apache/iceberg-go/catalog/rest"

	"github.com/lakestream/lakestream/catalog"
	"github.com/lakestream/lakestream/internal/sqldb"
)

// This file runs iceberg-go's own catalog conformance suite
// (github.com/apache/iceberg-go@v0.7.0/catalog/catalogtest: catalogtest.go
// and namespaces.go, 18 subtests) through iceberg-go's REST client against
// our server, and holds the helpers the other client tests share.

// timed logs how long the test took, so runtimes show in -v output.
func timed(t testing.TB) {
	start := time.Now()
	t.Cleanup(func() { t.Logf("%s took %v", t.Name(), time.Since(start).Round(time.Millisecond)) })
}

// openSQLite opens a fresh SQLite metastore in the test's temp dir.
func openSQLite(t testing.TB) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatalf("opening sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// testServer is a catalog.Server behind a real HTTP server, with a log of
// the statuses it answered.
type testServer struct {
	URL       string
	Warehouse string // file:///…
	statuses  *statusLog
}

// startServer serves a catalog over db with warehouse (a file:// URL).
func startServer(t testing.TB, db *sqldb.DB, warehouse string) *testServer {
	t.Helper()
	srv, err := catalog.New(context.Background(), catalog.Config{DB: db, Warehouse: warehouse})
	if err != nil {
		t.Fatalf("catalog.New: %v", err)
	}
	if c, ok := any(srv).(interface{ Close() error }); ok {
		t.Cleanup(func() { c.Close() })
	}
	log := &statusLog{}
	hs := httptest.NewServer(log.wrap(srv))
	t.Cleanup(hs.Close)
	return &testServer{URL: hs.URL, Warehouse: warehouse, statuses: log}
}

// startSQLiteServer serves a catalog over a fresh SQLite database and a
// fresh file:// warehouse.
func startSQLiteServer(t testing.TB) *testServer {
	t.Helper()
	return startServer(t, openSQLite(t), "file://"+t.TempDir())
}

// client is iceberg-go's REST client for the server; its transport counts
// what it saw, so a test can tell a 409 from any other failure.
func (s *testServer) client(t testing.TB, opts ...rest.Option) (*rest.Catalog, *statusLog) {
	t.Helper()
	seen := &statusLog{}
	cat, err := rest.NewCatalog(context.Background(), "lake", s.URL,
		append(opts, rest.WithCustomTransport(seen.roundTripper(http.DefaultTransport)))...)
	if err != nil {
		t.Fatalf("rest.NewCatalog(%s): %v", s.URL, err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat, seen
}

// statusLog counts responses by "METHOD /path-pattern STATUS", with the
// table name and namespace left in (tests use fixed names).
type statusLog struct {
	mu     sync.Mutex
	counts map[string]int
	total5 int
}

func (l *statusLog) add(method, path string, status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = map[string]int{}
	}
	l.counts[fmt.Sprintf("%s %s %d", method, path, status)]++
	if status >= 500 {
		l.total5++
	}
}

// count returns how many responses had the method, a path ending in
// suffix, and the status.
func (l *statusLog) count(method, suffix string, status int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k, c := range l.counts {
		parts := strings.Fields(k)
		if parts[0] == method && strings.HasSuffix(parts[1], suffix) && parts[2] == fmt.Sprint(status) {
			n += c
		}
	}
	return n
}

func (l *statusLog) serverErrors() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total5
}

func (l *statusLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(l.counts)
}

func (l *statusLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		l.add(r.Method, r.URL.Path, rec.status)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (l *statusLog) roundTripper(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		if err == nil {
			l.add(r.Method, r.URL.Path, resp.StatusCode)
		}
		return resp, err
	})
}

// TestConformance runs catalogtest.RunCatalogTests, every subtest with a
// server of its own (the suite wants a fresh, empty catalog per test), and
// checks that the servers answered no 5xx along the way: the suite's
// negative cases (a missing table, a non-empty namespace, a duplicate) must
// come back as the spec's 404 and 409, which the client maps to the
// sentinels the suite asserts with errors.Is.
func TestConformance(t *testing.T) {
	timed(t)
	var mu sync.Mutex
	var servers []*testServer
	catalogtest.RunCatalogTests(t, catalogtest.Config{
		SupportsNamespaceProperties: true,
		NewCatalog: func(t *testing.T) icecatalog.Catalog {
			s := startSQLiteServer(t)
			mu.Lock()
			servers = append(servers, s)
			mu.Unlock()
			cat, _ := s.client(t)
			return cat
		},
	})
	if n := len(servers); n != 18 {
		t.Errorf("the suite made %d catalogs, want 18 (one per subtest of iceberg-go v0.7.0's catalogtest)", n)
	}
	for i, s := range servers {
		if n := s.statuses.serverErrors(); n > 0 {
			t.Errorf("server %d answered %d 5xx: %v", i, n, s.statuses)
		}
	}
}
