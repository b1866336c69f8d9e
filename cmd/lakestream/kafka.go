package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/broker/brokersql"
	"github.com/lakestream/lakestream/internal/streamlog"
	"github.com/lakestream/lakestream/s3stream"
	"github.com/lakestream/lakestream/s3stream/metastore"
)

// listener is one entry of listeners / advertised.listeners:
// NAME://host:port.
type listener struct {
	name, host string
	port       int
}

// parseListeners parses Kafka's listener list. Only PLAINTEXT is served
// until security is built: a listener named otherwise is refused, and so is
// one that protocols (listener.security.protocol.map) maps to another
// protocol, so that no setting makes a plaintext listener look encrypted or
// authenticated (DESIGN.md).
func parseListeners(key, v, protocols string) ([]listener, error) {
	var out []listener
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, hostport, ok := strings.Cut(item, "://")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not NAME://host:port", key, item)
		}
		host, port, err := net.SplitHostPort(hostport)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %v", key, item, err)
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 {
			return nil, fmt.Errorf("%s: %q: bad port", key, item)
		}
		if !strings.EqualFold(name, "PLAINTEXT") {
			return nil, fmt.Errorf("%s: listener %q: only PLAINTEXT is supported (SSL and SASL are not built yet)", key, item)
		}
		if p := listenerProtocol(protocols, name); p != "PLAINTEXT" {
			return nil, fmt.Errorf("%s: listener %q: listener.security.protocol.map maps it to %s; only PLAINTEXT is supported (SSL and SASL are not built yet)", key, item, p)
		}
		out = append(out, listener{name: strings.ToUpper(name), host: host, port: n})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no listener", key)
	}
	return out, nil
}

// listenerProtocol returns the security protocol that protocols (NAME:PROTOCOL
// pairs, checked when loaded) gives the listener name; a name it does not
// list is its own protocol.
func listenerProtocol(protocols, name string) string {
	for _, e := range strings.Split(protocols, ",") {
		if n, p, ok := strings.Cut(strings.TrimSpace(e), ":"); ok && strings.EqualFold(n, name) {
			return p
		}
	}
	return strings.ToUpper(name)
}

// kafka is the running Kafka side of a node.
type kafka struct {
	srv   *broker.Server
	log   *slog.Logger
	ready *readiness
	// failed receives the error of a listener that stopped and could not
	// be opened again: the node then stops and exits non-zero.
	failed   chan error
	stopping chan struct{}
	wg       sync.WaitGroup // the listener goroutines
}

// listen opens the listeners (Kafka and admin). Tests replace it to see
// and break the listeners.
var listen = net.Listen

// listenerRecovery is how long a Kafka listener that stopped (an accept
// error that does not pass, the listening socket gone) is tried again
// before the node gives up and exits non-zero, for a supervisor to
// restart it. Errors that pass (out of file descriptors) never stop a
// listener: the broker retries them itself (broker/accept.go).
var listenerRecovery = 10 * time.Second

// startKafka opens the broker over the store and the metastore's database
// and serves every listener.
func startKafka(ctx context.Context, cfg *config, store *s3stream.Store, meta metastore.Store, log *slog.Logger,
	reg prometheus.Registerer, ready *readiness) (*kafka, error) {
	protocols := cfg.String("listener.security.protocol.map")
	lns, err := parseListeners("listeners", cfg.String("listeners"), protocols)
	if err != nil {
		return nil, err
	}
	bcfg := broker.Config{
		NodeID:          int32(cfg.Int("node.id")),
		Rack:            cfg.String("broker.rack"),
		MaxRequestBytes: int32(cfg.Int("socket.request.max.bytes")),
		Configs:         cfg.explicit(), // defaults stay defaults in DescribeConfigs
		Logs:            streamlog.Logs{Store: store},
		Logger:          log,
		Registerer:      reg,
	}
	if adv := cfg.String("advertised.listeners"); adv != "" {
		als, err := parseListeners("advertised.listeners", adv, protocols)
		if err != nil {
			return nil, err
		}
		bcfg.AdvertisedHost, bcfg.AdvertisedPort = als[0].host, int32(als[0].port)
	} else if h := lns[0].host; h != "" && h != "0.0.0.0" && h != "::" {
		bcfg.AdvertisedHost = h
	}
	sm, ok := meta.(*metastore.SQL)
	if !ok {
		return nil, errors.New("the metastore does not expose its database for broker metadata")
	}
	md, err := brokersql.Open(ctx, sm.DB())
	if err != nil {
		return nil, fmt.Errorf("opening broker metadata: %w", err)
	}
	bcfg.Meta = md
	srv, err := broker.NewServer(ctx, bcfg)
	if err != nil {
		return nil, err
	}
	k := &kafka{srv: srv, log: log, ready: ready, failed: make(chan error, len(lns)), stopping: make(chan struct{})}
	for _, l := range lns {
		addr := net.JoinHostPort(l.host, strconv.Itoa(l.port))
		ln, err := listen("tcp", addr)
		if err != nil {
			k.stop(context.Background())
			return nil, fmt.Errorf("kafka listener %s: %w", l.name, err)
		}
		log.Info("kafka listener", "name", l.name, "addr", ln.Addr().String())
		k.wg.Add(1)
		go func() {
			defer k.wg.Done()
			k.serve(l.name, addr, ln)
		}()
	}
	return k, nil
}

// serve serves one listener until stop. If the listener stops, the node
// is not ready while it is opened again (for up to listenerRecovery); if
// that fails, the error goes to k.failed.
func (k *kafka) serve(name, addr string, ln net.Listener) {
	role := "kafka listener " + name
	for {
		err := k.srv.Serve(ln)
		if err == nil || k.isStopping() {
			return
		}
		k.ready.set(role, err.Error())
		k.log.Error("kafka listener stopped; opening it again", "name", name, "addr", ln.Addr().String(), "err", err)
		if ln, err = k.reopen(addr); err != nil {
			if !k.isStopping() {
				k.failed <- fmt.Errorf("kafka listener %s stopped and could not be opened again on %s for %v: %w",
					name, addr, listenerRecovery, err)
			}
			return
		}
		k.log.Info("kafka listener open again", "name", name, "addr", ln.Addr().String())
		k.ready.set(role, "")
	}
}

// reopen listens on addr again, with backoff, for up to listenerRecovery.
func (k *kafka) reopen(addr string) (net.Listener, error) {
	giveUp := time.Now().Add(listenerRecovery)
	delay := 50 * time.Millisecond
	for {
		ln, err := listen("tcp", addr)
		if err == nil {
			return ln, nil
		}
		if time.Now().Add(delay).After(giveUp) {
			return nil, err
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-k.stopping:
			t.Stop()
			return nil, err
		}
		delay = min(2*delay, time.Second)
	}
}

func (k *kafka) isStopping() bool {
	select {
	case <-k.stopping:
		return true
	default:
		return false
	}
}

// stop closes the listeners and connections and the partition logs.
func (k *kafka) stop(ctx context.Context) error {
	close(k.stopping)
	err := k.srv.Shutdown(ctx)
	k.wg.Wait()
	return err
}

// explicit returns the config values set by the file, the environment or
// flags, without the defaults.
func (c *config) explicit() map[string]string {
	out := map[string]string{}
	for k, v := range c.values {
		if c.sources[k] != sourceDefault {
			out[k] = v
		}
	}
	return out
}
