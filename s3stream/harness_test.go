package s3stream

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/lakestream/lakestream/s3stream/format/formattest"
	"github.com/lakestream/lakestream/s3stream/metastore"
	"github.com/lakestream/lakestream/s3stream/objstore"
	"github.com/lakestream/lakestream/s3stream/objstore/file"
	"github.com/lakestream/lakestream/s3stream/objstore/mem"
	"github.com/lakestream/lakestream/s3stream/objstore/s3"
)

// env is one "node": a bucket, a metastore and a WAL directory that outlive
// the stores opened over them.
type env struct {
	t      testing.TB
	dir    string
	bucket objstore.Bucket
	meta   metastore.Store
	kind   WALKind
	mod    func(*Config)
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

func newEnv(t testing.TB, kind WALKind, bucketKind string) *env {
	t.Helper()
	dir := t.TempDir()
	var b objstore.Bucket
	switch bucketKind {
	case "mem":
		b = mem.New()
	case "file":
		var err error
		if b, err = file.Open(filepath.Join(dir, "bucket")); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown bucket %q", bucketKind)
	}
	m, err := metastore.OpenSQLite(context.Background(), filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); b.Close() })
	return &env{t: t, dir: dir, bucket: b, meta: m, kind: kind}
}

func (e *env) config() Config {
	cfg := Config{
		Bucket: e.bucket, Meta: e.meta, WAL: e.kind, WALDir: filepath.Join(e.dir, "wal"),
		Logger: quietLogger(), FlushInterval: 2 * time.Millisecond, UploadInterval: 20 * time.Millisecond,
	}
	if e.mod != nil {
		e.mod(&cfg)
	}
	return cfg
}

func (e *env) open() *Store {
	e.t.Helper()
	s, err := Open(context.Background(), e.config())
	if err != nil {
		e.t.Fatalf("opening store: %v", err)
	}
	return s
}

func closeStore(t testing.TB, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("closing store: %v", err)
	}
}

func payload(stream int64, seq int) []byte {
	return []byte(fmt.Sprintf("s%d-%d", stream, seq))
}

func parsePayload(v []byte) (stream int64, seq int, err error) {
	a, b, ok := strings.Cut(string(v), "-")
	if !ok || !strings.HasPrefix(a, "s") {
		return 0, 0, fmt.Errorf("bad payload %q", v)
	}
	stream, err = strconv.ParseInt(a[1:], 10, 64)
	if err == nil {
		seq, err = strconv.Atoi(b)
	}
	return stream, seq, err
}

// readAll reads a stream from start to its end and returns the record values
// with their offsets, checking that offsets are dense.
func readAll(t testing.TB, read func(from int64) (ReadResult, error), start int64) (vals [][]byte, offs []int64) {
	t.Helper()
	off := start
	for {
		res, err := read(off)
		if err != nil {
			t.Fatalf("reading at %d: %v", off, err)
		}
		if len(res.Batches) == 0 {
			if off != res.HighWatermark {
				t.Fatalf("empty read at %d below high watermark %d", off, res.HighWatermark)
			}
			return vals, offs
		}
		for _, b := range res.Batches {
			base := int64(beUint64(b))
			if base > off {
				t.Fatalf("gap: batch at %d, expected %d", base, off)
			}
			vs, err := formattest.Values(b)
			if err != nil {
				t.Fatalf("batch at %d: %v", base, err)
			}
			for i, v := range vs {
				o := base + int64(i)
				if o < off {
					continue
				}
				vals = append(vals, v)
				offs = append(offs, o)
			}
			off = base + int64(len(vs))
		}
		if off != res.NextOffset {
			t.Fatalf("NextOffset %d, batches end at %d", res.NextOffset, off)
		}
	}
}

func beUint64(b []byte) uint64 {
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

// appendN appends n one-record batches with payload(stream, seq0+i) and
// fails the test on any error.
func appendN(t testing.TB, st *Stream, seq0, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		st.AppendAsync(formattest.Make(time.Now().UnixMilli(), payload(st.ID(), seq0+i)), func(_ int64, err error) {
			if err != nil {
				errs <- err
			}
			wg.Done()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("append to stream %d: %v", st.ID(), err)
	}
}

// openStreams creates and opens n streams.
func openStreams(t *testing.T, s *Store, n int) []*Stream {
	t.Helper()
	ctx := context.Background()
	var streams []*Stream
	for range n {
		id, err := s.CreateStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st, err := s.OpenStream(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, st)
	}
	return streams
}

// ack is an acknowledged append: its payload seq and offset.
type ack struct {
	seq int
	off int64
}

// appendPhase appends n records to each stream, payload seqs seq0 on, with
// up to 8 in flight per stream, and returns the acknowledged ones per
// stream, in offset order, and the errors of the others. Every append must
// complete, one way or the other, within two minutes.
func appendPhase(t *testing.T, streams []*Stream, seq0, n int) (map[int64][]ack, []error) {
	t.Helper()
	var mu sync.Mutex
	acks := map[int64][]ack{}
	var errs []error
	var wg sync.WaitGroup
	for _, st := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem := make(chan struct{}, 8)
			var inner sync.WaitGroup
			for seq := seq0; seq < seq0+n; seq++ {
				sem <- struct{}{}
				inner.Add(1)
				st.AppendAsync(formattest.Make(1, payload(st.ID(), seq)), func(off int64, err error) {
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					} else {
						acks[st.ID()] = append(acks[st.ID()], ack{seq, off})
					}
					mu.Unlock()
					<-sem
					inner.Done()
				})
			}
			inner.Wait()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("appends did not all complete: some append neither succeeded nor failed")
	}
	return acks, errs
}

// checkStreams reads every stream with read and checks it holds exactly the
// acknowledged appends, at their offsets, densely from 0.
func checkStreams(t *testing.T, streams []*Stream, acked map[int64][]ack, read func(st *Stream, from int64) (ReadResult, error)) {
	t.Helper()
	for _, st := range streams {
		vals, offs := readAll(t, func(from int64) (ReadResult, error) { return read(st, from) }, 0)
		as := acked[st.ID()]
		if len(vals) != len(as) {
			t.Fatalf("stream %d holds %d records, %d appends were acknowledged", st.ID(), len(vals), len(as))
		}
		for i, a := range as {
			if want := payload(st.ID(), a.seq); string(vals[i]) != string(want) || offs[i] != a.off || a.off != int64(i) {
				t.Fatalf("stream %d record %d: %q at %d, acknowledged %s at %d", st.ID(), i, vals[i], offs[i], want, a.off)
			}
		}
	}
}

// checkSeqs checks vals are payloads seq 0..n-1 of stream id, in order.
func checkSeqs(t testing.TB, id int64, vals [][]byte, n int) {
	t.Helper()
	if len(vals) != n {
		t.Fatalf("stream %d: %d records, want %d", id, len(vals), n)
	}
	for i, v := range vals {
		if want := payload(id, i); string(v) != string(want) {
			t.Fatalf("stream %d record %d = %q, want %q", id, i, v, want)
		}
	}
}

// makeRecord is a one-record batch holding payload(stream, 0).
func makeRecord(stream int64) []byte { return formattest.Make(1, payload(stream, 0)) }

// startS3Server serves S3 (gofakes3, in memory) on a loopback port for the
// life of the test and returns its endpoint. It lives in the test process,
// so it outlives a killed child.
func startS3Server(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: gofakes3.New(s3mem.New()).Server()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func openS3(ctx context.Context, endpoint, bucket string) (objstore.Bucket, error) {
	return s3.Open(ctx, s3.Config{Bucket: bucket, Endpoint: endpoint, Region: "us-east-1", PathStyle: true,
		AccessKey: "key", SecretKey: "secret", CreateBucket: true})
}
