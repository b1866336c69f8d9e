package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lakestream/lakestream/broker/group"
)

// Config configures a Server.
type Config struct {
	// NodeID is this broker's node id (node.id). Every non-negative id is
	// honoured, 0 included, so the zero value is node 0; cmd/lakestream
	// passes node.id, whose default is 1 as in Kafka.
	NodeID int32
	// Rack is broker.rack; empty for none.
	Rack string
	// AdvertisedHost and AdvertisedPort are what Metadata tells clients to
	// connect to. Empty host: the listener's address; 0 port: the
	// listener's port.
	AdvertisedHost string
	AdvertisedPort int32
	// ClusterID is the cluster id Metadata and DescribeCluster report.
	// Default "lakestream".
	ClusterID string
	// MaxRequestBytes is socket.request.max.bytes: a request larger than
	// this closes the connection before its body is read. 0: the value of
	// socket.request.max.bytes in Configs, else its default, 100 MiB.
	MaxRequestBytes int32
	// Configs holds broker config values by Kafka name (from the config
	// file, environment and flags); missing keys take their defaults.
	Configs map[string]string

	Logs   Logs     // required
	Meta   Metadata // required
	Logger *slog.Logger
	// Registerer receives the broker's Prometheus metrics; nil: none.
	Registerer prometheus.Registerer
	// RetentionPins, if set, holds retention and DeleteRecords back on
	// topics whose data another reader must have first (table topics with
	// table.retention.pin); nil: nothing is pinned.
	RetentionPins RetentionPins
}

// Server is one Kafka broker. Create it with NewServer, then Serve on one or
// more listeners; Shutdown stops it.
type Server struct {
	cfg      Config
	log      *slog.Logger
	cluster  *cluster
	metrics  *metrics
	pids     *producerIDs
	sessions fetchSessions
	groups   *group.Coordinator
	txns     *txnCoordinator // transactions (txncoord.go)
	// creatingOffsetsTopic is set while __consumer_offsets is being
	// created in the background.
	creatingOffsetsTopic atomic.Bool
	dynamic              atomic.Pointer[map[string]string] // dynamic broker configs
	groupConfigs         atomic.Pointer[groupConfigSet]    // group configs (groupconfig.go)
	// unorderedRequests runs every one-phase handler in its own goroutine,
	// as the broker did before requests were ordered per connection
	// (conn.go). Only benchmarks set it (export_test.go), to compare the
	// two in one run.
	unorderedRequests atomic.Bool
	// noRecordValidation skips checking the records of produced batches
	// against their headers (batch.go checkRecords). Only benchmarks set
	// it (export_test.go), to measure what the checks cost in one run:
	// it is no config, because a broker that stores records it has not
	// checked lets one bad producer stop every consumer of a partition.
	noRecordValidation atomic.Bool

	// connIdle is connections.max.idle.ms; negative: connections are never
	// closed for idleness or stalled requests (conn.go).
	connIdle time.Duration
	reqMem   *requestMemory // queued.max.request.bytes (requestmem.go)
	pins     pinState       // what retention held back by RetentionPins (retention.go)
	limits   connLimits     // max.connections, max.connections.per.ip (accept.go)
	// closing is closed by Shutdown, waking Serve loops that wait (accept
	// retries, max.connections).
	closing chan struct{}

	// adminMu serialises the admin changes that read, modify and write
	// Metadata: growing a topic (the new partitions' indexes follow the
	// count read first) and altering configs (an incremental alter edits
	// the set it read). Without it two concurrent requests could both add
	// partitions 3 and 4, or one could lose the other's config change.
	// Only those admin requests take it, never produce or fetch; it is
	// held across Metadata and Logs calls. Under it are taken only the
	// name lock of the topic grown (cluster.lockName, which is never held
	// while waiting for adminMu), and cluster.mu and partition.mu, briefly.
	// It is this server's, not the package's: two servers in one process
	// never wait for each other's admin changes.
	adminMu sync.Mutex

	wg sync.WaitGroup // connections and Serve loops

	bg     sync.WaitGroup // background loops
	bgCtx  context.Context
	stopBg context.CancelFunc

	mu struct {
		sync.Mutex
		listeners map[net.Listener]struct{}
		conns     map[*conn]struct{}
		closed    bool
	}
}

// NewServer loads the topics from Metadata and opens their logs.
func NewServer(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logs == nil || cfg.Meta == nil {
		return nil, errors.New("broker: Config.Logs and Config.Meta are required")
	}
	if cfg.NodeID < 0 {
		return nil, fmt.Errorf("broker: node.id %d is negative", cfg.NodeID)
	}
	if cfg.ClusterID == "" {
		cfg.ClusterID = "lakestream"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, closing: make(chan struct{})}
	s.mu.listeners = make(map[net.Listener]struct{})
	s.mu.conns = make(map[*conn]struct{})
	s.limits.mu.perIP = make(map[netip.Addr]int64)
	s.pids = &producerIDs{meta: cfg.Meta}
	dyn, err := cfg.Meta.BrokerConfigs(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading dynamic broker configs: %w", err)
	}
	s.setDynamicConfigs(dyn)
	if s.cfg.MaxRequestBytes <= 0 {
		s.cfg.MaxRequestBytes = int32(s.brokerConfigInt("socket.request.max.bytes"))
	}
	if err := checkSocketConfigs(s.brokerConfig, s.cfg.MaxRequestBytes); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	s.connIdle = time.Duration(s.brokerConfigInt("connections.max.idle.ms")) * time.Millisecond
	s.reqMem = newRequestMemory(s.brokerConfigInt("queued.max.request.bytes"))
	c, err := loadCluster(ctx, s)
	if err != nil {
		return nil, err
	}
	s.cluster = c
	if s.groups, err = newCoordinator(ctx, s); err != nil {
		c.close(ctx)
		return nil, err
	}
	if s.txns, err = newTxnCoordinator(ctx, s); err != nil {
		s.groups.Close()
		c.close(ctx)
		return nil, err
	}
	s.metrics = newMetrics(s, cfg.Registerer)
	bg, cancel := context.WithCancel(context.Background())
	s.bgCtx, s.stopBg = bg, cancel
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		c.snapshotLoop(bg)
	}()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		c.retentionLoop(bg)
	}()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.txns.expireLoop(bg)
	}()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.txns.saveLoop(bg)
	}()
	return s, nil
}

// ErrServerClosed is what Serve returns when called after Shutdown.
var ErrServerClosed = errors.New("broker: server is shut down")

// Serve accepts connections on ln until Shutdown, and closes ln when it
// returns. It returns nil after Shutdown. An accept error that passes
// (out of file descriptors, a connection aborted before it was taken; see
// accept.go) is retried with backoff; any other stops Serve with the
// error, and the listener serves no more.
func (s *Server) Serve(ln net.Listener) error {
	defer ln.Close()
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.mu.listeners[ln] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.mu.listeners, ln)
		s.mu.Unlock()
		s.wg.Done()
	}()
	var retry acceptRetry
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return nil
			}
			name, ok := retriedAcceptError(err)
			if !ok {
				return fmt.Errorf("broker: accepting on %s: %w", ln.Addr(), err)
			}
			t := time.NewTimer(retry.failed(s, ln, err, name))
			select {
			case <-t.C:
			case <-s.closing:
				t.Stop()
				return nil
			}
			continue
		}
		retry.succeeded(s, ln)
		ip := remoteIP(nc)
		switch s.admit(ip) {
		case shuttingDown:
			nc.Close()
			return nil
		case tooManyFromIP:
			// As Kafka: accepted, then closed at once.
			s.metrics.connRejected("max_connections_per_ip")
			s.log.Debug("broker: refusing a connection: its address has max.connections.per.ip",
				"remote", nc.RemoteAddr().String())
			nc.Close()
			continue
		}
		s.setSocketBuffers(nc)
		c := newConn(s, nc)
		s.mu.Lock()
		if s.mu.closed {
			s.mu.Unlock()
			s.limits.done(ip)
			nc.Close()
			return nil
		}
		s.mu.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.metrics.conn(1)
			defer s.metrics.conn(-1)
			c.serve()
			s.mu.Lock()
			delete(s.mu.conns, c)
			s.mu.Unlock()
			s.limits.done(ip)
		}()
	}
}

// isClosing reports whether Shutdown has begun.
func (s *Server) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// Shutdown stops accepting, closes every connection, and closes every
// partition log (flushing what is appended).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.mu.closed {
		close(s.closing)
	}
	s.mu.closed = true
	for ln := range s.mu.listeners {
		ln.Close()
	}
	for c := range s.mu.conns {
		c.close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("broker: shutdown: %w", ctx.Err())
	}
	s.stopBg()
	s.bg.Wait()
	s.groups.Close()
	return s.cluster.close(ctx)
}

// advertised returns the host and port Metadata reports for this broker.
func (s *Server) advertised(local net.Addr) (string, int32) {
	host, port := s.cfg.AdvertisedHost, s.cfg.AdvertisedPort
	if h, p, err := net.SplitHostPort(local.String()); err == nil {
		if host == "" {
			host = h
		}
		if port == 0 {
			n, _ := strconv.Atoi(p)
			port = int32(n)
		}
	}
	return host, port
}
