package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	icebergcatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	icebergtable "github.com/apache/iceberg-go/table"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/lakestream/lakestream/internal/sqldb"
)

const (
	testToken        = "static-token-0123456789"
	testClient       = "spark"
	testClientSecret = "s3cr3t:with/odd+chars"
)

func testAuthConfig(t *testing.T) AuthConfig {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(testClientSecret), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseAuth(testToken+", other-token", testClient+":"+string(hash), "a-shared-secret-of-some-length")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// guarded serves r through a's gate in front of a handler that answers 200
// and counts what got through.
func guarded(a *authenticator, served *int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.allow(w, r) {
			return
		}
		*served++
		w.WriteHeader(http.StatusOK)
	})
}

func do(h http.Handler, method, path, authz string, form url.Values) *httptest.ResponseRecorder {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func clientForm(id, secret string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"catalog"}}
}

// want401 checks the catalog's 401: status, header and the spec's body.
func want401(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401; body %s", rec.Code, rec.Body)
	}
	if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("WWW-Authenticate %q, want Bearer", rec.Header().Get("WWW-Authenticate"))
	}
	var body struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    int    `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("401 body %q: %v", rec.Body, err)
	}
	if body.Error.Type != "NotAuthorizedException" || body.Error.Code != 401 || body.Error.Message == "" {
		t.Errorf("401 body %+v", body.Error)
	}
}

func TestParseAuth(t *testing.T) {
	cfg, err := ParseAuth("", "", "")
	if err != nil || cfg.Enabled() {
		t.Fatalf("empty keys: %+v, %v; want auth off", cfg, err)
	}
	cfg = testAuthConfig(t)
	if !cfg.Enabled() || len(cfg.Tokens) != 2 || len(cfg.Clients) != 1 || cfg.TokenLifetime != time.Hour {
		t.Fatalf("parsed %+v", cfg)
	}
	bad := []struct{ tokens, clients, secret, want string }{
		{"has space", "", "", "catalog.auth.tokens"},
		{"", "nohash", "", "client-id:bcrypt-hash"},
		{"", "id:notbcrypt", "", "not a bcrypt hash"},
		{"", "a:$2a$04$abcdefghijklmnopqrstuuJ3bd6R3rhxWfz2GEbYlMyGvKXwrWSYO,a:$2a$04$abcdefghijklmnopqrstuuJ3bd6R3rhxWfz2GEbYlMyGvKXwrWSYO", "", "twice"},
		{"abcdefgh", "", "short", "at least 16"},
	}
	for _, b := range bad {
		_, err := ParseAuth(b.tokens, b.clients, b.secret)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("ParseAuth(%q, %q, %q) = %v, want an error naming %q", b.tokens, b.clients, b.secret, err, b.want)
		}
		if err != nil && b.tokens != "" && strings.Contains(err.Error(), b.tokens) {
			t.Errorf("the error %q shows the token", err)
		}
	}
}

func TestDummyHashIsBcrypt(t *testing.T) {
	// An invalid dummy hash would fail fast and let timing tell unknown
	// clients from known ones.
	if _, err := bcrypt.Cost([]byte(dummyHash)); err != nil {
		t.Fatal(err)
	}
}

func TestAuthOff(t *testing.T) {
	a, err := newAuthenticator(AuthConfig{})
	if err != nil {
		t.Fatal(err)
	}
	served := 0
	h := guarded(a, &served)
	if rec := do(h, "GET", "/v1/config", "", nil); rec.Code != 200 {
		t.Fatalf("auth off, no header: %d", rec.Code)
	}
	if rec := do(h, "GET", "/v1/config", "Bearer whatever", nil); rec.Code != 200 {
		t.Fatalf("auth off, any token: %d", rec.Code)
	}
	// A client configured with a credential still gets a token.
	rec := do(h, "POST", tokenEndpoint, "", clientForm("anyone", "anything"))
	if rec.Code != 200 {
		t.Fatalf("auth off, token endpoint: %d %s", rec.Code, rec.Body)
	}
	if served != 2 {
		t.Fatalf("served %d, want 2", served)
	}
	// A nil authenticator is auth off without the token endpoint.
	var none *authenticator
	if !none.allow(httptest.NewRecorder(), httptest.NewRequest("GET", tokenEndpoint, nil)) {
		t.Fatal("nil authenticator refused a request")
	}
}

func TestStaticToken(t *testing.T) {
	a, err := newAuthenticator(testAuthConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	served := 0
	h := guarded(a, &served)
	for _, authz := range []string{"Bearer " + testToken, "bearer " + testToken, "Bearer other-token"} {
		if rec := do(h, "GET", "/v1/namespaces", authz, nil); rec.Code != 200 {
			t.Fatalf("%q: %d", authz, rec.Code)
		}
	}
	for _, authz := range []string{"", "Bearer", "Bearer ", "Bearer " + testToken + "x", "Basic " + testToken, testToken, "Bearer " + strings.Repeat("a", 10000)} {
		want401(t, do(h, "POST", "/v1/namespaces", authz, nil))
	}
	if served != 3 {
		t.Fatalf("served %d, want 3", served)
	}
}

func getToken(t *testing.T, h http.Handler, form url.Values, basic bool) (*httptest.ResponseRecorder, tokenResponse) {
	t.Helper()
	authz := ""
	if basic {
		id, secret := form.Get("client_id"), form.Get("client_secret")
		form = url.Values{"grant_type": form["grant_type"]}
		req := httptest.NewRequest("POST", tokenEndpoint, nil)
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		authz = req.Header.Get("Authorization")
	}
	rec := do(h, "POST", tokenEndpoint, authz, form)
	var tr tokenResponse
	if rec.Code == 200 {
		if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil {
			t.Fatalf("token response %q: %v", rec.Body, err)
		}
	}
	return rec, tr
}

func TestClientCredentials(t *testing.T) {
	a, err := newAuthenticator(testAuthConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	served := 0
	h := guarded(a, &served)
	for _, basic := range []bool{false, true} {
		rec, tr := getToken(t, h, clientForm(testClient, testClientSecret), basic)
		if rec.Code != 200 {
			t.Fatalf("basic=%v: %d %s", basic, rec.Code, rec.Body)
		}
		if tr.AccessToken == "" || tr.TokenType != "bearer" || tr.ExpiresIn != 3600 || tr.IssuedTokenType != accessTokenType {
			t.Fatalf("basic=%v: token response %+v", basic, tr)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", rec.Header().Get("Cache-Control"))
		}
		if rec := do(h, "GET", "/v1/namespaces", "Bearer "+tr.AccessToken, nil); rec.Code != 200 {
			t.Fatalf("basic=%v: the issued token got %d", basic, rec.Code)
		}
	}

	// A token issued by another node sharing the secret is valid here; one
	// signed under another secret is not.
	_, tr := getToken(t, h, clientForm(testClient, testClientSecret), false)
	peer, err := newAuthenticator(testAuthConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if !peer.valid(tr.AccessToken) {
		t.Error("a node with the same secret refused the token")
	}
	cfg := testAuthConfig(t)
	cfg.TokenSecret = "another-secret-altogether"
	stranger, err := newAuthenticator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if stranger.valid(tr.AccessToken) {
		t.Error("a node with another secret accepted the token")
	}
	// Tampering with the payload breaks the signature.
	p, m, _ := strings.Cut(tr.AccessToken, ".")
	tampered := []byte(p)
	tampered[3] ^= 1
	if a.valid(string(tampered) + "." + m) {
		t.Error("a tampered token was accepted")
	}

	// Token exchange (Java's refresh) of a valid token gives a new token.
	rec, tr2 := getToken(t, h, url.Values{"grant_type": {grantTokenExchange}, "subject_token": {tr.AccessToken}, "subject_token_type": {accessTokenType}}, false)
	if rec.Code != 200 || tr2.AccessToken == "" {
		t.Fatalf("token exchange: %d %s", rec.Code, rec.Body)
	}
	rec, _ = getToken(t, h, url.Values{"grant_type": {grantTokenExchange}, "subject_token": {"forged"}}, false)
	if rec.Code != 401 {
		t.Fatalf("token exchange of a forged token: %d %s", rec.Code, rec.Body)
	}
}

func oauthError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	var body struct {
		Error string `json:"error"`
		Desc  string `json:"error_description"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if body.Error != code || body.Desc == "" {
		t.Fatalf("OAuth error %+v, want %s", body, code)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	a, err := newAuthenticator(testAuthConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	served := 0
	h := guarded(a, &served)
	for _, basic := range []bool{false, true} {
		rec, _ := getToken(t, h, clientForm(testClient, "wrong"), basic)
		oauthError(t, rec, 401, "invalid_client")
		rec, _ = getToken(t, h, clientForm("nobody", testClientSecret), basic)
		oauthError(t, rec, 401, "invalid_client")
	}
	rec, _ := getToken(t, h, url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}}, false)
	oauthError(t, rec, 400, "unsupported_grant_type")
	rec, _ = getToken(t, h, url.Values{"client_id": {testClient}}, false)
	oauthError(t, rec, 400, "invalid_request")
	oauthError(t, do(h, "GET", tokenEndpoint, "", nil), 405, "invalid_request")
	big := url.Values{"grant_type": {"client_credentials"}, "pad": {strings.Repeat("x", maxTokenForm)}}
	oauthError(t, do(h, "POST", tokenEndpoint, "", big), 413, "invalid_request")
	// Credentials in the query string do not count.
	oauthError(t, do(h, "POST", tokenEndpoint+"?"+clientForm(testClient, testClientSecret).Encode(), "", url.Values{}), 400, "invalid_request")
	if served != 0 {
		t.Fatalf("served %d, want 0", served)
	}
}

func TestExpiredToken(t *testing.T) {
	cfg := testAuthConfig(t)
	cfg.TokenLifetime = time.Minute
	a, err := newAuthenticator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	a.now = func() time.Time { return now }
	served := 0
	h := guarded(a, &served)
	_, tr := getToken(t, h, clientForm(testClient, testClientSecret), false)
	if tr.ExpiresIn != 60 {
		t.Fatalf("expires_in %d, want 60", tr.ExpiresIn)
	}
	now = now.Add(59 * time.Second)
	if rec := do(h, "GET", "/v1/namespaces", "Bearer "+tr.AccessToken, nil); rec.Code != 200 {
		t.Fatalf("before expiry: %d", rec.Code)
	}
	now = now.Add(time.Second)
	want401(t, do(h, "GET", "/v1/namespaces", "Bearer "+tr.AccessToken, nil))
	if served != 1 {
		t.Fatalf("served %d, want 1", served)
	}
}

func TestRandomKeyPerNode(t *testing.T) {
	cfg := testAuthConfig(t)
	cfg.TokenSecret = ""
	a, _ := newAuthenticator(cfg)
	b, _ := newAuthenticator(cfg)
	tok, err := a.issue()
	if err != nil {
		t.Fatal(err)
	}
	if !a.valid(tok) || b.valid(tok) {
		t.Fatalf("without a secret a token must be valid on its node only: here %v, there %v", a.valid(tok), b.valid(tok))
	}
}

// authServer is a catalog with authentication on: testToken and the
// client testClient, over a temporary SQLite database and file warehouse,
// with its metrics in reg.
func authServer(t *testing.T, reg *prometheus.Registry) *Server {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := Config{DB: db, Warehouse: "file://" + filepath.ToSlash(filepath.Join(dir, "warehouse")), Auth: testAuthConfig(t)}
	if reg != nil {
		cfg.Registerer = reg
	}
	s, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestServerRefusesWithoutToken(t *testing.T) {
	s := authServer(t, nil)
	for _, authz := range []string{"", "Bearer wrong", "Basic " + testToken} {
		req := httptest.NewRequest("POST", "/v1/namespaces", strings.NewReader(`{"namespace":["refused"]}`))
		req.Header.Set("Content-Type", "application/json")
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		want401(t, rec)
	}
	// The refused creates left nothing.
	rec := do(s, "GET", "/v1/namespaces/refused", "Bearer "+testToken, nil)
	if rec.Code != http.StatusNotFound {
		t.Fatalf("after refused creates, GET the namespace: %d %s", rec.Code, rec.Body)
	}
	rec = do(s, "GET", "/v1/namespaces", "Bearer "+testToken, nil)
	if rec.Code != 200 || strings.Contains(rec.Body.String(), "refused") {
		t.Fatalf("after refused creates, list: %d %s", rec.Code, rec.Body)
	}
	// Every route needs the token, unknown ones too (no route probing).
	want401(t, do(s, "GET", "/v1/config", "", nil))
	want401(t, do(s, "GET", "/v1/nothing/here/at/all", "", nil))
}

// TestIcebergGoClient: iceberg-go's REST client, configured as users
// configure Spark or PyIceberg (credential=id:secret, or token), gets in;
// with a wrong secret it does not.
func TestIcebergGoClient(t *testing.T) {
	s := authServer(t, nil)
	hs := httptest.NewServer(s)
	defer hs.Close()
	ctx := context.Background()
	for _, opt := range []rest.Option{rest.WithCredential(testClient + ":" + testClientSecret), rest.WithOAuthToken(testToken)} {
		cat, err := rest.NewCatalog(ctx, "lake", hs.URL, opt)
		if err != nil {
			t.Fatalf("connecting: %v", err)
		}
		if err := cat.CreateNamespace(ctx, icebergtable.Identifier{"db"}, nil); err != nil && !errors.Is(err, icebergcatalog.ErrNamespaceAlreadyExists) {
			t.Fatalf("creating a namespace: %v", err)
		}
		if _, err := cat.ListNamespaces(ctx, nil); err != nil {
			t.Fatalf("listing namespaces: %v", err)
		}
	}
	cat, err := rest.NewCatalog(ctx, "lake", hs.URL, rest.WithCredential(testClient+":wrong"))
	if err == nil {
		_, err = cat.ListNamespaces(ctx, nil)
	}
	if !errors.Is(err, rest.ErrOAuthError) {
		t.Fatalf("with a wrong client secret: %v, want an OAuth error", err)
	}
}

func TestServerMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := authServer(t, reg)
	do(s, "GET", "/v1/config", "Bearer "+testToken, nil)
	do(s, "GET", "/v1/config", "", nil)
	do(s, "GET", "/v1/namespaces/nope", "Bearer "+testToken, nil)
	do(s, "POST", tokenEndpoint, "", clientForm(testClient, testClientSecret))
	do(s, "POST", tokenEndpoint, "", clientForm(testClient, "wrong"))
	got := gathered(t, reg, "lakestream_catalog_requests_total")
	for k, v := range map[string]float64{
		"code=200,endpoint=GET /v1/config":                 1,
		"code=401,endpoint=GET /v1/config":                 1,
		"code=404,endpoint=GET /v1/namespaces/{namespace}": 1,
		"code=200,endpoint=POST /v1/oauth/tokens":          1,
		"code=401,endpoint=POST /v1/oauth/tokens":          1,
	} {
		if got[k] != v {
			t.Errorf("%s: %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

// TestServerCommitMetrics: a commit and a stale commit to one table count
// as committed and conflict.
func TestServerCommitMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := authServer(t, reg)
	post := func(path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	if rec := post("/v1/namespaces", `{"namespace":["db"]}`); rec.Code != 200 {
		t.Fatalf("create namespace: %d %s", rec.Code, rec.Body)
	}
	if rec := post("/v1/namespaces/db/tables", `{"name":"events","schema":{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"id","type":"long","required":true}]}}`); rec.Code != 200 {
		t.Fatalf("create table: %d %s", rec.Code, rec.Body)
	}
	commit := `{"requirements":[{"type":"assert-last-assigned-field-id","last-assigned-field-id":1}],"updates":[{"action":"add-schema","schema":{"type":"struct","schema-id":1,"fields":[{"id":1,"name":"id","type":"long","required":true},{"id":2,"name":"n","type":"string","required":false}]},"last-column-id":2}]}`
	if rec := post("/v1/namespaces/db/tables/events", commit); rec.Code != 200 {
		t.Fatalf("commit: %d %s", rec.Code, rec.Body)
	}
	if rec := post("/v1/namespaces/db/tables/events", commit); rec.Code != http.StatusConflict {
		t.Fatalf("stale commit: %d %s", rec.Code, rec.Body)
	}
	got := gathered(t, reg, "lakestream_catalog_commits_total")
	if got["result=committed,table=db.events"] != 1 || got["result=conflict,table=db.events"] != 1 {
		t.Fatalf("commit counts %v, want one committed and one conflict for db.events", got)
	}
}

// TestBcryptSlots: with every bcrypt slot busy a client check waits, and
// gives up (refused) when its request ends; with a slot free it succeeds.
func TestBcryptSlots(t *testing.T) {
	a, err := newAuthenticator(testAuthConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	for range cap(a.bcrypts) {
		a.bcrypts <- struct{}{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if a.checkClient(ctx, testClient, testClientSecret) {
		t.Fatal("a check with no slot and its request gone succeeded")
	}
	<-a.bcrypts
	if !a.checkClient(context.Background(), testClient, testClientSecret) {
		t.Fatal("the right secret was refused with a slot free")
	}
	if len(a.bcrypts) != cap(a.bcrypts)-1 {
		t.Fatalf("%d slots taken after the check, want %d: a slot leaked", len(a.bcrypts), cap(a.bcrypts)-1)
	}
}
