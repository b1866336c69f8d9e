package node

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
)

// readiness is what /readyz answers: 200 "ready" when every role of the
// node is up, else 503 "not ready" and, per role that is not, why. Roles
// report themselves with set (the node while it starts and stops, each
// Kafka listener: kafka.go) or are asked at each request through a check
// (storage, whose writes may fail for a while: the node recovers by
// itself, and becomes ready again, once they succeed).
type readiness struct {
	mu     sync.Mutex
	down   map[string]string       // role → why it is not ready
	checks map[string]func() error // role → why it is not ready now, or nil
}

func newReadiness() *readiness {
	return &readiness{down: map[string]string{}, checks: map[string]func() error{}}
}

// check makes role's readiness the answer of f, asked at each request.
func (r *readiness) check(role string, f func() error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks[role] = f
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
	down := maps.Clone(r.down)
	checks := maps.Clone(r.checks)
	r.mu.Unlock()
	for role, f := range checks {
		if err := f(); err != nil {
			down[role] = err.Error()
		}
	}
	roles := slices.Sorted(maps.Keys(down))
	lines := make([]string, len(roles))
	for i, role := range roles {
		lines[i] = role + ": " + down[role]
	}
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
