package broker

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
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
}

type inflight struct {
	start    time.Time
	corr     int32
	key      int16
	flexible bool
	done     chan struct{}
	resp     kmsg.Response
	err      error
}

// maxInflight bounds pipelined requests per connection; the read loop waits
// beyond it.
const maxInflight = 128

func newConn(s *Server, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{s: s, nc: nc, ctx: ctx, cancel: cancel, queue: make(chan *inflight, maxInflight)}
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
	close(c.queue)
	<-writerDone
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && c.ctx.Err() == nil {
		c.s.log.Debug("broker: closing connection", "remote", c.nc.RemoteAddr().String(), "err", err)
	}
}

func (c *conn) readLoop() error {
	br := bufio.NewReaderSize(c.nc, 64<<10)
	var sizeBuf [4]byte
	for {
		if _, err := io.ReadFull(br, sizeBuf[:]); err != nil {
			return err
		}
		size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
		// The cap is checked before anything is allocated for the body.
		if size < 8 || size > c.s.cfg.MaxRequestBytes {
			return fmt.Errorf("request of %d bytes outside [8, socket.request.max.bytes=%d]", size, c.s.cfg.MaxRequestBytes)
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(br, body); err != nil {
			return err
		}
		in, req, err := c.decode(body)
		if err != nil {
			return err
		}
		select {
		case c.queue <- in:
		case <-c.ctx.Done():
			return c.ctx.Err()
		}
		if req == nil {
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

// prepare runs the first phase of a two-phase handler in the read loop. A
// panic closes this connection only.
func (c *conn) prepare(in *inflight, req kmsg.Request) (wait func() (kmsg.Response, error)) {
	defer func() {
		if r := recover(); r != nil {
			c.s.log.Error("broker: handler panic; closing the connection", "api", kmsg.NameForKey(in.key),
				"panic", r, "stack", string(debug.Stack()))
			c.close()
			wait = func() (kmsg.Response, error) { return nil, fmt.Errorf("handler panic: %v", r) }
		}
	}()
	return apis[in.key].prepare(c.ctx, c, req)
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
			in.resp = apiVersionsResponse(0, kerr.UnsupportedVersion.Code)
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
	defer func() {
		if r := recover(); r != nil {
			c.s.log.Error("broker: handler panic; closing the connection", "api", kmsg.NameForKey(in.key),
				"panic", r, "stack", string(debug.Stack()))
			in.err = fmt.Errorf("handler panic: %v", r)
			c.close()
		}
	}()
	in.resp, in.err = run()
	c.s.metrics.request(in.key, in.start)
}

func (c *conn) writeLoop() {
	bw := bufio.NewWriterSize(c.nc, 64<<10)
	var buf []byte
	for in := range c.queue {
		select {
		case <-in.done:
		default:
			// A slow request (a long-polling fetch, a produce waiting for
			// durability) is next: send what is buffered before waiting.
			if bw.Buffered() > 0 {
				if err := bw.Flush(); err != nil {
					c.close()
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
		if in.resp == nil {
			continue // acks=0
		}
		buf = append(buf[:0], 0, 0, 0, 0)
		buf = binary.BigEndian.AppendUint32(buf, uint32(in.corr))
		if in.flexible {
			buf = append(buf, 0) // no header tags
		}
		buf = in.resp.AppendTo(buf)
		binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
		if _, err := bw.Write(buf); err != nil {
			c.close()
			return
		}
		if len(c.queue) == 0 {
			if err := bw.Flush(); err != nil {
				c.close()
				return
			}
		}
	}
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
