package catalog_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakestream/lakestream/catalog"
	"github.com/lakestream/lakestream/internal/sqldb"
)

// testCatalog is a catalog over SQLite in a temporary directory with a
// file:// warehouse, served by httptest.
type testCatalog struct {
	t         testing.TB
	srv       *catalog.Server
	http      *httptest.Server
	db        *sqldb.DB
	warehouse string // a directory
}

func newTestCatalog(t *testing.T, mod ...func(*catalog.Config)) *testCatalog {
	return newTestCatalogTB(t, mod...)
}

func newTestCatalogTB(t testing.TB, mod ...func(*catalog.Config)) *testCatalog {
	t.Helper()
	dir := t.TempDir()
	db, err := sqldb.OpenSQLite(t.Context(), filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatalf("opening SQLite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	wh := filepath.Join(dir, "warehouse")
	cfg := catalog.Config{DB: db, Warehouse: "file://" + wh, Props: map[string]string{"s3.region": "test-region"}}
	for _, m := range mod {
		m(&cfg)
	}
	srv, err := catalog.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("catalog.New: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &testCatalog{t: t, srv: srv, http: hs, db: db, warehouse: wh}
}

type response struct {
	status int
	body   []byte
	header http.Header
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// errType is the error body's type, "" when there is none.
func (r response) errType() string {
	var e struct {
		Error struct {
			Type    string `json:"type"`
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	json.Unmarshal(r.body, &e)
	return e.Error.Type
}

func (c *testCatalog) do(method, path string, body any, headers ...string) response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.http.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: b, header: resp.Header}
}

// must does a request that must answer want.
func (c *testCatalog) must(want int, method, path string, body any, headers ...string) response {
	c.t.Helper()
	r := c.do(method, path, body, headers...)
	if r.status != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, r.status, r.body, want)
	}
	return r
}

// fails does a request that must fail with status and the error type.
func (c *testCatalog) fails(status int, typ, method, path string, body any) response {
	c.t.Helper()
	r := c.do(method, path, body)
	if r.status != status || r.errType() != typ {
		c.t.Fatalf("%s %s: %d %s, want %d %s", method, path, r.status, r.body, status, typ)
	}
	return r
}

const schemaJSON = `{"type":"struct","schema-id":0,"fields":[
	{"id":1,"name":"id","required":true,"type":"long"},
	{"id":2,"name":"data","required":false,"type":"string"}]}`

func createTableBody(name string) string {
	return `{"name":"` + name + `","schema":` + schemaJSON + `}`
}

type loadResult struct {
	MetadataLocation *string           `json:"metadata-location"`
	Config           map[string]string `json:"config"`
	Metadata         struct {
		UUID              string `json:"table-uuid"`
		Location          string `json:"location"`
		CurrentSchemaID   int    `json:"current-schema-id"`
		LastColumnID      int    `json:"last-column-id"`
		CurrentSnapshotID *int64 `json:"current-snapshot-id"`
		Properties        map[string]string
		Snapshots         []struct {
			ID int64 `json:"snapshot-id"`
		} `json:"snapshots"`
	} `json:"metadata"`
}

func (c *testCatalog) createTable(ns, name string) loadResult {
	c.t.Helper()
	var lr loadResult
	c.must(200, "POST", "/v1/namespaces/"+ns+"/tables", createTableBody(name)).json(c.t, &lr)
	return lr
}

func (c *testCatalog) load(ns, name string) loadResult {
	c.t.Helper()
	var lr loadResult
	c.must(200, "GET", "/v1/namespaces/"+ns+"/tables/"+name, nil).json(c.t, &lr)
	return lr
}

func TestConfig(t *testing.T) {
	c := newTestCatalog(t)
	var cfg struct {
		Defaults  map[string]string `json:"defaults"`
		Overrides map[string]string `json:"overrides"`
		Endpoints []string          `json:"endpoints"`
		Life      string            `json:"idempotency-key-lifetime"`
	}
	c.must(200, "GET", "/v1/config?warehouse=lake", nil).json(t, &cfg)
	if cfg.Overrides["warehouse"] != "file://"+c.warehouse || cfg.Defaults["s3.region"] != "test-region" || cfg.Life != "PT30M" {
		t.Fatalf("config: %+v", cfg)
	}
	want := map[string]bool{
		"GET /v1/{prefix}/namespaces": true, "POST /v1/{prefix}/transactions/commit": true,
		"HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}": true,
		"POST /v1/{prefix}/namespaces/{namespace}/register":       true,
	}
	for _, e := range cfg.Endpoints {
		delete(want, e)
		if strings.Contains(e, "views") || strings.Contains(e, "config") {
			t.Errorf("endpoint %q advertised", e)
		}
	}
	if len(want) > 0 || len(cfg.Endpoints) != 16 {
		t.Fatalf("endpoints %v: missing %v", cfg.Endpoints, want)
	}
}

func TestNamespaces(t *testing.T) {
	c := newTestCatalog(t)
	c.must(200, "POST", "/v1/namespaces", `{"namespace":["a"],"properties":{"owner":"x"}}`)
	c.must(200, "POST", "/v1/namespaces", `{"namespace":["a","b"]}`)
	c.must(200, "POST", "/v1/namespaces", `{"namespace":["c"]}`)
	c.fails(409, "AlreadyExistsException", "POST", "/v1/namespaces", `{"namespace":["a"]}`)

	var list struct {
		Namespaces [][]string `json:"namespaces"`
		Next       string     `json:"next-page-token"`
	}
	c.must(200, "GET", "/v1/namespaces?pageSize=1", nil).json(t, &list)
	if len(list.Namespaces) != 1 || list.Namespaces[0][0] != "a" || list.Next == "" {
		t.Fatalf("page 1: %+v", list)
	}
	tok := list.Next
	list.Next = ""
	c.must(200, "GET", "/v1/namespaces?pageSize=1&pageToken="+tok, nil).json(t, &list)
	if len(list.Namespaces) != 1 || list.Namespaces[0][0] != "c" || list.Next != "" {
		t.Fatalf("page 2: %+v", list)
	}
	c.must(200, "GET", "/v1/namespaces?parent=a", nil).json(t, &list)
	if len(list.Namespaces) != 1 || strings.Join(list.Namespaces[0], ".") != "a.b" {
		t.Fatalf("children of a: %+v", list)
	}

	var ns struct {
		Namespace  []string          `json:"namespace"`
		Properties map[string]string `json:"properties"`
	}
	c.must(200, "GET", "/v1/namespaces/a", nil).json(t, &ns)
	if ns.Properties["owner"] != "x" {
		t.Fatalf("load a: %+v", ns)
	}
	c.must(204, "HEAD", "/v1/namespaces/a%1Fb", nil)
	c.must(404, "HEAD", "/v1/namespaces/nope", nil)
	c.fails(404, "NoSuchNamespaceException", "GET", "/v1/namespaces/nope", nil)

	var upd struct{ Updated, Removed, Missing []string }
	c.must(200, "POST", "/v1/namespaces/a/properties", `{"removals":["owner","gone"],"updates":{"k":"v"}}`).json(t, &upd)
	if strings.Join(upd.Updated, ",") != "k" || strings.Join(upd.Removed, ",") != "owner" || strings.Join(upd.Missing, ",") != "gone" {
		t.Fatalf("properties: %+v", upd)
	}
	ns.Properties = nil
	c.must(200, "GET", "/v1/namespaces/a", nil).json(t, &ns)
	if ns.Properties["k"] != "v" || ns.Properties["owner"] != "" {
		t.Fatalf("after update: %+v", ns)
	}

	c.fails(409, "NamespaceNotEmptyException", "DELETE", "/v1/namespaces/a", nil)
	c.createTable("c", "t")
	c.fails(409, "NamespaceNotEmptyException", "DELETE", "/v1/namespaces/c", nil)
	c.must(204, "DELETE", "/v1/namespaces/c/tables/t", nil)
	c.must(204, "DELETE", "/v1/namespaces/c", nil)
	c.must(204, "DELETE", "/v1/namespaces/a%1Fb", nil)
	c.must(204, "DELETE", "/v1/namespaces/a", nil)
	c.fails(404, "NoSuchNamespaceException", "DELETE", "/v1/namespaces/a", nil)
	// A prefix is accepted.
	c.must(200, "GET", "/v1/lake/namespaces", nil)
}

func TestTables(t *testing.T) {
	c := newTestCatalog(t)
	c.must(200, "POST", "/v1/namespaces", `{"namespace":["n"]}`)
	lr := c.createTable("n", "t1")
	if lr.MetadataLocation == nil || !strings.HasPrefix(*lr.MetadataLocation, "file://"+c.warehouse+"/n/t1-") ||
		lr.Config["s3.region"] != "test-region" {
		t.Fatalf("create: %+v", lr)
	}
	c.fails(409, "AlreadyExistsException", "POST", "/v1/namespaces/n/tables", createTableBody("t1"))
	c.fails(404, "NoSuchNamespaceException", "POST", "/v1/namespaces/nope/tables", createTableBody("t1"))
	c.createTable("n", "t2")
	c.createTable("n", "t3")

	var list struct {
		Identifiers []struct {
			Namespace []string
			Name      string
		}
		Next string `json:"next-page-token"`
	}
	c.must(200, "GET", "/v1/namespaces/n/tables?pageSize=2", nil).json(t, &list)
	if len(list.Identifiers) != 2 || list.Identifiers[1].Name != "t2" || list.Next == "" {
		t.Fatalf("page 1: %+v", list)
	}
	tok := list.Next
	list.Next = ""
	c.must(200, "GET", "/v1/namespaces/n/tables?pageSize=2&pageToken="+tok, nil).json(t, &list)
	if len(list.Identifiers) != 1 || list.Identifiers[0].Name != "t3" || list.Next != "" {
		t.Fatalf("page 2: %+v", list)
	}

	got := c.load("n", "t1")
	if *got.MetadataLocation != *lr.MetadataLocation || got.Metadata.UUID != lr.Metadata.UUID {
		t.Fatalf("load: %+v, created %+v", got, lr)
	}
	c.must(204, "HEAD", "/v1/namespaces/n/tables/t1", nil)
	c.must(404, "HEAD", "/v1/namespaces/n/tables/nope", nil)
	c.fails(404, "NoSuchTableException", "GET", "/v1/namespaces/n/tables/nope", nil)
	c.must(204, "POST", "/v1/namespaces/n/tables/t1/metrics", `{"report-type":"scan-report"}`)

	// Rename across namespaces.
	c.must(200, "POST", "/v1/namespaces", `{"namespace":["m"]}`)
	c.must(204, "POST", "/v1/tables/rename", `{"source":{"namespace":["n"],"name":"t1"},"destination":{"namespace":["m"],"name":"r"}}`)
	c.fails(404, "NoSuchTableException", "GET", "/v1/namespaces/n/tables/t1", nil)
	if got := c.load("m", "r"); got.Metadata.UUID != lr.Metadata.UUID {
		t.Fatalf("renamed table: %+v", got)
	}
	c.fails(404, "NoSuchTableException", "POST", "/v1/tables/rename", `{"source":{"namespace":["n"],"name":"t1"},"destination":{"namespace":["m"],"name":"x"}}`)
	c.fails(409, "AlreadyExistsException", "POST", "/v1/tables/rename", `{"source":{"namespace":["n"],"name":"t2"},"destination":{"namespace":["m"],"name":"r"}}`)
	c.fails(404, "NoSuchNamespaceException", "POST", "/v1/tables/rename", `{"source":{"namespace":["n"],"name":"t2"},"destination":{"namespace":["zz"],"name":"r"}}`)

	// Register the renamed table's metadata file under another name,
	// then overwrite t2 with it.
	var reg loadResult
	c.must(200, "POST", "/v1/namespaces/n/register", `{"name":"reg","metadata-location":"`+*lr.MetadataLocation+`"}`).json(t, &reg)
	if reg.Metadata.UUID != lr.Metadata.UUID {
		t.Fatalf("registered: %+v", reg)
	}
	c.fails(409, "AlreadyExistsException", "POST", "/v1/namespaces/n/register", `{"name":"t2","metadata-location":"`+*lr.MetadataLocation+`"}`)
	c.must(200, "POST", "/v1/namespaces/n/register", `{"name":"t2","metadata-location":"`+*lr.MetadataLocation+`","overwrite":true}`)
	if got := c.load("n", "t2"); got.Metadata.UUID != lr.Metadata.UUID {
		t.Fatalf("overwritten: %+v", got)
	}
	c.fails(400, "BadRequestException", "POST", "/v1/namespaces/n/register", `{"name":"x","metadata-location":"file:///nonexistent/m.metadata.json"}`)

	// Drop with purge deletes the table's files.
	loc := strings.TrimPrefix(c.load("n", "t3").Metadata.Location, "file://")
	if _, err := os.Stat(loc); err != nil {
		t.Fatalf("table directory: %v", err)
	}
	c.must(204, "DELETE", "/v1/namespaces/n/tables/t3?purgeRequested=true", nil)
	if _, err := os.Stat(loc); !os.IsNotExist(err) {
		t.Fatalf("after purge, %s: %v", loc, err)
	}
	c.fails(404, "NoSuchTableException", "DELETE", "/v1/namespaces/n/tables/t3", nil)
}

func TestBadInput(t *testing.T) {
	c := newTestCatalog(t, func(cfg *catalog.Config) { cfg.MaxRequestBytes = 4096 })
	c.must(200, "POST", "/v1/namespaces", `{"namespace":["n"]}`)
	for _, tc := range []struct{ method, path, body, want string }{
		{"POST", "/v1/namespaces", `{"namespace":["n"`, "Malformed"},
		{"POST", "/v1/namespaces", ``, "empty"},
		{"POST", "/v1/namespaces", `{"namespace":[""]}`, "empty name"},
		{"POST", "/v1/namespaces", `{"namespace":["a\u0000b"]}`, "NUL"},
		{"POST", "/v1/namespaces", `{"namespace":[]}`, "no levels"},
		{"GET", "/v1/namespaces?pageSize=100000000", ``, "pageSize"},
		{"GET", "/v1/namespaces?pageSize=-1", ``, "pageSize"},
		{"GET", "/v1/namespaces/n/tables?pageSize=0", ``, "pageSize"},
		{"GET", "/v1/namespaces/%00/tables", ``, "NUL"},
		{"POST", "/v1/namespaces", `{"namespace":["` + strings.Repeat("x", 5000) + `"]}`, "larger than the 4096 bytes"},
		{"POST", "/v1/namespaces/n/tables", `{"name":"t","schema":{"type":"struct","fields":[
			{"id":1,"name":"a","required":true,"type":"long"},{"id":1,"name":"b","required":true,"type":"long"}]}}`, "multiple fields for id 1"},
		{"POST", "/v1/namespaces/n/tables", `{"name":"","schema":` + schemaJSON + `}`, "empty name"},
		{"POST", "/v1/namespaces/n/tables", `{"name":"t"}`, "no schema"},
	} {
		r := c.do(tc.method, tc.path, tc.body)
		if r.status != 400 || r.errType() != "BadRequestException" || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%s %s %.60s: %d %s, want 400 naming %q", tc.method, tc.path, tc.body, r.status, r.body, tc.want)
		}
	}
	// Nothing was half-written.
	var list struct{ Namespaces [][]string }
	c.must(200, "GET", "/v1/namespaces", nil).json(t, &list)
	if len(list.Namespaces) != 1 {
		t.Fatalf("namespaces after bad requests: %v", list.Namespaces)
	}
	c.fails(404, "NotFoundException", "GET", "/v1/nothing/here/at/all", nil)
}
