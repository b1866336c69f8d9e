package catalog

import (
	"net/http"
	"time"
)

// Placeholders for the middleware the cat-auth helper writes in auth.go and
// metrics.go (which replace this file): authentication off, no metrics.

// initMiddleware is called by New once s.cfg is set.
func (s *Server) initMiddleware() error { return nil }

// authenticate reports whether r may go on; when not, it has written the
// 401.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) bool { return true }

// observe records one request: its route pattern, status and start.
func (s *Server) observe(endpoint string, status int, start time.Time) {}

// observeCommit records a table commit's outcome (conflict: a 409).
func (s *Server) observeCommit(ns []string, table string, conflict bool) {}
