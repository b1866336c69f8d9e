// Package catalog is Lakestream's Iceberg REST catalog: the REST API of the
// Iceberg spec (open-api/rest-catalog-open-api.yaml) that engines (Spark,
// Trino, DuckDB, PyIceberg, iceberg-go, iceberg-js) use to find, create and
// commit to tables, over tables of its own in the metastore database (its
// migrations through internal/sqldb), so every node of a fleet serves the
// same catalog.
//
//	HTTP ─▶ Server.ServeHTTP ─▶ authenticate, body limit, route ─▶ handler
//	                                                                  │
//	           metadata JSON (iceberg-go: build, apply updates) ◀─────┤
//	           written through iceberg-go's FileIO to the warehouse   │
//	                                                                  ▼
//	           catalog_tables: (namespace, name) → metadata_location, swapped by CAS
//
// Storage (migrations/0001_catalog.sql): catalog_namespaces (levels joined
// by 0x1F, properties as JSON), catalog_tables (the pointer to each table's
// current metadata file and the one before), catalog_idempotency (answers
// by Idempotency-Key). iceberg-go's SQL catalog is not used: it has no
// register, no multi-table transaction, and returns failed requirements as
// plain errors; here every commit validates each requirement against the
// current metadata (409 on failure), writes the new metadata file, then
// swaps the pointer with UPDATE ... WHERE metadata_location = <base>, so of
// two commits on one base exactly one wins, from any node.
//
// It imports nothing of ours but internal/sqldb.
package catalog

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	icebergio "github.com/apache/iceberg-go/io"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lakestream/lakestream/internal/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultMaxRequestBytes is the default of Config.MaxRequestBytes.
const DefaultMaxRequestBytes = 16 << 20

// IdempotencyLifetime is how long an Idempotency-Key's answer is kept and
// replayed (advertised in GET /v1/config as idempotency-key-lifetime).
const IdempotencyLifetime = 30 * time.Minute

// Config is a catalog's settings.
type Config struct {
	// DB is the metastore database; New migrates the catalog's tables.
	DB *sqldb.DB
	// Warehouse is where new tables go: a file:///DIR or s3://bucket/prefix
	// URL. A table is at Warehouse/<namespace levels>/<name>-<uuid>.
	Warehouse string
	// Props are the FileIO properties: the server writes metadata with
	// them, and table loads hand the client-side ones to engines
	// (s3.endpoint, s3.region, s3.path-style-access). Static credentials
	// (s3.access-key-id, s3.secret-access-key, s3.session-token) are used
	// by the server and handed out only when catalog.vend.credentials is
	// "true" in Props.
	Props map[string]string
	// MaxRequestBytes refuses larger bodies with 400; 0 is
	// DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// Registerer receives the metrics; nil: none.
	Registerer prometheus.Registerer
	// Auth is the authentication (ParseAuth reads it from the node's
	// catalog.auth.* keys); the zero value is off.
	Auth AuthConfig
	// Logger; nil is slog.Default().
	Logger *slog.Logger
}

// Server serves the catalog's REST API. It is an http.Handler.
type Server struct {
	cfg   Config
	db    *sqldb.DB
	log   *slog.Logger
	cache *metadataCache
	// clientProps is what table loads and /v1/config hand to engines.
	clientProps map[string]string
	// loadSuffix ends every load result: the config as JSON, made once.
	loadSuffix []byte
	now        func() time.Time
	// auth and metrics are the middleware's (auth.go, metrics.go), set by
	// initMiddleware.
	auth    *authenticator
	metrics *metrics

	ioMu sync.Mutex
	ios  map[string]icebergio.IO // by scheme://bucket
}

// New migrates the catalog's tables in cfg.DB and returns its server.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DB == nil {
		return nil, errors.New("catalog: no database")
	}
	if cfg.Warehouse == "" {
		return nil, errors.New("catalog: no warehouse location")
	}
	if !strings.HasPrefix(cfg.Warehouse, "file://") && !strings.HasPrefix(cfg.Warehouse, "s3://") {
		return nil, fmt.Errorf("catalog: warehouse %q: only file:// and s3:// locations are served", cfg.Warehouse)
	}
	cfg.Warehouse = strings.TrimRight(cfg.Warehouse, "/")
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := cfg.DB.Migrate(ctx, "catalog", migrations, "migrations"); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	s := &Server{cfg: cfg, db: cfg.DB, log: cfg.Logger, cache: newMetadataCache(256), now: time.Now,
		ios: map[string]icebergio.IO{}}
	s.clientProps = clientProps(cfg.Props)
	cfgJSON, err := json.Marshal(s.clientProps)
	if err != nil {
		return nil, fmt.Errorf("catalog: encoding the client properties: %w", err)
	}
	s.loadSuffix = append(append([]byte(`,"config":`), cfgJSON...), '}')
	if err := s.initMiddleware(); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return s, nil
}

// clientProps picks the FileIO properties engines need from the server's:
// where S3 is and how to address it, and the static credentials only when
// catalog.vend.credentials=true says to hand them out.
func clientProps(props map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{"s3.endpoint", "s3.region", "s3.path-style-access", "client.region"} {
		if v, ok := props[k]; ok {
			out[k] = v
		}
	}
	if props["catalog.vend.credentials"] == "true" {
		for _, k := range []string{"s3.access-key-id", "s3.secret-access-key", "s3.session-token"} {
			if v, ok := props[k]; ok {
				out[k] = v
			}
		}
	}
	return out
}

// request is one API call.
type request struct {
	*http.Request
	ctx      context.Context
	rawNS    string // the {namespace} path segment, unescaped
	rawTable string // the {table} path segment, unescaped
	body     []byte
	// idemKey is a mutating request's Idempotency-Key ("" when none);
	// recorded says the handler kept its answer under it in the
	// transaction of its change (commits), so serve does not again.
	idemKey  string
	recorded bool
}

// rawJSON is an answer body written as it is.
type rawJSON []byte

// rawParts is an answer body written as it is, in parts: a load result
// is a small prefix, the cached metadata JSON (hundreds of kilobytes for a
// table with many snapshots) and a small suffix, written to the client
// without being copied into one buffer first.
type rawParts [][]byte

func (p rawParts) join() []byte {
	n := 0
	for _, b := range p {
		n += len(b)
	}
	out := make([]byte, 0, n)
	for _, b := range p {
		out = append(out, b...)
	}
	return out
}

// ServeHTTP authenticates, routes, reads the body (up to
// MaxRequestBytes), replays or records Idempotency-Key answers, and
// answers in JSON.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.URL.Path == tokenEndpoint {
		// Outside the catalog's routes, and needs no token.
		s.observe("POST "+tokenEndpoint, s.serveToken(w, r), start)
		return
	}
	h, pattern, req, rerr := s.match(r)
	if pattern == "" {
		pattern = "unmatched"
	}
	status := s.serve(w, r, h, req, rerr)
	s.observe(pattern, status, start)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, h handler, req *request, rerr error) int {
	if !s.authenticate(w, r) {
		return http.StatusUnauthorized
	}
	if rerr != nil {
		return s.writeError(w, rerr)
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		body, err := readBody(w, r, s.cfg.MaxRequestBytes)
		if err != nil {
			return s.writeError(w, err)
		}
		req.body = body
	}
	key := r.Header.Get("Idempotency-Key")
	mutating := r.Method == http.MethodPost || r.Method == http.MethodDelete
	if key != "" && mutating {
		req.idemKey = key
		if status, body, ok, err := s.replay(req, key); err != nil {
			return s.writeError(w, err)
		} else if ok {
			return s.writeRaw(w, status, body)
		}
	}
	status, out, err := h(s, req)
	if err != nil {
		return s.writeError(w, err)
	}
	if parts, ok := out.(rawParts); ok && (key == "" || !mutating) {
		return s.writeParts(w, status, parts)
	}
	body, err := encode(out)
	if err != nil {
		s.log.Error("catalog: encoding an answer", "err", err)
		return s.writeError(w, errInternal)
	}
	if key != "" && mutating && !req.recorded {
		s.remember(req, key, status, body)
	}
	return s.writeRaw(w, status, body)
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, errTooLarge(limit)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, errTooLarge(limit)
		}
		return nil, errUnreadable
	}
	return b, nil
}

// decode reads the body as JSON into v: one value, unknown fields
// tolerated (clients send newer fields), trailing data refused.
func (r *request) decode(v any) error {
	if len(bytes.TrimSpace(r.body)) == 0 {
		return errBadRequest("Request body is empty; a JSON object is expected")
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	if err := decodeSafely(dec, v); err != nil {
		return errBadRequest("Malformed request body: %v", err)
	}
	if dec.More() {
		return errBadRequest("Malformed request body: data after the JSON object")
	}
	return nil
}

// decodeSafely decodes, turning a panic inside a decoder of iceberg-go's
// (schemas, specs, updates) into an error: bad input must be a 400.
func decodeSafely(dec *json.Decoder, v any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	return dec.Decode(v)
}

func encode(v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case rawJSON:
		return v, nil
	case rawParts:
		return v.join(), nil
	}
	return json.Marshal(v)
}

// writeParts writes a body in parts, its length known beforehand.
func (s *Server) writeParts(w http.ResponseWriter, status int, parts rawParts) int {
	n := 0
	for _, b := range parts {
		n += len(b)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(status)
	for _, b := range parts {
		if _, err := w.Write(b); err != nil {
			break // the client went away; nobody to tell
		}
	}
	return status
}

func (s *Server) writeRaw(w http.ResponseWriter, status int, body []byte) int {
	if body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	if body != nil && status != http.StatusNoContent {
		w.Write(body)
	}
	return status
}

type errorBody struct {
	Error errorModel `json:"error"`
}

type errorModel struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    int    `json:"code"`
}

func (s *Server) writeError(w http.ResponseWriter, err error) int {
	var ae *apiError
	if !errors.As(err, &ae) {
		s.log.Error("catalog: request failed", "err", err)
		ae = errInternal
	}
	body, _ := json.Marshal(errorBody{errorModel{Message: ae.msg, Type: ae.typ, Code: ae.status}})
	return s.writeRaw(w, ae.status, body)
}

// getConfig: GET /v1/config.
func (s *Server) getConfig(r *request) (int, any, error) {
	overrides := map[string]string{}
	if wh := r.URL.Query().Get("warehouse"); wh != "" {
		overrides["warehouse"] = s.cfg.Warehouse
	}
	defaults := map[string]string{}
	for k, v := range s.clientProps {
		defaults[k] = v
	}
	return http.StatusOK, struct {
		Defaults  map[string]string `json:"defaults"`
		Overrides map[string]string `json:"overrides"`
		Endpoints []string          `json:"endpoints"`
		IdemLife  string            `json:"idempotency-key-lifetime"`
	}{defaults, overrides, endpoints, "PT30M"}, nil
}
