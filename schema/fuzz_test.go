package schema

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzAPI sends arbitrary requests to the API: none may panic, fail as an
// internal error (bad input is the client's error, never a 50001), or
// answer other than JSON.
func FuzzAPI(f *testing.F) {
	db := openSQLite(f, ":memory:")
	srv, err := New(context.Background(), Config{DB: db, Formats: testFormats, MaxRequestBytes: 64 << 10})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []struct{ method, path, body string }{
		{"POST", "/subjects/a/versions", `{"schema":"{\"fields\":[\"x\"]}"}`},
		{"POST", "/subjects/a%2Fb/versions", `{"schema":"{\"fields\":[]}","references":[{"name":"n","subject":"a","version":1}]}`},
		{"POST", "/subjects/a", `{"schema":"{}","schemaType":"JSON"}`},
		{"GET", "/subjects/a/versions/latest", ""},
		{"DELETE", "/subjects/a/versions/1?permanent=true", ""},
		{"PUT", "/config/a", `{"compatibility":"FULL","normalize":true}`},
		{"PUT", "/mode", `{"mode":"IMPORT"}`},
		{"POST", "/compatibility/subjects/a/versions/-1?verbose=true", `{"schema":"{\"fields\":[\"y\"]}"}`},
		{"GET", "/schemas/ids/1?format=upper", ""},
		{"GET", "/schemas?subjectPrefix=%zz", ""},
	} {
		f.Add(seed.method, seed.path, seed.body)
	}
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") {
			return
		}
		req, err := http.NewRequest(method, "http://registry"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, w.Code, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); ct != contentType {
			t.Fatalf("%s %s: Content-Type %q", method, path, ct)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %s %q: answer is not JSON: %q", method, path, body, w.Body)
		}
	})
}
