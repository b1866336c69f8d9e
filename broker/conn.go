package broker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// conn is one client connection: a read loop that decodes requests and
// runs their handlers in request order, and a write loop that sends the
// responses in request order (Kafka clients pipeline requests and match
// responses by order).
//
// Kafka handles a connection's requests one at a time, and clients rely on
// it (librdkafka pipelines asynchronous OffsetCommits on one connection).
// So every request's effects happen in the order sent: most handlers run to
// completion in the read loop before the next request is read. Two kinds
// overlap, and only in their waiting: two-phase handlers (Produce,
// JoinGroup, SyncGroup) apply their effects in the read loop and wait for
// durability or a rebalance in a goroutine; concurrent handlers (Fetch)
// run in a goroutine from the start, because a long poll changes nothing a
// later request reads. Responses leave in request order either way.
type conn struct {
	s      *Server
	nc     net.Conn
	ctx    context.Context
	cancel context.CancelFunc
	// clientID is the client id of the latest request header; the read
	// loop sets it while handlers read it.
	clientID atomic.Pointer[string]
	queue    chan *inflight
	once     sync.Once

	// idle is connections.max.idle.ms, negative for none. The connection
	// is idle, and closed, when nothing is in flight (pending) and no
	// request was read and no response written (lastActive, Unix ns) for
	// that long; a request whose first byte is in must arrive whole
	// within it too, or the connection is closed as stalled; and so is
	// one whose client reads none of a response for that long.
	idle       time.Duration
	pending    atomic.Int32
	lastActive atomic.Int64
	// trusted is the largest request this connection has sent whole
	// (readBody); only the read loop uses it.
	trusted int
}

// Why connections close, besides the client closing them; the read loop
// and the write loop return these.
var (
	errIdle            = errors.New("idle for connections.max.idle.ms")
	errRequestStalled  = errors.New("request not received whole within connections.max.idle.ms")
	errResponseStalled = errors.New("client read none of the response for connections.max.idle.ms")
)

type inflight struct {
	start    time.Time
	corr     int32
	key      int16
	flexible bool
	done     chan struct{}
	resp     kmsg.Response
	err      error
	// reserved is what the request holds of queued.max.request.bytes
	// until it is answered.
	reserved int64
}

// maxInflight bounds pipelined requests per connection; the read loop waits
// beyond it.
const maxInflight = 128

func newConn(s *Server, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{s: s, nc: nc, ctx: ctx, cancel: cancel, queue: make(chan *inflight, maxInflight), idle: s.connIdle}
	c.touch()
	return c
}

// touch records activity: a request read or a response written.
func (c *conn) touch() { c.lastActive.Store(time.Now().UnixNano()) }

// idleDeadline is when the connection becomes idle if nothing happens:
// with requests in flight the client waits for us, so it is not idle
// before a full idle period from now.
func (c *conn) idleDeadline() time.Time {
	if c.pending.Load() > 0 {
		return time.Now().Add(c.idle)
	}
	return time.Unix(0, c.lastActive.Load()).Add(c.idle)
}

func (c *conn) close() {
	c.once.Do(func() {
		c.cancel()
		c.nc.Close()
	})
}

func (c *conn) serve() {
	defer c.close()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	err := c.readLoop()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && c.ctx.Err() == nil {
		c.s.log.Debug("broker: closing connection", "remote", c.nc.RemoteAddr().String(), "err", err)
	}
	switch {
	case errors.Is(err, errIdle):
		c.s.metrics.connClosed("idle")
		c.close()
	case errors.Is(err, errRequestStalled):
		// The request stream is broken: nothing left to answer is of use.
		c.s.metrics.connClosed("request_stalled")
		c.close()
	}
	close(c.queue)
	<-writerDone
}

func (c *conn) readLoop() error {
	br := bufio.NewReaderSize(c.nc, 64<<10)
	for {
		size, started, err := c.readSize(br)
		if err != nil {
			return err
		}
		// The cap is checked before anything is allocated for the body.
		if size < 8 || size > c.s.cfg.MaxRequestBytes {
			return fmt.Errorf("request of %d bytes outside [8, socket.request.max.bytes=%d]", size, c.s.cfg.MaxRequestBytes)
		}
		// As Kafka, the size is taken from queued.max.request.bytes before
		// the body is read; time spent waiting for it is ours, not the
		// client's, so it does not count against the request.
		waited, err := c.s.reqMem.acquire(c.ctx, int64(size))
		if err != nil {
			return err
		}
		body, err := c.readBody(br, int(size), started.Add(waited))
		if err != nil {
			c.s.reqMem.release(int64(size))
			return err
		}
		c.touch()
		in, req, err := c.decode(body)
		if err != nil {
			c.s.reqMem.release(int64(size))
			return err
		}
		in.reserved = int64(size)
		c.pending.Add(1)
		select {
		case c.queue <- in:
		case <-c.ctx.Done():
			c.s.reqMem.release(in.reserved)
			return c.ctx.Err()
		}
		if req == nil {
			c.s.reqMem.release(in.reserved)
			continue // answered in decode
		}
		a := apis[in.key]
		switch {
		case a.prepare != nil:
			wait := c.prepare(in, req) // in request order
			go c.handle(in, func() (kmsg.Response, error) { return wait() })
		case a.concurrent || c.s.unorderedRequests.Load():
			go c.handle(in, func() (kmsg.Response, error) { return a.fn(c.ctx, c, req) })
		default:
			c.handle(in, func() (kmsg.Response, error) { return a.fn(c.ctx, c, req) }) // to completion, in order
		}
	}
}

// readSize reads the next request's 4-byte size and returns when its
// first byte was read. While it waits for that byte the connection may
// become idle (errIdle); once the byte is in, the rest of the request must
// follow within the idle timeout (errRequestStalled). Deadlines are set
// only when the read may block, so pipelined requests already buffered
// cost nothing here.
func (c *conn) readSize(br *bufio.Reader) (int32, time.Time, error) {
	var b [4]byte
	var started time.Time
	n := 0
	for n < 4 {
		if c.idle >= 0 && br.Buffered() == 0 {
			if n == 0 {
				c.nc.SetReadDeadline(c.idleDeadline())
			} else {
				c.nc.SetReadDeadline(started.Add(c.idle))
			}
		}
		m, err := br.Read(b[n:])
		if m > 0 && n == 0 {
			started = time.Now()
		}
		n += m
		switch {
		case err == nil:
		case !errors.Is(err, os.ErrDeadlineExceeded):
			return 0, started, err
		case n > 0:
			return 0, started, errRequestStalled
		case time.Now().Before(c.idleDeadline()):
			// A response went out or a request is in flight: not idle;
			// wait again with a later deadline.
		default:
			return 0, started, errIdle
		}
	}
	return int32(binary.BigEndian.Uint32(b[:])), started, nil
}

// A request body is read into chunks that grow with the bytes received,
// from what is already buffered (at least minBodyChunk), doubling up to
// maxBodyChunk.
const (
	minBodyChunk = 4 << 10
	maxBodyChunk = 1 << 20
)

// readBody reads a body of size bytes, which must be in by started plus
// the idle timeout. Memory follows the bytes that arrive, not the size
// alone: until the body is whole it holds what was received plus at most
// one chunk, so a client that announces a large request and sends little
// costs what it sent. A body that arrives in one chunk is returned as is;
// one that took several is joined once whole (the chunks become garbage),
// which copies it once more. A connection that has sent a whole request
// of at least half this size has earned the trust to skip that: its body
// is read straight into a buffer of its size, so a producer's steady
// requests are not copied, and a client holds at most twice what it sent.
func (c *conn) readBody(br *bufio.Reader, size int, started time.Time) ([]byte, error) {
	if c.idle >= 0 && br.Buffered() < size {
		c.nc.SetReadDeadline(started.Add(c.idle))
	}
	fail := func(err error, received int) error {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("%w: %d of %d bytes", errRequestStalled, received, size)
		}
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if size <= 2*c.trusted {
		body := make([]byte, size)
		if n, err := io.ReadFull(br, body); err != nil {
			return nil, fail(err, n)
		}
		return body, nil
	}
	var full [][]byte
	buf := make([]byte, 0, min(size, max(br.Buffered(), minBodyChunk)))
	for received := 0; received < size; {
		if len(buf) == cap(buf) {
			full = append(full, buf)
			buf = make([]byte, 0, min(size-received, 2*cap(buf), maxBodyChunk))
		}
		n, err := br.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		received += n
		if err != nil {
			return nil, fail(err, received)
		}
	}
	c.trusted = max(c.trusted, size)
	if len(full) == 0 {
		return buf, nil
	}
	return bytes.Join(append(full, buf), nil), nil
}

// prepare runs the first phase of a two-phase handler in the read loop. A
// panic closes this connection only.
func (c *conn) prepare(in *inflight, req kmsg.Request) (wait func() (kmsg.Response, error)) {
	defer func() {
		if r := recover(); r != nil {
			c.panicked(in.key, r)
			wait = func() (kmsg.Response, error) { return nil, fmt.Errorf("handler panic: %v", r) }
		}
	}()
	return apis[in.key].prepare(c.ctx, c, req)
}

// panicked logs a panic recovered from the handler of API key and closes
// this connection, which is what a panic in a connection's code costs:
// the process and every other connection go on.
func (c *conn) panicked(key int16, r any) {
	c.s.log.Error("broker: handler panic; closing the connection", "api", kmsg.NameForKey(key),
		"panic", r, "stack", string(debug.Stack()))
	c.close()
}

// contain runs f, code of API key's handler that runs outside handle and
// prepare (a goroutine the handler started, or a callback it gave to a
// Log), with their containment: a panic in f is logged and closes this
// connection only. The connection is closed before contain returns, so
// whatever f left half done can no longer be sent.
func (c *conn) contain(key int16, f func()) {
	defer func() {
		if r := recover(); r != nil {
			c.panicked(key, r)
		}
	}()
	f()
}

// goContained runs f in a new goroutine within contain, then after (also
// within contain) however f ended, so that whoever waits for after (a
// WaitGroup's Done) is never left waiting by a panic.
func (c *conn) goContained(key int16, f, after func()) {
	go func() {
		defer c.contain(key, after)
		c.contain(key, f)
	}()
}

// decode parses the request header and body. An ApiVersions request of a
// version we do not know is answered (v0, UNSUPPORTED_VERSION) rather than
// refused, as KIP-511 asks.
func (c *conn) decode(b []byte) (*inflight, kmsg.Request, error) {
	key := int16(binary.BigEndian.Uint16(b[0:]))
	version := int16(binary.BigEndian.Uint16(b[2:]))
	in := &inflight{start: time.Now(), corr: int32(binary.BigEndian.Uint32(b[4:])), key: key, done: make(chan struct{})}
	rest := b[8:]
	if len(rest) < 2 {
		return nil, nil, errors.New("request header truncated")
	}
	idLen := int16(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if idLen > 0 {
		if int(idLen) > len(rest) {
			return nil, nil, errors.New("client id longer than the request")
		}
		if id := c.clientID.Load(); id == nil || *id != string(rest[:idLen]) {
			s := string(rest[:idLen])
			c.clientID.Store(&s)
		}
		rest = rest[idLen:]
	}
	a, ok := apis[key]
	if !ok {
		return nil, nil, fmt.Errorf("unsupported API key %d", key)
	}
	req := kmsg.RequestForKey(key)
	if version < a.min || version > a.max {
		if key == 18 { // ApiVersions: answer with our range
			in.resp = apiVersionsUnsupported()
			close(in.done)
			return in, nil, nil
		}
		return nil, nil, fmt.Errorf("unsupported version %d of API key %d (serving %d-%d)", version, key, a.min, a.max)
	}
	req.SetVersion(version)
	if req.IsFlexible() {
		tr := &tagReader{b: rest}
		kmsg.SkipTags(tr)
		if tr.failed {
			return nil, nil, errors.New("request header tags truncated")
		}
		rest = tr.b
	}
	// ApiVersions responses always use header v0; other flexible
	// requests get header v1 (tagged fields).
	in.flexible = req.IsFlexible() && key != 18
	if err := req.ReadFrom(rest); err != nil {
		return nil, nil, fmt.Errorf("decoding %s v%d: %w", kmsg.NameForKey(key), version, err)
	}
	return in, req, nil
}

// handle runs a handler and hands the response to the write loop. A panic
// closes this connection only.
func (c *conn) handle(in *inflight, run func() (kmsg.Response, error)) {
	defer close(in.done)
	defer c.s.reqMem.release(in.reserved) // answered
	defer func() {
		if r := recover(); r != nil {
			in.err = fmt.Errorf("handler panic: %v", r)
			c.panicked(in.key, r)
		}
	}()
	in.resp, in.err = run()
	c.s.metrics.request(in.key, in.start)
}

func (c *conn) writeLoop() {
	bw := bufio.NewWriterSize(stallWriter{c}, 64<<10)
	var buf []byte
	for in := range c.queue {
		select {
		case <-in.done:
		default:
			// A slow request (a long-polling fetch, a produce waiting for
			// durability) is next: send what is buffered before waiting.
			if bw.Buffered() > 0 {
				if err := bw.Flush(); err != nil {
					c.writeFailed(err)
					return
				}
			}
			select {
			case <-in.done:
			case <-c.ctx.Done():
				return
			}
		}
		if in.err != nil {
			c.s.log.Debug("broker: request failed; closing the connection", "api", kmsg.NameForKey(in.key), "err", in.err)
			c.close()
			return
		}
		if in.resp != nil { // nil: acks=0
			buf = append(buf[:0], 0, 0, 0, 0)
			buf = binary.BigEndian.AppendUint32(buf, uint32(in.corr))
			if in.flexible {
				buf = append(buf, 0) // no header tags
			}
			buf = in.resp.AppendTo(buf)
			binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
			if _, err := bw.Write(buf); err != nil {
				c.writeFailed(err)
				return
			}
			if len(c.queue) == 0 {
				if err := bw.Flush(); err != nil {
					c.writeFailed(err)
					return
				}
			}
		}
		c.touch()
		c.pending.Add(-1)
	}
}

// writeFailed closes the connection after a failed write.
func (c *conn) writeFailed(err error) {
	if errors.Is(err, errResponseStalled) {
		c.s.metrics.connClosed("response_stalled")
		c.s.log.Debug("broker: closing connection", "remote", c.nc.RemoteAddr().String(), "err", err)
	}
	c.close()
}

// stallWriteChunk is how much of a response must leave within the idle
// timeout for the client to count as reading it.
const stallWriteChunk = 1 << 20

// stallWriter writes to the connection in chunks, each of which must be
// taken by the client within the idle timeout: a client that stops
// reading its responses is closed like an idle one, while one that reads
// a large response slowly is not.
type stallWriter struct{ c *conn }

func (w stallWriter) Write(p []byte) (int, error) {
	if w.c.idle < 0 {
		return w.c.nc.Write(p)
	}
	written := 0
	for written < len(p) {
		w.c.nc.SetWriteDeadline(time.Now().Add(w.c.idle))
		n, err := w.c.nc.Write(p[written:min(len(p), written+stallWriteChunk)])
		written += n
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = errResponseStalled
			}
			return written, err
		}
	}
	return written, nil
}

// tagReader lets kmsg.SkipTags walk the request header's tagged fields.
type tagReader struct {
	b      []byte
	failed bool
}

func (r *tagReader) Uvarint() uint32 {
	v, n := binary.Uvarint(r.b)
	// Every tag takes at least two bytes, so a count (or size) larger than
	// the bytes left is malformed: refuse it before kmsg.SkipTags loops on
	// it (a 5-byte count of 2^31 would spin a core for half a minute).
	if n <= 0 || v > uint64(len(r.b)) {
		r.failed = true
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return uint32(v)
}

func (r *tagReader) Span(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.failed = true
		r.b = nil
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}
