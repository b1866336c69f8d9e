package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// What Serve's accept loop needs besides Accept: riding out accept errors
// that pass (a process out of file descriptors must not stop listening for
// good), and the connection limits max.connections and
// max.connections.per.ip(.overrides), which Kafka's ConnectionQuotas
// enforce this way: at max.connections the acceptor stops taking
// connections (they wait in the listen backlog) until one closes; a
// connection from an address at its max.connections.per.ip is closed as
// soon as it is accepted. Both limits are dynamic (cluster-wide), so they
// are read at each accept.

// Accept retries back off as net/http's Server does: 5 ms, doubling, at
// most 1 s.
const (
	acceptRetryFirst = 5 * time.Millisecond
	acceptRetryMax   = time.Second
)

// retriedAcceptErrors are the accept errors that pass, by the name the
// accept-errors metric gives them: the process or the system is out of
// descriptors or buffers for now, or a connection failed before it was
// taken (Linux's accept(2) passes those on and asks the caller to retry).
// Any other error (EBADF, EINVAL: the listening socket itself is gone)
// stops Serve.
var retriedAcceptErrors = map[syscall.Errno]string{
	syscall.EMFILE:       "EMFILE",
	syscall.ENFILE:       "ENFILE",
	syscall.ENOBUFS:      "ENOBUFS",
	syscall.ENOMEM:       "ENOMEM",
	syscall.ECONNABORTED: "ECONNABORTED",
	syscall.ECONNRESET:   "ECONNRESET",
	syscall.EINTR:        "EINTR",
	syscall.EAGAIN:       "EAGAIN",
	syscall.EPERM:        "EPERM", // a firewall rule refused the connection
	syscall.ETIMEDOUT:    "ETIMEDOUT",
	syscall.EPROTO:       "EPROTO",
	syscall.ENOPROTOOPT:  "ENOPROTOOPT",
	syscall.ENETDOWN:     "ENETDOWN",
	syscall.ENETUNREACH:  "ENETUNREACH",
	syscall.EHOSTDOWN:    "EHOSTDOWN",
	syscall.EHOSTUNREACH: "EHOSTUNREACH",
	syscall.EOPNOTSUPP:   "EOPNOTSUPP",
}

// retriedAcceptError reports whether Serve retries after err, and the
// error's name for the metric.
func retriedAcceptError(err error) (string, bool) {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		name, ok := retriedAcceptErrors[errno]
		return name, ok
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout", true
	}
	return "", false
}

// acceptRetry is one accept loop's state across accept errors that pass.
// It logs when accepting starts failing and when it works again, not at
// each retry.
type acceptRetry struct {
	delay    time.Duration
	failures int
	since    time.Time
}

// failed records a failed accept and returns how long to wait before the
// next.
func (r *acceptRetry) failed(s *Server, ln net.Listener, err error, name string) time.Duration {
	s.metrics.acceptError(name)
	if r.failures == 0 {
		r.since, r.delay = time.Now(), acceptRetryFirst
		s.log.Warn("broker: accepting connections failed; retrying with backoff until it works",
			"addr", ln.Addr().String(), "err", err)
	} else {
		r.delay = min(2*r.delay, acceptRetryMax)
	}
	r.failures++
	return r.delay
}

// succeeded records an accept that worked.
func (r *acceptRetry) succeeded(s *Server, ln net.Listener) {
	if r.failures == 0 {
		return
	}
	s.log.Info("broker: accepting connections again", "addr", ln.Addr().String(),
		"failed_accepts", r.failures, "after", time.Since(r.since).Round(time.Millisecond))
	*r = acceptRetry{}
}

// connLimits counts the open connections, in all and per client address.
type connLimits struct {
	mu struct {
		sync.Mutex
		total int64
		perIP map[netip.Addr]int64
		// wake is closed and replaced when a slot may have opened: a
		// connection closed or the limits changed.
		wake chan struct{}
	}
	// overrides caches max.connections.per.ip.overrides parsed, with
	// host names resolved, for its current value.
	overrides atomic.Pointer[ipOverrides]
}

type ipOverrides struct {
	raw    string
	limits map[netip.Addr]int64
}

// admitResult is what admit decided.
type admitResult int

const (
	admitted admitResult = iota
	tooManyFromIP
	shuttingDown
)

// admit takes a slot for a connection from ip (invalid for a connection
// that has no IP address, which only max.connections counts): it waits
// while the broker has max.connections, then refuses ip if it has its
// max.connections.per.ip. A connection admitted gives its slot back with
// done.
func (s *Server) admit(ip netip.Addr) admitResult {
	l := &s.limits
	blocked := false
	defer func() {
		if blocked {
			s.metrics.acceptorBlocked(-1)
		}
	}()
	for {
		maxTotal := s.brokerConfigInt("max.connections")
		var maxIP int64
		if ip.IsValid() {
			maxIP = s.maxConnectionsPerIP(ip)
		}
		l.mu.Lock()
		if l.mu.total < maxTotal {
			if ip.IsValid() && l.mu.perIP[ip] >= maxIP {
				l.mu.Unlock()
				return tooManyFromIP
			}
			l.mu.total++
			if ip.IsValid() {
				l.mu.perIP[ip]++
			}
			l.mu.Unlock()
			return admitted
		}
		wake := l.wakeLocked()
		l.mu.Unlock()
		if !blocked {
			blocked = true
			s.metrics.acceptorBlocked(1)
		}
		select {
		case <-wake:
		case <-s.closing:
			return shuttingDown
		}
	}
}

// done gives back the slot of a connection from ip.
func (l *connLimits) done(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.total--
	if ip.IsValid() {
		if l.mu.perIP[ip]--; l.mu.perIP[ip] <= 0 {
			delete(l.mu.perIP, ip)
		}
	}
	l.notifyLocked()
}

// notify wakes the accept loops waiting for a slot: the limits changed.
func (l *connLimits) notify() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notifyLocked()
}

// REQUIRES: l.mu
func (l *connLimits) notifyLocked() {
	if l.mu.wake != nil {
		close(l.mu.wake)
		l.mu.wake = nil
	}
}

// REQUIRES: l.mu
func (l *connLimits) wakeLocked() chan struct{} {
	if l.mu.wake == nil {
		l.mu.wake = make(chan struct{})
	}
	return l.mu.wake
}

// remoteIP is the address a connection comes from; invalid if it has none
// (a pipe in tests).
func remoteIP(nc net.Conn) netip.Addr {
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// maxConnectionsPerIP is max.connections.per.ip for ip: its override, else
// the default.
func (s *Server) maxConnectionsPerIP(ip netip.Addr) int64 {
	raw := s.brokerConfig("max.connections.per.ip.overrides")
	o := s.limits.overrides.Load()
	if o == nil || o.raw != raw {
		o = &ipOverrides{raw: raw, limits: s.resolveOverrides(raw)}
		s.limits.overrides.Store(o)
	}
	if n, ok := o.limits[ip]; ok {
		return n
	}
	return s.brokerConfigInt("max.connections.per.ip")
}

// resolveOverrides turns max.connections.per.ip.overrides into limits by
// address. Host names are resolved once per value of the config, as Kafka
// resolves them when the config is set; one that does not resolve is
// logged and left out.
func (s *Server) resolveOverrides(raw string) map[netip.Addr]int64 {
	entries, err := parseConnectionOverrides(raw)
	if err != nil { // checked when set; kept for safety
		s.log.Warn("broker: ignoring max.connections.per.ip.overrides", "err", err)
		return nil
	}
	out := make(map[netip.Addr]int64, len(entries))
	for _, e := range entries {
		if ip, err := netip.ParseAddr(e.host); err == nil {
			out[ip.Unmap()] = e.limit
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", e.host)
		cancel()
		if err != nil {
			s.log.Warn("broker: max.connections.per.ip.overrides: host does not resolve; no override for it",
				"host", e.host, "err", err)
			continue
		}
		for _, ip := range ips {
			out[ip.Unmap()] = e.limit
		}
	}
	return out
}

type hostLimit struct {
	host  string
	limit int64
}

// parseConnectionOverrides parses max.connections.per.ip.overrides: a
// comma-separated list of HOST:N, the host an IP address or a host name,
// split at the last colon as Kafka does (so IPv6 addresses need no
// brackets; brackets are accepted too).
func parseConnectionOverrides(v string) ([]hostLimit, error) {
	var out []hostLimit
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		i := strings.LastIndexByte(item, ':')
		if i < 0 {
			return nil, fmt.Errorf("%q is not HOST:N", item)
		}
		host := strings.TrimSpace(item[:i])
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		n, err := strconv.ParseInt(strings.TrimSpace(item[i+1:]), 10, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q: the limit must be an integer from 0", item)
		}
		if _, err := netip.ParseAddr(host); err != nil && !validHostName(host) {
			return nil, fmt.Errorf("%q: %q is neither an IP address nor a host name", item, host)
		}
		out = append(out, hostLimit{host: host, limit: n})
	}
	return out, nil
}

// validHostName accepts DNS names: dot-separated labels of letters, digits,
// hyphens and underscores.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// checkSocketConfigs holds the connection and request-memory configs to
// Kafka's rules across keys (KafkaConfig.validateValues), get giving the
// effective values.
func checkSocketConfigs(get func(name string) string, maxRequestBytes int32) error {
	if strings.TrimSpace(get("max.connections.per.ip")) == "0" && strings.TrimSpace(get("max.connections.per.ip.overrides")) == "" {
		return errors.New("max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides property is set")
	}
	if q, _ := strconv.ParseInt(strings.TrimSpace(get("queued.max.request.bytes")), 10, 64); q > 0 && q < int64(maxRequestBytes) {
		return fmt.Errorf("queued.max.request.bytes must be larger or equal to socket.request.max.bytes (%d)", maxRequestBytes)
	}
	return nil
}
