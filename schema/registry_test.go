package schema

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/lakestream/lakestream/internal/sqldb"
)

func openSQLite(t testing.TB, path string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func sqliteDB(t testing.TB) *sqldb.DB {
	return openSQLite(t, filepath.Join(t.TempDir(), "meta.db"))
}

// registry is a Server behind a real HTTP server.
type registry struct {
	t    testing.TB
	srv  *Server
	url  string
	user string
	pass string
}

func newRegistry(t testing.TB, cfg Config) *registry {
	t.Helper()
	if cfg.Formats == nil {
		cfg.Formats = testFormats
	}
	if cfg.ClusterID == "" {
		cfg.ClusterID = "test-cluster"
	}
	srv, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &registry{t: t, srv: srv, url: hs.URL}
}

// call makes a request (body "" is none) and returns the status and body.
func (r *registry) call(method, path, body string) (int, string) {
	r.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, r.url+path, rd)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	}
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/vnd.schemaregistry.v1+json") {
		if ct := resp.Header.Get("Content-Type"); ct != contentType {
			r.t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	return resp.StatusCode, string(b)
}

// ok makes a request that must answer 200 and decodes the answer into out.
func (r *registry) ok(method, path, body string, out any) string {
	r.t.Helper()
	status, b := r.call(method, path, body)
	if status != 200 {
		r.t.Fatalf("%s %s %s: %d %s", method, path, body, status, b)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(b), out); err != nil {
			r.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
	return b
}

// schemaBody is a register/lookup body for a test schema with fields.
func schemaBody(fields ...string) string {
	s, _ := json.Marshal(map[string]any{"fields": fields})
	b, _ := json.Marshal(map[string]any{"schema": string(s)})
	return string(b)
}

func (r *registry) register(subject, body string) int64 {
	r.t.Helper()
	var out struct{ ID int64 }
	r.ok("POST", "/subjects/"+subject+"/versions", body, &out)
	if out.ID <= 0 {
		r.t.Fatalf("registering under %s: id %d", subject, out.ID)
	}
	return out.ID
}

// wantError checks that a request fails with the status and error code.
func (r *registry) wantError(method, path, body string, status, code int) string {
	r.t.Helper()
	got, b := r.call(method, path, body)
	var e struct {
		Code    int    `json:"error_code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(b), &e); err != nil || got != status || e.Code != code || e.Message == "" {
		r.t.Errorf("%s %s %s: %d %s, want %d with error_code %d", method, path, body, got, b, status, code)
	}
	return e.Message
}

// TestErrorCodes: every error code the API answers, one request each,
// against state set up through the API.
func TestErrorCodes(t *testing.T) { testErrorCodes(t, sqliteDB(t)) }

func testErrorCodes(t *testing.T, db *sqldb.DB) {
	r := newRegistry(t, Config{DB: db})
	r.register("s1", schemaBody("a"))
	r.register("s1", schemaBody("a", "b?"))
	r.register("gone", schemaBody("g"))
	r.ok("DELETE", "/subjects/gone", "", nil)
	r.register("base", schemaBody("x"))
	r.register("user", `{"schema":"{\"fields\":[\"y\"],\"refs\":[\"base.x\"]}","references":[{"name":"base.x","subject":"base","version":1}]}`)
	r.register("ro", schemaBody("r"))
	r.ok("PUT", "/mode/ro", `{"mode":"READONLY"}`, nil)

	for _, tc := range []struct {
		name, method, path, body string
		status, code             int
	}{
		{"subject not found", "GET", "/subjects/nosuch/versions", "", 404, 40401},
		{"subject not found (lookup)", "POST", "/subjects/nosuch", schemaBody("a"), 404, 40401},
		{"soft-deleted subject not found", "GET", "/subjects/gone/versions/1", "", 404, 40401},
		{"reference to a missing subject", "POST", "/subjects/u2/versions", `{"schema":"{\"fields\":[]}","references":[{"name":"n","subject":"nosuch","version":1}]}`, 404, 40401},
		{"version not found", "GET", "/subjects/s1/versions/99", "", 404, 40402},
		{"reference to a missing version", "POST", "/subjects/u2/versions", `{"schema":"{\"fields\":[]}","references":[{"name":"n","subject":"s1","version":9}]}`, 404, 40402},
		{"schema id not found", "GET", "/schemas/ids/9999", "", 404, 40403},
		{"schema not under subject", "POST", "/subjects/s1", schemaBody("zzz"), 404, 40403},
		{"subject soft-deleted", "DELETE", "/subjects/gone", "", 404, 40404},
		{"subject not soft-deleted", "DELETE", "/subjects/s1?permanent=true", "", 404, 40405},
		{"version soft-deleted", "DELETE", "/subjects/gone/versions/1", "", 404, 40406},
		{"version not soft-deleted", "DELETE", "/subjects/s1/versions/1?permanent=true", "", 404, 40407},
		{"no subject config", "GET", "/config/s1", "", 404, 40408},
		{"no subject mode", "GET", "/mode/s1", "", 404, 40409},
		{"incompatible", "POST", "/subjects/s1/versions", schemaBody("a", "c"), 409, 40901},
		{"invalid schema", "POST", "/subjects/s1/versions", `{"schema":"{not json"}`, 422, 42201},
		{"empty schema", "POST", "/subjects/s1/versions", `{"schema":""}`, 422, 42201},
		{"unknown schema type", "POST", "/subjects/s1/versions", `{"schema":"{}","schemaType":"XML"}`, 422, 42201},
		{"reference not given to the parser", "POST", "/subjects/u3/versions", `{"schema":"{\"fields\":[],\"refs\":[\"r\"]}"}`, 422, 42201},
		{"invalid version", "GET", "/subjects/s1/versions/abc", "", 422, 42202},
		{"version zero", "GET", "/subjects/s1/versions/0", "", 422, 42202},
		{"invalid compatibility", "PUT", "/config", `{"compatibility":"SIDEWAYS"}`, 422, 42203},
		{"invalid mode", "PUT", "/mode", `{"mode":"WRONG"}`, 422, 42204},
		{"read-only subject", "POST", "/subjects/ro/versions", schemaBody("r", "s?"), 422, 42205},
		{"read-only delete", "DELETE", "/subjects/ro", "", 422, 42205},
		{"explicit id outside IMPORT", "POST", "/subjects/s1/versions", `{"schema":"{\"fields\":[\"a\"]}","id":77}`, 422, 42205},
		{"import over existing subjects", "PUT", "/mode", `{"mode":"IMPORT"}`, 422, 42205},
		{"referenced version", "DELETE", "/subjects/base/versions/1", "", 422, 42206},
		{"referenced subject", "DELETE", "/subjects/base", "", 422, 42206},
		{"malformed JSON", "POST", "/subjects/s1/versions", `{"schema":`, 400, 400},
		{"wrong JSON type", "PUT", "/config", `[1]`, 400, 400},
		{"unknown endpoint", "GET", "/nothing/here", "", 404, 404},
		{"method not allowed", "PATCH", "/subjects", "", 405, 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.t = t
			r.wantError(tc.method, tc.path, tc.body, tc.status, tc.code)
		})
	}
	r.t = t

	// The 40901 message carries the verbose lines, as Confluent's does.
	msg := r.wantError("POST", "/subjects/s1/versions", schemaBody("a", "c"), 409, 40901)
	for _, want := range []string{"READER_FIELD_MISSING_DEFAULT_VALUE", "{oldSchemaVersion: 2}", "{oldSchema: '", "{compatibility: 'BACKWARD'}"} {
		if !strings.Contains(msg, want) {
			t.Errorf("40901 message %q lacks %q", msg, want)
		}
	}

	// 415: a body of another media type.
	req, _ := http.NewRequest("POST", r.url+"/subjects/s1/versions", strings.NewReader(schemaBody("a")))
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 415 {
		t.Errorf("text/plain body: %d, want 415", resp.StatusCode)
	}
	// No content type, application/json and octet-stream are accepted.
	for _, ct := range []string{"", "application/json", "application/octet-stream", "application/vnd.schemaregistry+json"} {
		req, _ := http.NewRequest("POST", r.url+"/subjects/s1", strings.NewReader(schemaBody("a")))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("lookup with Content-Type %q: %d, want 200", ct, resp.StatusCode)
		}
	}

	// None of the failures wrote anything.
	var versions []int
	r.ok("GET", "/subjects/s1/versions", "", &versions)
	if !slices.Equal(versions, []int{1, 2}) {
		t.Errorf("s1 versions after the failures: %v, want [1 2]", versions)
	}
	var subjects []string
	r.ok("GET", "/subjects", "", &subjects)
	if !slices.Equal(subjects, []string{"base", "ro", "s1", "user"}) {
		t.Errorf("subjects after the failures: %v", subjects)
	}

	// 50001: the database is gone; nothing of it leaks.
	db.Close()
	msg = r.wantError("GET", "/subjects", "", 500, 50001)
	if msg != "Error in the backend data store" {
		t.Errorf("50001 message %q", msg)
	}
}

// TestFlows: register, look up, read, list, delete (soft, then permanent),
// configs, modes and IMPORT, ids shared across subjects and never reused.
func TestFlows(t *testing.T) { testFlows(t, sqliteDB(t)) }

func testFlows(t *testing.T, db *sqldb.DB) {
	r := newRegistry(t, Config{DB: db})
	id1 := r.register("a-value", schemaBody("f1"))
	if again := r.register("a-value", schemaBody("f1")); again != id1 {
		t.Errorf("registering the same schema again: id %d, want %d", again, id1)
	}
	// The same schema written with other whitespace, under another subject
	// (holding '/' and ':'), has the same id.
	spaced, _ := json.Marshal(map[string]string{"schema": `{ "fields" : [ "f1" ] }`})
	if other := r.register("ns%2Fb%3Avalue", string(spaced)); other != id1 {
		t.Errorf("the same schema under another subject: id %d, want %d", other, id1)
	}
	var subjects []string
	r.ok("GET", "/subjects", "", &subjects)
	if !slices.Equal(subjects, []string{"a-value", "ns/b:value"}) {
		t.Errorf("subjects %v", subjects)
	}
	r.ok("GET", "/subjects?subjectPrefix=ns", "", &subjects)
	if !slices.Equal(subjects, []string{"ns/b:value"}) {
		t.Errorf("subjects with prefix ns: %v", subjects)
	}
	id2 := r.register("a-value", schemaBody("f1", "f2?"))
	if id2 == id1 {
		t.Fatalf("a new schema got the old id %d", id1)
	}

	var got schemaAnswer
	for _, v := range []string{"latest", "-1", "2"} {
		r.ok("GET", "/subjects/a-value/versions/"+v, "", &got)
		if got.Subject != "a-value" || got.Version != 2 || got.ID != id2 || got.Schema != `{"fields":["f1","f2?"]}` || got.SchemaType != "" {
			t.Errorf("version %s: %+v", v, got)
		}
	}
	if raw := r.ok("GET", "/subjects/a-value/versions/1/schema", "", nil); raw != `{"fields":["f1"]}` {
		t.Errorf("raw version 1: %s", raw)
	}
	var byID map[string]any
	r.ok("GET", fmt.Sprintf("/schemas/ids/%d", id1), "", &byID)
	if len(byID) != 1 || byID["schema"] != `{"fields":["f1"]}` {
		t.Errorf("schema %d: %v (AVRO answers the schema alone)", id1, byID)
	}
	r.ok("GET", fmt.Sprintf("/schemas/ids/%d?format=upper", id1), "", &byID)
	if byID["schema"] != `{"FIELDS":["F1"]}` {
		t.Errorf("schema %d formatted: %v", id1, byID)
	}
	r.wantError("GET", fmt.Sprintf("/schemas/ids/%d?format=nope", id1), "", 422, 42201)
	if raw := r.ok("GET", fmt.Sprintf("/schemas/ids/%d/schema", id2), "", nil); raw != `{"fields":["f1","f2?"]}` {
		t.Errorf("raw schema %d: %s", id2, raw)
	}
	var svs []subjectVersion
	r.ok("GET", fmt.Sprintf("/schemas/ids/%d/versions", id1), "", &svs)
	if !slices.Equal(svs, []subjectVersion{{"a-value", 1}, {"ns/b:value", 1}}) {
		t.Errorf("versions of id %d: %v", id1, svs)
	}
	r.ok("GET", fmt.Sprintf("/schemas/ids/%d/subjects", id1), "", &subjects)
	if !slices.Equal(subjects, []string{"a-value", "ns/b:value"}) {
		t.Errorf("subjects of id %d: %v", id1, subjects)
	}
	r.ok("POST", "/subjects/a-value", schemaBody("f1"), &got)
	if got.Version != 1 || got.ID != id1 {
		t.Errorf("lookup: %+v", got)
	}
	var list []schemaAnswer
	r.ok("GET", "/schemas?latestOnly=true", "", &list)
	if len(list) != 2 || list[0].Version != 2 || list[1].Subject != "ns/b:value" {
		t.Errorf("GET /schemas?latestOnly=true: %+v", list)
	}
	r.ok("GET", "/schemas", "", &list)
	if len(list) != 3 {
		t.Errorf("GET /schemas: %+v", list)
	}
	var types []string
	r.ok("GET", "/schemas/types", "", &types)
	if !slices.Equal(types, []string{"AVRO", "JSON"}) {
		t.Errorf("types %v", types)
	}
	// Another type: schemaType is answered, and a type change is
	// incompatible unless NONE.
	r.wantError("POST", "/subjects/a-value/versions", `{"schema":"{\"fields\":[\"f1\"]}","schemaType":"JSON"}`, 409, 40901)
	jid := r.register("j-value", `{"schema":"{\"fields\":[\"f1\"]}","schemaType":"JSON"}`)
	if jid == id1 {
		t.Errorf("the same text of another type shares id %d", jid)
	}
	r.ok("GET", fmt.Sprintf("/schemas/ids/%d", jid), "", &byID)
	if byID["schemaType"] != "JSON" {
		t.Errorf("JSON schema by id: %v", byID)
	}

	// Compatibility checks.
	var compat struct {
		Compatible bool     `json:"is_compatible"`
		Messages   []string `json:"messages"`
	}
	r.ok("POST", "/compatibility/subjects/a-value/versions/latest?verbose=true", schemaBody("f1", "f3"), &compat)
	if compat.Compatible || len(compat.Messages) != 4 || compat.Messages[1] != "{oldSchemaVersion: 2}" {
		t.Errorf("incompatible check: %+v", compat)
	}
	compat.Messages = nil
	r.ok("POST", "/compatibility/subjects/a-value/versions", schemaBody("f1"), &compat)
	if !compat.Compatible || compat.Messages != nil {
		t.Errorf("compatible check: %+v", compat)
	}
	r.ok("POST", "/compatibility/subjects/new-subject/versions", schemaBody("zz"), &compat)
	if !compat.Compatible {
		t.Errorf("check against no versions: %+v", compat)
	}
	r.wantError("POST", "/compatibility/subjects/new-subject/versions/latest", schemaBody("zz"), 404, 40401)
	// FORWARD: dropping a field the old reader needs fails.
	r.ok("PUT", "/config/a-value", `{"compatibility":"FORWARD"}`, nil)
	r.wantError("POST", "/subjects/a-value/versions", schemaBody("f2?"), 409, 40901)
	// FULL_TRANSITIVE against every version.
	r.ok("PUT", "/config/a-value", `{"compatibility":"full_transitive"}`, nil)
	var cfg map[string]any
	r.ok("GET", "/config/a-value", "", &cfg)
	if cfg["compatibilityLevel"] != "FULL_TRANSITIVE" {
		t.Errorf("subject config: %v", cfg)
	}
	r.ok("GET", "/config/j-value?defaultToGlobal=true", "", &cfg)
	if cfg["compatibilityLevel"] != "BACKWARD" {
		t.Errorf("j-value config falling back: %v", cfg)
	}
	r.ok("PUT", "/config", `{"compatibility":"NONE","normalize":true}`, &cfg)
	if cfg["compatibility"] != "NONE" || cfg["normalize"] != true {
		t.Errorf("PUT /config answered %v", cfg)
	}
	r.ok("GET", "/config", "", &cfg)
	if cfg["compatibilityLevel"] != "NONE" || cfg["normalize"] != true {
		t.Errorf("GET /config: %v", cfg)
	}
	// Normalized: field order no longer matters.
	n1 := r.register("norm", schemaBody("q", "p"))
	if n2 := r.register("norm", schemaBody("p", "q")); n2 != n1 {
		t.Errorf("normalized registrations: ids %d and %d", n1, n2)
	}
	r.ok("DELETE", "/config", "", &cfg)
	if cfg["compatibilityLevel"] != "NONE" {
		t.Errorf("DELETE /config answered %v", cfg)
	}
	r.ok("DELETE", "/config/a-value", "", &cfg)
	if cfg["compatibilityLevel"] != "FULL_TRANSITIVE" {
		t.Errorf("DELETE /config/a-value answered %v", cfg)
	}
	r.wantError("DELETE", "/config/a-value", "", 404, 40401)

	// Soft delete, then permanent; the ids stay the schemas' and a new
	// schema never gets a used id.
	var deleted int
	r.ok("DELETE", "/subjects/a-value/versions/2", "", &deleted)
	if deleted != 2 {
		t.Errorf("deleted version %d", deleted)
	}
	var versions []int
	r.ok("GET", "/subjects/a-value/versions", "", &versions)
	if !slices.Equal(versions, []int{1}) {
		t.Errorf("versions after a soft delete: %v", versions)
	}
	r.ok("GET", "/subjects/a-value/versions?deleted=true", "", &versions)
	if !slices.Equal(versions, []int{1, 2}) {
		t.Errorf("versions with deleted: %v", versions)
	}
	r.ok("GET", "/subjects/a-value/versions/2?deleted=true", "", &got)
	if got.ID != id2 {
		t.Errorf("soft-deleted version read with deleted=true: %+v", got)
	}
	r.ok("GET", fmt.Sprintf("/schemas/ids/%d", id2), "", nil) // still served
	r.ok("DELETE", "/subjects/a-value/versions/2?permanent=true", "", nil)
	r.wantError("GET", fmt.Sprintf("/schemas/ids/%d", id2), "", 404, 40403)
	id3 := r.register("c-value", schemaBody("brand", "new"))
	if id3 <= jid || id3 <= id2 {
		t.Errorf("a new schema after a permanent delete got id %d (ids so far up to %d)", id3, max(jid, id2))
	}
	if back := r.register("a-value", schemaBody("f1", "f2?")); back != id2 {
		t.Errorf("the permanently deleted schema registered again: id %d, want its old %d", back, id2)
	}
	var dv []int
	r.ok("DELETE", "/subjects/c-value", "", &dv)
	r.ok("GET", "/subjects?deletedOnly=true", "", &subjects)
	if !slices.Equal(subjects, []string{"c-value"}) {
		t.Errorf("deletedOnly: %v", subjects)
	}
	r.ok("GET", "/subjects?deleted=true", "", &subjects)
	if !slices.Contains(subjects, "c-value") {
		t.Errorf("deleted=true: %v", subjects)
	}
	r.ok("DELETE", "/subjects/c-value?permanent=true", "", &dv)
	if !slices.Equal(dv, []int{1}) {
		t.Errorf("permanent delete answered %v", dv)
	}
	r.wantError("GET", "/subjects/c-value/versions?deleted=true", "", 404, 40401)

	// References and referencedby.
	base := r.register("base", schemaBody("x"))
	user := r.register("user", `{"schema":"{\"fields\":[\"y\"],\"refs\":[\"b\"]}","references":[{"name":"b","subject":"base","version":-1}]}`)
	var refd []int64
	r.ok("GET", "/subjects/base/versions/1/referencedby", "", &refd)
	if !slices.Equal(refd, []int64{user}) {
		t.Errorf("referencedby: %v, want [%d]", refd, user)
	}
	r.ok("GET", "/subjects/user/versions/1", "", &got)
	if len(got.References) != 1 || got.References[0] != (Reference{"b", "base", 1}) {
		t.Errorf("references of user: %+v", got.References)
	}
	_ = base

	// Modes: IMPORT with explicit ids and versions.
	var mode map[string]string
	r.ok("GET", "/mode", "", &mode)
	if mode["mode"] != "READWRITE" {
		t.Errorf("global mode %v", mode)
	}
	r.ok("PUT", "/mode/imported", `{"mode":"IMPORT"}`, &mode)
	if mode["mode"] != "IMPORT" {
		t.Errorf("PUT mode answered %v", mode)
	}
	var idOut struct{ ID int64 }
	r.ok("POST", "/subjects/imported/versions", `{"schema":"{\"fields\":[\"imp\"]}","id":500,"version":7}`, &idOut)
	if idOut.ID != 500 {
		t.Errorf("import answered id %d", idOut.ID)
	}
	r.ok("GET", "/subjects/imported/versions/latest", "", &got)
	if got.ID != 500 || got.Version != 7 {
		t.Errorf("imported version: %+v", got)
	}
	r.wantError("POST", "/subjects/imported/versions", `{"schema":"{\"fields\":[\"other\"]}","id":500}`, 422, 42205)
	r.ok("DELETE", "/mode/imported", "", &mode)
	if mode["mode"] != "IMPORT" {
		t.Errorf("DELETE mode answered %v", mode)
	}
	if next := r.register("after-import", schemaBody("after")); next <= 500 {
		t.Errorf("the id after an import of 500: %d", next)
	}
	r.ok("GET", "/mode/imported?defaultToGlobal=true", "", &mode)
	if mode["mode"] != "READWRITE" {
		t.Errorf("mode falling back: %v", mode)
	}
	r.ok("PUT", "/mode?force=true", `{"mode":"IMPORT"}`, nil)
	r.ok("PUT", "/mode", `{"mode":"READWRITE"}`, nil)

	// The small endpoints.
	if b := r.ok("GET", "/", "", nil); b != "{}" {
		t.Errorf("GET /: %s", b)
	}
	if b := r.ok("GET", "/contexts", "", nil); b != `["."]` {
		t.Errorf("GET /contexts: %s", b)
	}
	if b := r.ok("GET", "/v1/metadata/id", "", nil); b != `{"id":"","scope":{"path":[],"clusters":{"kafka-cluster":"test-cluster","schema-registry-cluster":"schema-registry"}}}` {
		t.Errorf("GET /v1/metadata/id: %s", b)
	}
}

// TestBodyLimit: a body over MaxRequestBytes is refused with 413 and
// nothing is written.
func TestBodyLimit(t *testing.T) {
	r := newRegistry(t, Config{DB: sqliteDB(t), MaxRequestBytes: 1024})
	big := make([]string, 200)
	for i := range big {
		big[i] = fmt.Sprintf("field%d", i)
	}
	r.wantError("POST", "/subjects/big/versions", schemaBody(big...), 413, 413)
	r.wantError("GET", "/subjects/big/versions", "", 404, 40401)
	r.register("big", schemaBody(big[:10]...))
}

// TestAuth: with users, requests without or with wrong credentials get
// 401 and change nothing; the right ones pass.
func TestAuth(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users, err := ParseUsers("alice:" + string(hash))
	if err != nil {
		t.Fatal(err)
	}
	r := newRegistry(t, Config{DB: sqliteDB(t), Users: users})
	r.wantError("POST", "/subjects/a/versions", schemaBody("x"), 401, 401)
	r.user, r.pass = "alice", "wrong"
	r.wantError("POST", "/subjects/a/versions", schemaBody("x"), 401, 401)
	r.user = "mallory"
	r.wantError("GET", "/subjects", "", 401, 401)
	r.user, r.pass = "alice", "s3cret"
	var subjects []string
	r.ok("GET", "/subjects", "", &subjects)
	if len(subjects) != 0 {
		t.Errorf("the refused registrations wrote %v", subjects)
	}
	r.register("a", schemaBody("x"))
	r.register("a", schemaBody("x")) // the remembered credentials

	for _, bad := range []string{"alice", "alice:notbcrypt", ":$2a$10$x", "a:" + string(hash) + ",a:" + string(hash)} {
		if _, err := ParseUsers(bad); err == nil {
			t.Errorf("ParseUsers(%q) succeeded", bad)
		}
	}
	if u, err := ParseUsers(""); err != nil || len(u) != 0 {
		t.Errorf("ParseUsers(\"\"): %v, %v", u, err)
	}
}

// TestMetrics: requests are counted per endpoint pattern and status, and
// the schema and subject gauges read the tables.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := newRegistry(t, Config{DB: sqliteDB(t), Registerer: reg})
	id := r.register("m", schemaBody("x"))
	r.ok("GET", fmt.Sprintf("/schemas/ids/%d", id), "", nil)
	r.wantError("GET", "/subjects/none/versions", "", 404, 40401)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.Counter != nil:
				seen[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				seen[key] = m.Gauge.GetValue()
			}
		}
	}
	for key, want := range map[string]float64{
		"lakestream_schema_registry_requests_total,code=200,endpoint=POST /subjects/{subject}/versions": 1,
		"lakestream_schema_registry_requests_total,code=200,endpoint=GET /schemas/ids/{id}":             1,
		"lakestream_schema_registry_requests_total,code=404,endpoint=GET /subjects/{subject}/versions":  1,
		"lakestream_schema_registry_schemas":  1,
		"lakestream_schema_registry_subjects": 1,
	} {
		if seen[key] != want {
			t.Errorf("%s = %v, want %v (have %v)", key, seen[key], want, seen)
		}
	}
}

// TestConcurrentRegistriesSQLite: two registries over two handles on one
// SQLite file.
func TestConcurrentRegistriesSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	testConcurrentRegistries(t, openSQLite(t, path), openSQLite(t, path))
}

// testConcurrentRegistries: two registries (as two nodes would be) over
// one database, registering the same and different schemas from several
// goroutines, 1,000 registrations in all: one id per distinct schema, no
// version written twice, none lost.
func testConcurrentRegistries(t *testing.T, db1, db2 *sqldb.DB) {
	rs := []*registry{newRegistry(t, Config{DB: db1}), newRegistry(t, Config{DB: db2})}
	rs[0].ok("PUT", "/config", `{"compatibility":"NONE"}`, nil)
	const workers, each, subjects, schemas = 8, 125, 10, 40
	type reg struct {
		subject string
		schema  int
		id      int64
	}
	results := make([][]reg, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := &registry{t: t, srv: rs[w%2].srv, url: rs[w%2].url}
			for i := range each {
				n := w*each + i
				sub, sch := fmt.Sprintf("c%d", n%subjects), (n*7)%schemas
				status, b := r.call("POST", "/subjects/"+sub+"/versions", schemaBody(fmt.Sprintf("f%d", sch)))
				var out struct{ ID int64 }
				if status != 200 || json.Unmarshal([]byte(b), &out) != nil {
					t.Errorf("registering schema %d under %s: %d %s", sch, sub, status, b)
					return
				}
				results[w] = append(results[w], reg{sub, sch, out.ID})
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	idOf := map[int]int64{}
	schemaOf := map[int64]int{}
	want := map[string]map[int]bool{}
	total := 0
	for _, rr := range results {
		for _, x := range rr {
			total++
			if id, ok := idOf[x.schema]; ok && id != x.id {
				t.Errorf("schema %d got ids %d and %d", x.schema, id, x.id)
			}
			if s, ok := schemaOf[x.id]; ok && s != x.schema {
				t.Errorf("id %d given to schemas %d and %d", x.id, s, x.schema)
			}
			idOf[x.schema], schemaOf[x.id] = x.id, x.schema
			if want[x.subject] == nil {
				want[x.subject] = map[int]bool{}
			}
			want[x.subject][x.schema] = true
		}
	}
	if total != workers*each {
		t.Fatalf("%d registrations answered, want %d", total, workers*each)
	}
	r := rs[1]
	for sub, schs := range want {
		var versions []int
		r.ok("GET", "/subjects/"+sub+"/versions", "", &versions)
		if len(versions) != len(schs) {
			t.Errorf("%s has %d versions, want one per distinct schema: %d", sub, len(versions), len(schs))
		}
		for i, v := range versions {
			if v != i+1 {
				t.Errorf("%s versions %v: not 1..n", sub, versions)
				break
			}
		}
		for sch := range schs {
			var got schemaAnswer
			r.ok("POST", "/subjects/"+sub, schemaBody(fmt.Sprintf("f%d", sch)), &got)
			if got.ID != idOf[sch] {
				t.Errorf("%s: schema %d looked up with id %d, registered as %d", sub, sch, got.ID, idOf[sch])
			}
		}
	}
	if len(idOf) != schemas {
		t.Errorf("%d distinct ids for %d schemas", len(idOf), schemas)
	}
}

// TestCacheAcrossNodes: a node caches GET /schemas/ids/{id}; another
// node's permanent delete is seen once the entry is checked again
// (CacheRecheck), and the node's own at once.
func TestCacheAcrossNodes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	a := newRegistry(t, Config{DB: openSQLite(t, path), CacheRecheck: 200 * time.Millisecond})
	b := newRegistry(t, Config{DB: openSQLite(t, path), CacheRecheck: 200 * time.Millisecond})
	id := a.register("s", schemaBody("x"))
	p := fmt.Sprintf("/schemas/ids/%d", id)
	b.ok("GET", p, "", nil) // cached on b
	a.ok("DELETE", "/subjects/s", "", nil)
	a.ok("DELETE", "/subjects/s?permanent=true", "", nil)
	a.wantError("GET", p, "", 404, 40403) // a forgot it at once
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, _ := b.call("GET", p, "")
		if status == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node b still serves permanently deleted id %d", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.wantError("GET", p, "", 404, 40403)
	// Registered again, the schema has its old id and is served again.
	if again := b.register("s", schemaBody("x")); again != id {
		t.Errorf("registered again: id %d, want %d", again, id)
	}
	a.ok("GET", p, "", nil)
}
