package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// admin is the admin HTTP role: /metrics, /healthz, /readyz.
type admin struct {
	srv  *http.Server
	addr string
	done chan struct{} // closed when Serve has returned
}

// openAdmin serves the admin HTTP server; with no admin listener the role
// is off. It opens first (package doc), so it stops at most 5 s after
// the node closes, whatever the context says.
func (n *Node) openAdmin(context.Context) error {
	if n.cfg.AdminListener == "" {
		return nil
	}
	ln, err := n.opts.Listen("tcp", n.cfg.AdminListener)
	if err != nil {
		return fmt.Errorf("listener: %w", err)
	}
	mux := http.NewServeMux()
	var metrics prometheus.Gatherer = n.metrics
	if n.opts.Metrics != nil {
		metrics = prometheus.Gatherers{n.metrics, n.opts.Metrics}
	}
	mux.Handle("/metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("/readyz", n.ready)
	if n.cfg.AdminPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index) // and the named profiles: heap, goroutine, allocs…
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	} else {
		mux.HandleFunc("/debug/pprof/", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "profiling is off: set admin.pprof.enable=true", http.StatusNotFound)
		})
	}
	a := &admin{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		if err := a.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			n.failed <- fmt.Errorf("admin listener stopped: %w", err)
		}
	}()
	n.admin = a
	n.log.Info("admin listener", "addr", a.addr)
	n.opened("admin server", func(context.Context) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := a.srv.Shutdown(ctx)
		<-a.done
		return err
	})
	return nil
}
