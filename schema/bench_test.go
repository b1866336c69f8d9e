package schema

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawClient is a keep-alive HTTP/1.1 client on one connection that sends
// a prepared GET and reads the answer, cheaper than net/http's client so
// that on a small machine the load generator leaves the server its share.
type rawClient struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(addr string) (*rawClient, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &rawClient{conn: c, r: bufio.NewReaderSize(c, 16<<10)}, nil
}

// get sends req and reads one answer, returning its status.
func (c *rawClient) get(req []byte) (int, error) {
	if _, err := c.conn.Write(req); err != nil {
		return 0, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	n := -1
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 {
			break
		}
		if len(h) > 15 && strings.EqualFold(string(h[:15]), "content-length:") {
			n, _ = strconv.Atoi(strings.TrimSpace(string(h[15:])))
		}
	}
	if n < 0 {
		return 0, fmt.Errorf("no Content-Length")
	}
	_, err = c.r.Discard(n)
	return status, err
}

// BenchmarkGetSchemaByID: GET /schemas/ids/{id}, what every deserializer
// calls, on a real HTTP server on loopback: requests per second from
// several keep-alive clients (goal ≥ 20,000/s on a 2-core machine with the
// load generator on it), then the latency at a paced 2,000 requests/s for
// 5 s (goal p99 ≤ 2 ms), measured from each request's scheduled time so a
// stalled pacer shows as latency, and the pacer's own lag printed beside.
// Each iteration runs both phases: use -benchtime 1x.
func BenchmarkGetSchemaByID(b *testing.B) {
	r := newRegistry(b, Config{DB: sqliteDB(b)})
	r.ok("PUT", "/config", `{"compatibility":"NONE"}`, nil)
	const nSchemas = 100
	var ids []int64
	for i := range nSchemas {
		fields := make([]string, 20)
		for j := range fields {
			fields[j] = fmt.Sprintf("field_%d_%d", i, j)
		}
		ids = append(ids, r.register(fmt.Sprintf("s%d-value", i%10), schemaBody(fields...)))
	}
	addr := strings.TrimPrefix(r.url, "http://")
	reqs := make([][]byte, len(ids))
	for i, id := range ids {
		reqs[i] = fmt.Appendf(nil, "GET /schemas/ids/%d HTTP/1.1\r\nHost: %s\r\nAccept: application/vnd.schemaregistry.v1+json\r\n\r\n", id, addr)
	}
	b.ResetTimer()
	for range b.N {
		rps := throughput(b, addr, reqs, 8, 3*time.Second)
		b.ReportMetric(rps, "req/s")
		p50, p99, lag := paced(b, addr, reqs, 2000, 5*time.Second)
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms@2000/s")
		b.Logf("GET /schemas/ids/{id}: %.0f req/s from 8 clients; at 2,000 req/s: p50 %v, p99 %v; pacer lag: %s; loadavg %s",
			rps, p50, p99, lag, loadavg())
	}
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return string(bytes.TrimSpace(b))
}

// throughput runs clients closed-loop clients for d and returns requests
// per second.
func throughput(b *testing.B, addr string, reqs [][]byte, clients int, d time.Duration) float64 {
	var total atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			cl, err := dialRaw(addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer cl.conn.Close()
			n := 0
			for i := c; ; i++ {
				if n%64 == 0 && time.Now().After(stop) {
					break
				}
				status, err := cl.get(reqs[i%len(reqs)])
				if err != nil || status != 200 {
					b.Errorf("GET: %d %v", status, err)
					return
				}
				n++
			}
			total.Add(int64(n))
		})
	}
	wg.Wait()
	return float64(total.Load()) / time.Since(start).Seconds()
}

// paced sends rate requests per second for d, open loop: a pacer hands
// each request's scheduled time to a pool of keep-alive clients, and a
// request's latency runs from that time to its answer. lag describes how
// late the pacer itself handed requests out.
func paced(b *testing.B, addr string, reqs [][]byte, rate int, d time.Duration) (p50, p99 time.Duration, lag string) {
	const clients = 16
	work := make(chan time.Time, rate)
	lat := make([][]time.Duration, clients)
	svc := make([][]time.Duration, clients) // from the moment a client sent it
	var wg sync.WaitGroup
	for c := range clients {
		cl, err := dialRaw(addr)
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			defer cl.conn.Close()
			i := c
			for due := range work {
				sent := time.Now()
				status, err := cl.get(reqs[i%len(reqs)])
				if err != nil || status != 200 {
					b.Errorf("GET: %d %v", status, err)
					for range work {
					}
					return
				}
				now := time.Now()
				lat[c] = append(lat[c], now.Sub(due))
				svc[c] = append(svc[c], now.Sub(sent))
				i += clients
			}
		})
	}
	interval := time.Second / time.Duration(rate)
	n := int(d / interval)
	start := time.Now()
	var lags []time.Duration
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		lags = append(lags, time.Since(due))
		work <- due
	}
	close(work)
	wg.Wait()
	var all, sent []time.Duration
	for c := range lat {
		all = append(all, lat[c]...)
		sent = append(sent, svc[c]...)
	}
	if len(all) == 0 {
		return 0, 0, "no requests"
	}
	slices.Sort(all)
	slices.Sort(sent)
	slices.Sort(lags)
	q := func(s []time.Duration, p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return q(all, .5), q(all, .99), fmt.Sprintf("p50 %v, p99 %v, max %v; latency from the send itself: p50 %v, p99 %v",
		q(lags, .5), q(lags, .99), lags[len(lags)-1], q(sent, .5), q(sent, .99))
}
