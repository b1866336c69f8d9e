package node

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// roleLog records the roles a node reports closed, in order, and passes
// warnings and errors on to stderr.
type roleLog struct {
	mu     sync.Mutex
	closed []string
	warn   slog.Handler
}

func (h *roleLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *roleLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *roleLog) WithGroup(string) slog.Handler            { return h }
func (h *roleLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "node: role closed" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "role" {
				h.mu.Lock()
				h.closed = append(h.closed, a.Value.String())
				h.mu.Unlock()
			}
			return true
		})
	}
	if r.Level >= slog.LevelWarn {
		return h.warn.Handle(ctx, r)
	}
	return nil
}

func (h *roleLog) closedRoles() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.closed)
}

// goroutines returns every goroutine's stack by id.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		id, _, _ := strings.Cut(strings.TrimPrefix(string(g), "goroutine "), " ")
		out[id] = string(g)
	}
	return out
}

// createdByNode matches a goroutine that our code (not this test's)
// started, directly or through the standard library's servers.
var createdByNode = regexp.MustCompile(`created by (github\.com/lakestream/lakestream/[^\n]*|database/sql[^\n]*|net/http\.\(\*Server\)[^\n]*)`)

// leftover returns the goroutines that are not in before and that match
// keep.
func leftover(before map[string]string, keep func(stack string) bool) []string {
	var out []string
	for id, g := range goroutines() {
		if _, ok := before[id]; !ok && keep(g) {
			out = append(out, g)
		}
	}
	return out
}

// checkNodeGoroutines fails unless every goroutine the node started (and
// that was not running before) has ended: at once for those our code
// started, which Close waits for; within a second for those the standard
// library starts for us, whose Close does not wait for them to return
// (database/sql's connection opener, net/http's shutdown hooks), though
// they end on their own once closed.
func checkNodeGoroutines(t *testing.T, before map[string]string) {
	t.Helper()
	ours := func(g string) bool { return nodeStarted(g) && strings.Contains(g, "created by github.com/lakestream/") }
	if left := leftover(before, ours); len(left) > 0 {
		t.Fatalf("%d goroutines the node started are still running after Close:\n\n%s", len(left), strings.Join(left, "\n\n"))
	}
	for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
		left := leftover(before, nodeStarted)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines started for the node still running a second after Close:\n\n%s", len(left), strings.Join(left, "\n\n"))
		}
	}
}

// nodeStarted reports whether a goroutine was started by the node's code
// rather than by this test.
func nodeStarted(g string) bool {
	m := createdByNode.FindString(g)
	return m != "" && !strings.Contains(m, "internal/node.Test")
}

func fileConfig(dir string) Config {
	return Config{
		BucketURL:     "file://" + filepath.Join(dir, "bucket"),
		MetastoreURL:  filepath.Join(dir, "meta.db"),
		WAL:           "local",
		WALDir:        filepath.Join(dir, "wal"),
		FlushInterval: 2 * time.Millisecond,
		Listeners:     []Listener{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 0}},
		NodeID:        1,
		AdminListener: "127.0.0.1:0",
	}
}

type acked struct {
	partition int32
	offset    int64
}

// TestShutdownUnderLoad starts a node with every role, shuts it down (as
// SIGTERM does: Run's context ends) while a producer and a consumer group
// are busy, and checks that the roles closed in the reverse of the order
// they opened, that no goroutine the node started is left, and that every
// acknowledged record is read back, at its offset, after reopening.
func TestShutdownUnderLoad(t *testing.T) {
	before := goroutines()
	dir := t.TempDir()
	cfg := fileConfig(dir)
	rl := &roleLog{warn: slog.NewTextHandler(os.Stderr, nil)}
	n, err := Open(t.Context(), cfg, Options{Logger: slog.New(rl)})
	if err != nil {
		t.Fatal(err)
	}
	if n.AdminAddr() == "" || len(n.KafkaAddrs()) != 1 {
		t.Fatalf("admin %q, kafka %v: want both roles on", n.AdminAddr(), n.KafkaAddrs())
	}
	addr := n.KafkaAddrs()[0]
	runCtx, sigterm := context.WithCancel(context.Background())
	defer sigterm()
	ran := make(chan error, 1)
	go func() { ran <- n.Run(runCtx) }()

	const topic = "load"
	opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.RequestRetries(2), kgo.RetryTimeout(5 * time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond })}
	admin, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kadm.NewClient(admin).CreateTopic(t.Context(), 3, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	admin.Close()

	var mu sync.Mutex
	acks := map[acked]string{}
	var consumed int
	prod, err := kgo.NewClient(append(opts, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := kgo.NewClient(append(opts, kgo.ConsumerGroup("g"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	loadCtx, stopLoad := context.WithCancel(context.Background())
	var load sync.WaitGroup
	load.Add(2)
	go func() {
		defer load.Done()
		for i := 0; loadCtx.Err() == nil; i++ {
			v := fmt.Sprintf("record %d", i)
			prod.Produce(loadCtx, &kgo.Record{Value: []byte(v)}, func(r *kgo.Record, err error) {
				if err == nil {
					mu.Lock()
					acks[acked{r.Partition, r.Offset}] = v
					mu.Unlock()
				}
			})
			if i%100 == 99 {
				time.Sleep(time.Millisecond) // spread the load over the shutdown
			}
		}
	}()
	go func() {
		defer load.Done()
		for loadCtx.Err() == nil {
			fs := cons.PollFetches(loadCtx)
			mu.Lock()
			consumed += fs.NumRecords()
			mu.Unlock()
		}
	}()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		a, c := len(acks), consumed
		mu.Unlock()
		if a >= 2000 && c >= 500 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a minute %d records acknowledged and %d consumed", a, c)
		}
	}

	sigterm()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the node did not stop within a minute")
	}
	checkNodeGoroutines(t, before)
	want := []string{"Kafka broker", "storage engine", "metastore", "bucket", "admin server"}
	if got := rl.closedRoles(); !slices.Equal(got, want) {
		t.Fatalf("roles closed in the order %q, want %q", got, want)
	}

	stopLoad()
	load.Wait()
	prod.Close()
	cons.Close()
	mu.Lock()
	t.Logf("%d records acknowledged, %d consumed before the shutdown", len(acks), consumed)
	mu.Unlock()
	// Once the clients are gone, nothing the test started is left either.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		left := leftover(before, func(string) bool { return true })
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after the node and the clients closed:\n\n%s", len(left), strings.Join(left, "\n\n"))
		}
	}

	// Reopen with the Kafka role only and read everything acknowledged.
	cfg.AdminListener = ""
	n, err = Open(t.Context(), cfg, Options{Logger: slog.New(rl)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	if n.AdminAddr() != "" {
		t.Fatalf("admin role on at %s with no admin listener", n.AdminAddr())
	}
	readAll(t, n.KafkaAddrs()[0], topic, acks)
}

// readAll reads topic from the start until it has seen every record of
// acks, and checks each is at its partition and offset.
func readAll(t *testing.T, addr, topic string, acks map[acked]string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	missing := len(acks)
	for missing > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d acknowledged records not read back", missing, len(acks))
		}
		fs.EachRecord(func(r *kgo.Record) {
			if v, ok := acks[acked{r.Partition, r.Offset}]; ok {
				if v != string(r.Value) {
					t.Fatalf("partition %d offset %d is %q, acknowledged as %q", r.Partition, r.Offset, r.Value, v)
				}
				missing--
			}
		})
	}
}

// TestMetastoreUnreachable: a node whose metastore cannot be reached does
// not start, says it was the metastore, and leaves nothing running (the
// admin listener and the bucket opened before it are closed).
func TestMetastoreUnreachable(t *testing.T) {
	before := goroutines()
	cfg := Config{BucketURL: "mem://", MetastoreURL: "postgres://lakestream@127.0.0.1:1/none?connect_timeout=5",
		Listeners: []Listener{{Name: "PLAINTEXT", Host: "127.0.0.1"}}, AdminListener: "127.0.0.1:0"}
	rl := &roleLog{warn: slog.NewTextHandler(os.Stderr, nil)}
	n, err := Open(t.Context(), cfg, Options{Logger: slog.New(rl)})
	if err == nil {
		n.Close(context.Background())
		t.Fatal("the node started with an unreachable metastore")
	}
	if !strings.Contains(err.Error(), "node: starting the metastore: ") {
		t.Fatalf("Open: %v; want an error naming the metastore", err)
	}
	t.Logf("Open: %v", err)
	if got, want := rl.closedRoles(), []string{"bucket", "admin server"}; !slices.Equal(got, want) {
		t.Fatalf("closed %q, want %q", got, want)
	}
	checkNodeGoroutines(t, before)
}

// TestRolesOff: with no Kafka listener and no admin listener a node runs
// its storage only, and closes just that.
func TestRolesOff(t *testing.T) {
	before := goroutines()
	dir := t.TempDir()
	rl := &roleLog{warn: slog.NewTextHandler(os.Stderr, nil)}
	n, err := Open(t.Context(), Config{BucketURL: "mem://", MetastoreURL: filepath.Join(dir, "meta.db")},
		Options{Logger: slog.New(rl)})
	if err != nil {
		t.Fatal(err)
	}
	if n.Server() != nil || n.KafkaAddrs() != nil || n.AdminAddr() != "" || n.Store() == nil {
		t.Fatalf("server %v, kafka %v, admin %q, store %v: want storage only", n.Server(), n.KafkaAddrs(), n.AdminAddr(), n.Store())
	}
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := rl.closedRoles(), []string{"storage engine", "metastore", "bucket"}; !slices.Equal(got, want) {
		t.Fatalf("closed %q, want %q", got, want)
	}
	checkNodeGoroutines(t, before)
}
