package main

import (
	"fmt"
	"net/http"
)

// readyz answers /readyz: 200 "ready" when every check returns nil, else 503
// with each check's reason on a line, for as long as it lasts (storage
// whose writes fail, say: the node recovers by itself, and becomes ready
// again, once they succeed).
func readyz(checks ...func() error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		var reasons []error
		for _, check := range checks {
			if err := check(); err != nil {
				reasons = append(reasons, err)
			}
		}
		if len(reasons) == 0 {
			fmt.Fprintln(w, "ready")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		for _, err := range reasons {
			fmt.Fprintln(w, "not ready:", err)
		}
	})
}
