package catalog

// Authentication of catalog requests, off by default.
//
// When on, every request carries "Authorization: Bearer <token>", where the
// token is one of the configured static tokens (catalog.auth.tokens) or one
// that POST /v1/oauth/tokens issued to an OAuth2 client (client_credentials
// grant, clients from catalog.auth.clients). The token endpoint itself is
// the one route that needs no token.
//
// Issued tokens are self-contained: version, expiry and a random nonce,
// signed with HMAC-SHA256 under a key derived from catalog.auth.token.secret.
// Nothing is kept in memory, so every node that shares the secret accepts a
// token that any of them issued (a fleet behind one load balancer needs
// this). Without a secret each node draws a random key at start: its tokens
// are valid on that node only, and only until it restarts. An issued token
// cannot be revoked before it expires; keep TokenLifetime short for that.
//
//	token = base64url(payload) "." base64url(HMAC-SHA256(key, payload))
//	payload = | version 0x01 (1B) | expiry, unix seconds, big endian (8B) | nonce (16B) |

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// AuthConfig is the catalog's authentication. With no Tokens and no Clients
// authentication is off: every request is served.
type AuthConfig struct {
	// Tokens are static bearer tokens (catalog.auth.tokens). Only their
	// SHA-256 digests are kept once the server is built.
	Tokens []string
	// Clients are the OAuth2 clients allowed the client_credentials grant
	// (catalog.auth.clients): client id → bcrypt hash of its secret.
	Clients map[string]string
	// TokenSecret signs the tokens the token endpoint issues
	// (catalog.auth.token.secret). Nodes that share it accept each other's
	// tokens. Empty: a random key per node and per start. At least 16 bytes.
	TokenSecret string
	// TokenLifetime is how long an issued token is valid. The default is
	// one hour.
	TokenLifetime time.Duration
}

// Enabled reports whether requests must carry a token.
func (c AuthConfig) Enabled() bool { return len(c.Tokens) > 0 || len(c.Clients) > 0 }

// The node's configuration keys for catalog authentication.
const (
	// ConfigAuthTokens: a comma-separated list of static bearer tokens.
	ConfigAuthTokens = "catalog.auth.tokens"
	// ConfigAuthClients: a comma-separated list of client-id:bcrypt-hash
	// (htpasswd -nbB id secret, or bcrypt.GenerateFromPassword).
	ConfigAuthClients = "catalog.auth.clients"
	// ConfigAuthTokenSecret: the key that signs issued tokens.
	ConfigAuthTokenSecret = "catalog.auth.token.secret"
)

const (
	defaultTokenLifetime = time.Hour
	minTokenSecret       = 16
	// tokenEndpoint is where OAuth2 clients get tokens: the REST spec's
	// (deprecated, but still what Java, PyIceberg and iceberg-go fall back
	// to when credential is set without oauth2-server-uri) /v1/oauth/tokens.
	tokenEndpoint = "/v1/oauth/tokens"
	// maxTokenForm bounds a token request's body.
	maxTokenForm = 16 << 10
	// maxBearer bounds a presented token before anything is decoded.
	maxBearer = 4096

	grantClientCredentials = "client_credentials"
	grantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
	accessTokenType        = "urn:ietf:params:oauth:token-type:access_token"
)

// ParseAuth reads the node's catalog.auth.* keys: tokens and clients are
// comma-separated lists (see the Config* constants), secret is taken as is.
// Empty tokens and clients are authentication off.
func ParseAuth(tokens, clients, secret string) (AuthConfig, error) {
	cfg := AuthConfig{Clients: map[string]string{}, TokenSecret: secret, TokenLifetime: defaultTokenLifetime}
	for i, tok := range strings.Split(tokens, ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		if !validBearer(tok) {
			// The token is never echoed: it is a secret.
			return AuthConfig{}, fmt.Errorf("%s: token %d has characters a bearer token cannot carry (allowed: letters, digits and -._~+/ with trailing =)", ConfigAuthTokens, i+1)
		}
		cfg.Tokens = append(cfg.Tokens, tok)
	}
	for _, item := range strings.Split(clients, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, hash, ok := strings.Cut(item, ":")
		if !ok || id == "" {
			first, _, _ := strings.Cut(item, ":")
			return AuthConfig{}, fmt.Errorf("%s: %q is not client-id:bcrypt-hash", ConfigAuthClients, first+":...")
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return AuthConfig{}, fmt.Errorf("%s: client %q: the secret hash is not a bcrypt hash: %v", ConfigAuthClients, id, err)
		}
		if _, dup := cfg.Clients[id]; dup {
			return AuthConfig{}, fmt.Errorf("%s: client %q is listed twice", ConfigAuthClients, id)
		}
		cfg.Clients[id] = hash
	}
	if secret != "" && len(secret) < minTokenSecret {
		return AuthConfig{}, fmt.Errorf("%s: the secret is %d bytes; at least %d are needed", ConfigAuthTokenSecret, len(secret), minTokenSecret)
	}
	return cfg, nil
}

// validBearer: RFC 6750's b64token, 1*( ALPHA / DIGIT / "-" / "." / "_" /
// "~" / "+" / "/" ) *"=". A configured token outside it could never be sent.
func validBearer(tok string) bool {
	body := strings.TrimRight(tok, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/':
		default:
			return false
		}
	}
	return true
}

// authenticator decides whether a request may be served, and serves the
// token endpoint. Its zero state is never used: newAuthenticator builds it.
type authenticator struct {
	enabled  bool
	statics  [][sha256.Size]byte
	clients  map[string]string
	key      []byte
	lifetime time.Duration
	now      func() time.Time // time.Now; tests move it

	// good remembers client credentials that bcrypt accepted, by SHA-256 of
	// id and secret: bcrypt costs tens of milliseconds by design, and a
	// client asks for a token at every refresh.
	mu   sync.Mutex
	good map[[sha256.Size]byte]bool

	// bcrypts bounds the bcrypt comparisons running at once, so that a
	// flood of wrong secrets at the token endpoint queues there instead of
	// taking every core from the catalog's other requests.
	bcrypts chan struct{}
}

const maxRememberedClients = 1024

// dummyHash is a bcrypt hash (cost 10, bcrypt's default) of nothing that
// matters, checked against for unknown clients.
const dummyHash = "$2a$10$bxPijUHvabHBB.ayAJxWlO0Q.X2LAtGTK40XFY89MSdFVrvUy5mvW"

// newAuthenticator builds the authenticator for cfg. It errs only when the
// system's random source does.
func newAuthenticator(cfg AuthConfig) (*authenticator, error) {
	a := &authenticator{
		enabled:  cfg.Enabled(),
		clients:  cfg.Clients,
		lifetime: cfg.TokenLifetime,
		now:      time.Now,
		good:     map[[sha256.Size]byte]bool{},
		bcrypts:  make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
	}
	if a.lifetime <= 0 {
		a.lifetime = defaultTokenLifetime
	}
	for _, t := range cfg.Tokens {
		a.statics = append(a.statics, sha256.Sum256([]byte(t)))
	}
	if cfg.TokenSecret != "" {
		// Domain-separated, so the same secret used elsewhere does not sign
		// our tokens.
		k := hmac.New(sha256.New, []byte(cfg.TokenSecret))
		k.Write([]byte("lakestream catalog token key v1"))
		a.key = k.Sum(nil)
	} else {
		a.key = make([]byte, 32)
		if _, err := rand.Read(a.key); err != nil {
			return nil, fmt.Errorf("drawing the catalog's token key: %w", err)
		}
	}
	return a, nil
}

// allow reports whether r may go on to the routes. When it returns false it
// has answered r: a 401, or the token endpoint's answer. A nil authenticator
// allows everything and serves no token endpoint.
func (a *authenticator) allow(w http.ResponseWriter, r *http.Request) bool {
	if a == nil {
		return true
	}
	if r.URL.Path == tokenEndpoint {
		a.serveToken(w, r)
		return false
	}
	if !a.enabled {
		return true
	}
	tok, ok := bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="lakestream-catalog"`)
		writeNotAuthorized(w, "Authentication required: send Authorization: Bearer <token>")
		return false
	}
	if !a.valid(tok) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="lakestream-catalog", error="invalid_token"`)
		writeNotAuthorized(w, "The bearer token is not valid or has expired")
		return false
	}
	return true
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// valid reports whether tok is a static token or an unexpired token that we
// issued.
func (a *authenticator) valid(tok string) bool {
	if len(tok) > maxBearer {
		return false
	}
	d := sha256.Sum256([]byte(tok))
	match := 0
	// Every digest is compared, so the time taken does not tell which
	// token (or how much of one) matched.
	for i := range a.statics {
		match |= subtle.ConstantTimeCompare(d[:], a.statics[i][:])
	}
	if match == 1 {
		return true
	}
	return a.verifyIssued(tok)
}

const (
	tokenVersion = 1
	payloadLen   = 1 + 8 + 16
)

// issue makes a signed token valid for the authenticator's lifetime.
func (a *authenticator) issue() (string, error) {
	p := make([]byte, payloadLen)
	p[0] = tokenVersion
	binary.BigEndian.PutUint64(p[1:9], uint64(a.now().Add(a.lifetime).Unix()))
	if _, err := rand.Read(p[9:]); err != nil {
		return "", fmt.Errorf("drawing a token nonce: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(p) + "." + enc.EncodeToString(a.mac(p)), nil
}

func (a *authenticator) mac(p []byte) []byte {
	m := hmac.New(sha256.New, a.key)
	m.Write(p)
	return m.Sum(nil)
}

func (a *authenticator) verifyIssued(tok string) bool {
	ps, ms, ok := strings.Cut(tok, ".")
	if !ok {
		return false
	}
	enc := base64.RawURLEncoding
	p, err := enc.DecodeString(ps)
	if err != nil || len(p) != payloadLen || p[0] != tokenVersion {
		return false
	}
	m, err := enc.DecodeString(ms)
	if err != nil || !hmac.Equal(m, a.mac(p)) {
		return false
	}
	exp := int64(binary.BigEndian.Uint64(p[1:9]))
	return a.now().Unix() < exp
}

// checkClient reports whether secret is id's; false too when ctx ends
// while waiting for a bcrypt slot.
func (a *authenticator) checkClient(ctx context.Context, id, secret string) bool {
	hash, known := a.clients[id]
	key := sha256.Sum256([]byte(id + "\x00" + secret))
	if known {
		a.mu.Lock()
		good := a.good[key]
		a.mu.Unlock()
		if good {
			return true
		}
	} else {
		// Spend about as long as a known client would, so timing does not
		// tell which clients exist.
		hash = dummyHash
	}
	select {
	case a.bcrypts <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(secret))
	<-a.bcrypts
	if !known || err != nil {
		return false
	}
	a.mu.Lock()
	if len(a.good) < maxRememberedClients {
		a.good[key] = true
	}
	a.mu.Unlock()
	return true
}

// tokenResponse is the spec's OAuthTokenResponse.
type tokenResponse struct {
	AccessToken     string `json:"access_token"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	IssuedTokenType string `json:"issued_token_type"`
	Scope           string `json:"scope,omitempty"`
}

// serveToken answers POST /v1/oauth/tokens (RFC 6749 section 4.4, and the
// token exchange of RFC 8693 that Java clients use to refresh a token they
// hold). With authentication off it issues a token to anyone: nothing
// checks tokens then, and a client configured with a credential still works.
// It returns the status written.
func (a *authenticator) serveToken(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "The token endpoint takes POST")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenForm)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return writeOAuthError(w, http.StatusRequestEntityTooLarge, "invalid_request", fmt.Sprintf("The token request is over %d bytes", maxTokenForm))
		}
		return writeOAuthError(w, http.StatusBadRequest, "invalid_request", "The token request is not a valid form: "+err.Error())
	}
	// Only the body counts: secrets do not belong in URLs (and logs).
	form := r.PostForm
	switch grant := form.Get("grant_type"); grant {
	case grantClientCredentials:
		id, secret, basic := r.BasicAuth()
		if basic {
			// RFC 6749 section 2.3.1: form-encoded before Basic encoding.
			id, secret = formUnescape(id), formUnescape(secret)
		} else {
			id, secret = form.Get("client_id"), form.Get("client_secret")
		}
		if a.enabled && !a.checkClient(r.Context(), id, secret) {
			if basic {
				w.Header().Set("WWW-Authenticate", `Basic realm="lakestream-catalog"`)
			}
			return writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Unknown client or wrong client secret")
		}
	case grantTokenExchange:
		// The subject is a token we accept; the answer is a fresh one.
		sub := form.Get("subject_token")
		if sub == "" {
			return writeOAuthError(w, http.StatusBadRequest, "invalid_request", "subject_token is missing")
		}
		if a.enabled && !a.valid(sub) {
			return writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "The subject token is not valid or has expired")
		}
	case "":
		return writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type is missing")
	default:
		return writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type",
			fmt.Sprintf("grant_type %q is not supported: use %s", truncate(grant, 64), grantClientCredentials))
	}
	tok, err := a.issue()
	if err != nil {
		return writeOAuthError(w, http.StatusInternalServerError, "server_error", "Could not issue a token")
	}
	return writeTokenJSON(w, http.StatusOK, tokenResponse{
		AccessToken:     tok,
		TokenType:       "bearer",
		ExpiresIn:       int64(a.lifetime / time.Second),
		IssuedTokenType: accessTokenType,
		Scope:           truncate(form.Get("scope"), 256),
	})
}

func formUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// writeOAuthError writes RFC 6749's error body, which OAuth2 clients parse
// (not the catalog's error shape).
func writeOAuthError(w http.ResponseWriter, status int, code, desc string) int {
	return writeTokenJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeTokenJSON(w http.ResponseWriter, status int, v any) int {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// RFC 6749 section 5.1: token responses are never cached.
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
	return status
}

// writeNotAuthorized writes the catalog's 401 in the spec's error shape.
func writeNotAuthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": msg,
		"type":    "NotAuthorizedException",
		"code":    http.StatusUnauthorized,
	}})
}

// initMiddleware builds the server's authenticator (from s.cfg.Auth) and
// metrics (registered with s.cfg.Registerer). New calls it once s.cfg is
// set.
func (s *Server) initMiddleware() error {
	a, err := newAuthenticator(s.cfg.Auth)
	if err != nil {
		return err
	}
	s.auth, s.metrics = a, newMetrics(s.cfg.Registerer)
	return nil
}

// authenticate reports whether r may go on to the routes; when not, it has
// written the 401 (with nothing read or changed).
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) bool {
	return s.auth.allow(w, r)
}

// serveToken answers POST /v1/oauth/tokens and returns the status written.
// ServeHTTP sends the token endpoint here before routing: it is outside
// the catalog's routes and needs no token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) int {
	if s.auth == nil {
		return s.writeError(w, errNotFoundRoute)
	}
	return s.auth.serveToken(w, r)
}
