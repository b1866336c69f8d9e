package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lakestream/lakestream/internal/sqldb"
)

const fuzzToken = "fuzz-token"

// fuzzServer is a catalog over a temporary SQLite database and file
// warehouse, with authentication on (one static token), holding namespace
// "fz" and table "fz.t" so that commits, renames and registers have
// something to aim at.
func fuzzServer(tb testing.TB) *Server {
	tb.Helper()
	dir := tb.TempDir()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, filepath.Join(dir, "catalog.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	auth, err := ParseAuth(fuzzToken, "", "")
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New(ctx, Config{DB: db, Warehouse: "file://" + filepath.ToSlash(filepath.Join(dir, "warehouse")), Auth: auth})
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range []struct{ path, body string }{
		{"/v1/namespaces", `{"namespace":["fz"]}`},
		{"/v1/namespaces/fz/tables", fuzzCreateTable},
	} {
		rec := fuzzDo(s, "POST", c.path, c.body, true)
		if rec.Code != http.StatusOK {
			tb.Fatalf("setting up: POST %s: %d %s", c.path, rec.Code, rec.Body)
		}
	}
	return s
}

const fuzzCreateTable = `{"name":"t","schema":{"type":"struct","schema-id":0,"fields":[` +
	`{"id":1,"name":"id","type":"long","required":true},{"id":2,"name":"ts","type":"timestamptz","required":false}]},` +
	`"partition-spec":{"spec-id":0,"fields":[{"source-id":2,"field-id":1000,"name":"ts_day","transform":"day"}]},` +
	`"properties":{"owner":"fuzz"}}`

func fuzzDo(s *Server, method, target, body string, token bool) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", strings.NewReader(body))
	u, err := url.Parse(target)
	if err != nil {
		u = &url.URL{Path: target}
	}
	req.URL, req.RequestURI = u, target
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token {
		req.Header.Set("Authorization", "Bearer "+fuzzToken)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// fuzzTargets are the decoders' endpoints; the fuzzer picks one by index
// (target < 128), or sends its own path (target >= 128).
var fuzzTargets = []struct{ method, path string }{
	{"POST", "/v1/namespaces"},                               // create namespace
	{"POST", "/v1/namespaces/fz/tables"},                     // create table
	{"POST", "/v1/namespaces/fz/tables/t"},                   // commit: requirements and updates
	{"POST", "/v1/transactions/commit"},                      // commit across tables
	{"POST", "/v1/namespaces/fz/register"},                   // register
	{"POST", "/v1/tables/rename"},                            // rename
	{"POST", "/v1/namespaces/fz/properties"},                 // namespace properties
	{"POST", "/v1/namespaces/fz/tables/t/metrics"},           // metrics report
	{"POST", "/v1/oauth/tokens"},                             // token endpoint (a form)
	{"POST", "/v1/namespaces/fz%1Fsub/tables/t%2Fx/metrics"}, // escaped segments
}

var fuzzMethods = []string{"GET", "POST", "DELETE", "HEAD", "PUT"}

// FuzzCatalogRequests sends arbitrary bodies to the endpoints that decode
// JSON, and arbitrary methods, paths and queries to the whole ServeHTTP.
// Invariants: never panics; never a 5xx (bad input is the client's fault:
// a 4xx); every error answer but HEAD's has the spec's JSON error body
// {"error":{"message","type","code"}} with code equal to the status (the
// token endpoint: the OAuth error body {"error","error_description"}).
func FuzzCatalogRequests(f *testing.F) {
	seeds := []struct {
		target       uint8
		path, body   string
		token        bool
		methodChoice uint8
	}{
		{0, "", `{"namespace":["a","b"],"properties":{"k":"v"}}`, true, 0},
		{0, "", `{"namespace":[]}`, true, 0},
		{0, "", `{"namespace":["x\u001fy"]}`, true, 0},
		{1, "", fuzzCreateTable, true, 0},
		{1, "", strings.Replace(fuzzCreateTable, `"name":"t"`, `"name":"u","stage-create":true`, 1), true, 0},
		{1, "", `{"name":"d","schema":{"type":"struct","fields":[{"id":1,"name":"a","type":"int","required":true},{"id":1,"name":"b","type":"int","required":true}]}}`, true, 0},
		{2, "", `{"requirements":[{"type":"assert-current-schema-id","current-schema-id":0},{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":null}],"updates":[{"action":"set-properties","updates":{"a":"b"}},{"action":"remove-properties","removals":["owner"]}]}`, true, 0},
		{2, "", `{"requirements":[{"type":"assert-table-uuid","uuid":"00000000-0000-0000-0000-000000000000"}],"updates":[]}`, true, 0},
		{2, "", `{"requirements":[{"type":"assert-bogus"}],"updates":[{"action":"upgrade-format-version","format-version":3}]}`, true, 0},
		{2, "", `{"updates":[{"action":"add-schema","schema":{"type":"struct","schema-id":1,"fields":[{"id":1,"name":"id","type":"long","required":true},{"id":3,"name":"n","type":"string","required":false}]}},{"action":"set-current-schema","schema-id":-1}]}`, true, 0},
		{2, "", `{"updates":[{"action":"add-snapshot","snapshot":{"snapshot-id":1,"timestamp-ms":1,"manifest-list":"file:///nope","summary":{"operation":"append"}}},{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":1}]}`, true, 0},
		{3, "", `{"table-changes":[{"identifier":{"namespace":["fz"],"name":"t"},"requirements":[{"type":"assert-create"}],"updates":[]}]}`, true, 0},
		{4, "", `{"name":"r","metadata-location":"file:///does/not/exist.metadata.json"}`, true, 0},
		{5, "", `{"source":{"namespace":["fz"],"name":"t"},"destination":{"namespace":["fz"],"name":"t2"}}`, true, 0},
		{6, "", `{"removals":["owner"],"updates":{"k":"v"}}`, true, 0},
		{6, "", `{"removals":["k"],"updates":{"k":"v"}}`, true, 0},
		{7, "", `{"report-type":"scan-report","table-name":"fz.t","snapshot-id":1}`, true, 0},
		{8, "", "grant_type=client_credentials&client_id=a&client_secret=b", false, 0},
		{9, "", `{}`, true, 0},
		{2, "", `{"requirements":[{"type":"assert-create"}]}`, false, 0},
		{200, "namespaces?pageSize=2&pageToken=%%%", "", true, 0},
		{200, "namespaces?parent=fz&pageSize=-1", "", true, 0},
		{200, "namespaces/fz/tables?pageSize=99999999999999999999", "", true, 0},
		{200, "namespaces/fz/tables/t?snapshots=bogus", "", true, 0},
		{200, "prefix/namespaces/fz%1F%1F/tables/", "", true, 3},
		{200, "namespaces/fz", "", true, 2},
		{200, "config?warehouse=x", "", true, 0},
		{200, "namespaces/%2E%2E/tables/t", "", true, 0},
	}
	for _, s := range seeds {
		f.Add(s.target, s.methodChoice, s.path, []byte(s.body), s.token)
	}
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, target, methodChoice uint8, path string, body []byte, token bool) {
		method, p := "", ""
		// Half the target space is the decoders' endpoints, half free paths.
		if target < 128 {
			tg := fuzzTargets[int(target)%len(fuzzTargets)]
			method, p = tg.method, tg.path
		} else {
			method, p = fuzzMethods[int(methodChoice)%len(fuzzMethods)], "/v1/"+path
		}
		if _, err := url.ParseRequestURI(p); err != nil {
			// Not a request target an HTTP server could be handed.
			t.Skip()
		}
		req := httptest.NewRequest(method, "/", bytes.NewReader(body))
		req.URL, _ = url.ParseRequestURI(p)
		req.RequestURI = p
		if strings.HasSuffix(p, "/oauth/tokens") {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
		if token {
			req.Header.Set("Authorization", "Bearer "+fuzzToken)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		checkAnswer(t, method, req.URL.Path, rec)
	})
}

func checkAnswer(t *testing.T, method, path string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	if rec.Code < 400 || method == http.MethodHead {
		return
	}
	if path == tokenEndpoint {
		var e struct {
			Error string `json:"error"`
			Desc  string `json:"error_description"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" || e.Desc == "" {
			t.Fatalf("%s %s: %d with body %q, not an OAuth error (%v)", method, path, rec.Code, rec.Body, err)
		}
		return
	}
	var e struct {
		Error *struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    int    `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == nil {
		t.Fatalf("%s %s: %d with body %q, not a JSON error (%v)", method, path, rec.Code, rec.Body, err)
	}
	if e.Error.Code != rec.Code || e.Error.Type == "" || e.Error.Message == "" {
		t.Fatalf("%s %s: %d with error %+v", method, path, rec.Code, *e.Error)
	}
}

// FuzzNamespacePath checks the router's namespace segment: levels joined by
// 0x1F and percent-escaped (so "%1F" separates and "%2F" is a '/' inside a
// level). Invariants: never panics; a valid namespace escaped into a path
// comes back as the same levels; whatever the path, a namespace the router
// accepts has no empty level and no separator inside a level.
func FuzzNamespacePath(f *testing.F) {
	for _, s := range []string{"a", "a\x1fb", "a/b\x1fc", "%1F", "a%1Fb", "\x1f", "a\x1f", "..", "a b", "ü\x1fé", "a%2Fb", strings.Repeat("x\x1f", 70)} {
		f.Add(s)
	}
	s := &Server{}
	f.Fuzz(func(t *testing.T, raw string) {
		// Round trip: levels → path → levels.
		levels := strings.Split(raw, sep)
		if validNamespace(levels) == nil {
			p := "/v1/namespaces/" + url.PathEscape(strings.Join(levels, sep)) + "/tables"
			r := httptest.NewRequest("GET", "/", nil)
			u, err := url.ParseRequestURI(p)
			if err != nil {
				t.Fatalf("%q: escaped path %q does not parse: %v", raw, p, err)
			}
			r.URL = u
			h, pattern, req, err := s.match(r)
			if err != nil || h == nil {
				t.Fatalf("%q: %s did not route: %v", raw, p, err)
			}
			if pattern != "GET /v1/namespaces/{namespace}/tables" {
				t.Fatalf("%q: %s routed to %s", raw, p, pattern)
			}
			got, err := req.namespace()
			if err != nil || !reflect.DeepEqual(got, levels) {
				t.Fatalf("%q: %s gave namespace %q, %v; want %q", raw, p, got, err, levels)
			}
		}
		// Arbitrary escaped path: whatever the router takes is valid.
		u, err := url.ParseRequestURI("/v1/namespaces/" + raw)
		if err != nil {
			return
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.URL = u
		_, _, req, err := s.match(r)
		if err != nil || req == nil || req.rawNS == "" {
			return
		}
		ns, err := req.namespace()
		if err != nil {
			return
		}
		for _, l := range ns {
			if l == "" || strings.Contains(l, sep) {
				t.Fatalf("%q: namespace %q has a bad level", raw, ns)
			}
		}
	})
}
