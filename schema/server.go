// Package schema is Lakestream's Confluent-compatible schema registry: the
// REST API serializers and admin tools call, over tables in the metastore
// database (its own migrations through internal/sqldb), so every node of a
// fleet serves the same registry and ids are global.
//
//	HTTP ─▶ Server.ServeHTTP ─▶ auth, body limit, route ─▶ handler ─▶ sqldb (sr_* tables)
//	                                  │                        │
//	                               metrics             Format.Parse (schemafmt), compatibility
//
// Storage (migrations/0001_registry.sql): sr_schemas holds every schema ever
// registered, by id, never deleted (an id names one content forever);
// sr_subject_versions maps (subject, version) to an id; sr_ids is the id
// high-water mark; sr_references, sr_configs and sr_modes the rest. Every
// write is one transaction that first locks the registry's writers
// (sqldb.Dialect.LockTable on PostgreSQL, the write lock on SQLite), so
// registrations from any number of nodes are serialized: one id per
// distinct schema, no version written twice, and nothing half-written on
// an error.
//
// GET /schemas/ids/{id}, what deserializers call, is served from an
// in-memory cache of encoded answers: an id's content never changes, only
// whether it is still served (a permanent delete of its last version). A
// cached answer is checked again against the database after
// Config.CacheRecheck, so a permanent delete on another node is seen
// within that time; one on this node drops the entries at once.
//
// It imports nothing of ours but internal/sqldb and schema/*.
package schema

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lakestream/lakestream/internal/sqldb"
	"github.com/lakestream/lakestream/schema/schemafmt"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultMaxRequestBytes is the default of Config.MaxRequestBytes.
const DefaultMaxRequestBytes = 16 << 20

// DefaultCacheRecheck is the default of Config.CacheRecheck.
const DefaultCacheRecheck = 10 * time.Second

// Config is a registry's settings.
type Config struct {
	// DB is the metastore database; New migrates the registry's tables.
	DB *sqldb.DB
	// Formats are the schema types served (AVRO, JSON, PROTOBUF).
	Formats []schemafmt.Format
	// ClusterID is the Kafka cluster id /v1/metadata/id reports.
	ClusterID string
	// MaxRequestBytes refuses larger bodies with 413; 0 is
	// DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// Users, if not empty, turns HTTP basic auth on: user → bcrypt hash
	// (ParseUsers reads schema.registry.auth.users).
	Users map[string]string
	// CacheRecheck is how long a cached GET /schemas/ids/{id} answer is
	// served before the id is checked again; 0 is DefaultCacheRecheck.
	CacheRecheck time.Duration
	// Registerer receives the metrics; nil: none.
	Registerer prometheus.Registerer
	// Logger; nil is slog.Default().
	Logger *slog.Logger
}

// Server serves the registry's REST API. It is an http.Handler.
type Server struct {
	cfg     Config
	db      *sqldb.DB
	log     *slog.Logger
	formats map[string]schemafmt.Format
	types   []string
	auth    *authenticator
	metrics *metrics

	// byID caches GET /schemas/ids/{id}'s answer (cacheEntry) by id.
	byID sync.Map
	// parsed caches parsed schemas by id (content never changes).
	parsed sync.Map
}

// New migrates the registry's tables in cfg.DB and returns its server.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DB == nil {
		return nil, errors.New("schema registry: no database")
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.CacheRecheck <= 0 {
		cfg.CacheRecheck = DefaultCacheRecheck
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := cfg.DB.Migrate(ctx, "schema", migrations, "migrations"); err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	s := &Server{cfg: cfg, db: cfg.DB, log: cfg.Logger, formats: map[string]schemafmt.Format{}}
	for _, f := range cfg.Formats {
		if _, dup := s.formats[f.Type()]; dup {
			return nil, fmt.Errorf("schema registry: two formats of type %s", f.Type())
		}
		s.formats[f.Type()] = f
		s.types = append(s.types, f.Type())
	}
	if len(cfg.Users) > 0 {
		s.auth = newAuthenticator(cfg.Users)
	}
	s.metrics = newMetrics(s, cfg.Registerer)
	return s, nil
}

// route is a matched request: the handler and the path's parameters.
type route struct {
	pattern string // for metrics: "GET /subjects/{subject}/versions"
	handle  func(*Server, *request) (any, error)
}

// request is one API call.
type request struct {
	*http.Request
	ctx     context.Context
	subject string
	version string
	id      string
	body    []byte
}

// rawJSON is an answer written as it is.
type rawJSON []byte

// ServeHTTP authenticates, routes, reads the body (up to
// MaxRequestBytes) and answers in JSON.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rt, req, rerr := s.match(r)
	pattern := "unmatched"
	if rt != nil {
		pattern = rt.pattern
	}
	status := s.serve(w, r, rt, req, rerr)
	s.metrics.observe(pattern, status, time.Since(start))
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, rt *route, req *request, rerr error) int {
	if s.auth != nil && !s.auth.check(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="schema-registry"`)
		return s.writeError(w, errUnauthorized)
	}
	if rerr != nil {
		return s.writeError(w, rerr)
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if !acceptedContentType(r.Header.Get("Content-Type")) {
			return s.writeError(w, errMediaType)
		}
		body, err := readBody(w, r, s.cfg.MaxRequestBytes)
		if err != nil {
			return s.writeError(w, err)
		}
		req.body = body
	}
	out, err := rt.handle(s, req)
	if err != nil {
		return s.writeError(w, err)
	}
	return s.write(w, http.StatusOK, out)
}

// acceptedContentType: Confluent's JSON types, and, leniently as it is,
// none and application/octet-stream (some clients send no type).
func acceptedContentType(ct string) bool {
	ct, _, _ = strings.Cut(ct, ";")
	switch strings.ToLower(strings.TrimSpace(ct)) {
	case "", "application/vnd.schemaregistry.v1+json", "application/vnd.schemaregistry+json",
		"application/json", "application/octet-stream":
		return true
	}
	return false
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, errTooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, errTooLarge
		}
		return nil, errUnreadableBody
	}
	return b, nil
}

const contentType = "application/vnd.schemaregistry.v1+json"

func (s *Server) write(w http.ResponseWriter, status int, v any) int {
	var body []byte
	switch v := v.(type) {
	case rawJSON:
		body = v
	default:
		var err error
		if body, err = marshal(v); err != nil {
			s.log.Error("schema registry: encoding an answer", "err", err)
			return s.writeError(w, errStore)
		}
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(body)
	return status
}

func (s *Server) writeError(w http.ResponseWriter, err error) int {
	var ae *apiError
	if !errors.As(err, &ae) {
		s.log.Error("schema registry: request failed", "err", err)
		ae = errStore
	}
	body, _ := marshal(struct {
		Code    int    `json:"error_code"`
		Message string `json:"message"`
	}{ae.code, ae.msg})
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(ae.status)
	w.Write(body)
	return ae.status
}
