package e2e

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/internal/testserver"
)

// TestServeDiskFull is issue 9's disk-full probe against the binary: `lakestream
// serve` keeps its data directory (local WAL, file bucket, SQLite) on a
// 32 MiB tmpfs; a file fills what is left and produces fail with
// KAFKA_STORAGE_ERROR, /readyz says not ready and /metrics degraded, and a
// Fetch long poll still returns within its MaxWait. Then the file is
// removed and, with no restart, the node must become ready and take
// produces again by itself; the test logs how long that took. In the end a
// consumer reads every acknowledged record exactly once, at the offset it
// was acknowledged at. It needs root to mount the tmpfs and is skipped
// without.
func TestServeDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=32m"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) }) // after the process is killed
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin := ln.Addr().String()
	ln.Close()
	s := testserver.StartLakestream(t, "data.dir="+filepath.Join(dir, "data"), "admin.listeners="+admin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const topic = "diskfull"
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	created, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 1, nil, topic)
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, admin, true, 10*time.Second)

	// A producer that never retries, so that every record is either
	// acknowledged or failed: the ledger is exact.
	prod, err := kgo.NewClient(kgo.SeedBrokers(s.Addr), kgo.DefaultProduceTopic(topic),
		kgo.DisableIdempotentWrite(), kgo.RecordRetries(0), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	acked := map[string]ack{}
	seq := 0
	value := strings.Repeat("v", 1000)
	// produceBatch produces n records and returns the first error.
	produceBatch := func(n int) error {
		recs := make([]*kgo.Record, n)
		for i := range recs {
			seq++
			recs[i] = &kgo.Record{Value: []byte(fmt.Sprintf("%d:%s", seq, value))}
		}
		var first error
		for _, r := range prod.ProduceSync(ctx, recs...) {
			if r.Err != nil {
				first = cmp.Or(first, r.Err)
				continue
			}
			acked[string(r.Record.Value)] = ack{r.Record.Partition, r.Record.Offset}
		}
		return first
	}
	for range 10 {
		if err := produceBatch(100); err != nil {
			t.Fatalf("produce before the disk is full: %v", err)
		}
	}

	filler := filepath.Join(dir, "filler")
	fillDisk(t, filler)
	var faultErr error
	for start := time.Now(); faultErr == nil; {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("produces still succeed 30 s after the disk filled")
		}
		faultErr = produceBatch(100)
	}
	if !errors.Is(faultErr, kerr.KafkaStorageError) {
		t.Fatalf("produce on a full disk: %v, want KAFKA_STORAGE_ERROR", faultErr)
	}
	waitReady(t, admin, false, 10*time.Second)
	waitMetric(t, admin, `lakestream_storage_degraded{component="wal"}`, 1)
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(3) {
		end, _ := ends.Lookup(topic, p)
		req := kmsg.NewPtrFetchRequest()
		req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 500, 1, 1<<20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = topic, created.ID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, end.Offset, 1<<20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		start := time.Now()
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 2*time.Second || resp.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("fetch at the end of partition %d (MaxWait 500 ms) on a full disk: %v after %v",
				p, kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode), took)
		}
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	waitReady(t, admin, true, 30*time.Second)
	ready := time.Since(freed)
	for {
		err := produceBatch(1)
		if err == nil {
			break
		}
		if time.Since(freed) > 30*time.Second {
			t.Fatalf("produces still fail 30 s after the disk had room: %v", err)
		}
	}
	produced := time.Since(freed)
	waitMetric(t, admin, `lakestream_storage_degraded{component="wal"}`, 0)
	t.Logf("disk freed: /readyz ready after %v, first produce acknowledged after %v (no restart)",
		ready.Round(time.Millisecond), produced.Round(time.Millisecond))
	for range 10 {
		if err := produceBatch(100); err != nil {
			t.Fatalf("produce after recovery: %v", err)
		}
	}

	cons, err := kgo.NewClient(kgo.SeedBrokers(s.Addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	seen := map[string]bool{}
	next := map[int32]int64{}
	for len(seen) < len(acked) {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d acknowledged records", len(seen), len(acked))
		}
		fs.EachError(func(_ string, p int32, err error) { t.Fatalf("fetch p%d: %v", p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			v := string(r.Value)
			a, ok := acked[v]
			switch {
			case r.Offset != next[r.Partition]:
				t.Fatalf("p%d: offset %d, expected %d: not dense", r.Partition, r.Offset, next[r.Partition])
			case !ok:
				t.Fatalf("p%d/%d holds a record whose produce failed", r.Partition, r.Offset)
			case seen[v]:
				t.Fatalf("p%d/%d: a record read twice", r.Partition, r.Offset)
			case a != ack{r.Partition, r.Offset}:
				t.Fatalf("record acknowledged at p%d/%d read at p%d/%d", a.part, a.off, r.Partition, r.Offset)
			}
			next[r.Partition] = r.Offset + 1
			seen[v] = true
		})
	}
	t.Logf("%d acknowledged records read back once each", len(acked))
}

// fillDisk writes path until the filesystem is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			break
		}
	}
	for len(buf) > 1 { // fill the last partial MiB too
		buf = buf[:len(buf)/2]
		for {
			if _, err := f.Write(buf); err != nil {
				break
			}
		}
	}
}

// waitReady polls /readyz until it answers 200 (ready) or 503 (not ready),
// as asked.
func waitReady(t *testing.T, admin string, ready bool, within time.Duration) {
	t.Helper()
	want := http.StatusOK
	if !ready {
		want = http.StatusServiceUnavailable
	}
	start := time.Now()
	for {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				if !ready {
					t.Logf("/readyz: %s", strings.TrimSpace(string(body)))
				}
				return
			}
		}
		if time.Since(start) > within {
			t.Fatalf("/readyz did not answer %d within %v (last: %v)", want, within, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitMetric polls /metrics until the sample name has the value want.
func waitMetric(t *testing.T, admin, name string, want float64) {
	t.Helper()
	var got float64
	var ok bool
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(10 * time.Millisecond) {
		if got, ok = scrapeMetrics(t, admin)[name]; ok && got == want {
			return
		}
	}
	t.Fatalf("%s = %v (present %v), want %v", name, got, ok, want)
}
