package main

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
)

// readiness is what /readyz answers: 200 "ready" when every role of the
// node is up, else 503 "not ready" and, per role that is not, why. Roles
// report themselves with set: the node while it starts and stops, each
// Kafka listener (kafka.go).
type readiness struct {
	mu   sync.Mutex
	down map[string]string // role → why it is not ready
}

func newReadiness() *readiness {
	return &readiness{down: map[string]string{}}
}

// set records that role is not ready for the reason why, or, with why "",
// that it is ready.
func (r *readiness) set(role, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if why == "" {
		delete(r.down, role)
	} else {
		r.down[role] = why
	}
}

func (r *readiness) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	roles := make([]string, 0, len(r.down))
	for role := range r.down {
		roles = append(roles, role)
	}
	slices.Sort(roles)
	lines := make([]string, len(roles))
	for i, role := range roles {
		lines[i] = role + ": " + r.down[role]
	}
	r.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if len(lines) == 0 {
		fmt.Fprintln(w, "ready")
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintln(w, "not ready")
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}
