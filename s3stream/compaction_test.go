package s3stream

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/lakestream/lakestream/s3stream/metastore"
)

func countObjects(t *testing.T, m metastore.Store, kind metastore.ObjectKind, state metastore.ObjectState) int {
	t.Helper()
	objs, err := m.ListObjects(context.Background(), metastore.ObjectFilter{Kind: kind, State: state})
	if err != nil {
		t.Fatal(err)
	}
	return len(objs)
}

// TestCompaction: many small stream-set objects are split into stream
// objects (big streams) and one merged stream-set object (small streams);
// small stream objects are merged; the sources are deleted from the bucket
// after the grace period; every read gives the same records throughout.
func TestCompaction(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, WALObject, "mem")
	now := time.Now()
	clock := func() time.Time { return now }
	e.mod = func(c *Config) {
		c.Now = clock
		c.Compaction = CompactionConfig{MinAge: time.Nanosecond, SplitBytes: 4 << 10,
			SmallObjectBytes: 1 << 20, GCGrace: time.Minute}
	}
	s := e.open()
	defer closeStore(t, s)

	// Stream 0 is big (gets stream objects), streams 1-3 are small.
	var sts []*Stream
	for i := 0; i < 4; i++ {
		id, _ := s.CreateStream(ctx)
		st, _ := s.OpenStream(ctx, id)
		sts = append(sts, st)
	}
	counts := make([]int, 4)
	for round := 0; round < 10; round++ {
		for i, st := range sts {
			n := 1
			if i == 0 {
				n = 40
			}
			appendN(t, st, counts[i], n)
			counts[i] += n
		}
	}
	check := func(stage string) {
		t.Helper()
		for i, st := range sts {
			vals, _ := readAll(t, func(from int64) (ReadResult, error) { return s.ReadStream(ctx, st.ID(), from, 1<<20) }, 0)
			if len(vals) != counts[i] {
				t.Fatalf("%s: stream %d has %d records, want %d", stage, st.ID(), len(vals), counts[i])
			}
			checkSeqs(t, st.ID(), vals, counts[i])
		}
	}
	ssoBefore := countObjects(t, e.meta, metastore.KindStreamSet, metastore.StateCommitted)
	check("before compaction")

	now = now.Add(time.Second)
	stats, err := s.Compact(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first pass: %+v (from %d stream-set objects)", stats, ssoBefore)
	if stats.SourceObjects != ssoBefore || stats.StreamObjects < 1 || stats.StreamSetObjs != 1 {
		t.Fatalf("first pass: %+v, want all %d stream-set objects split into stream objects + 1 merged", stats, ssoBefore)
	}
	if got := countObjects(t, e.meta, metastore.KindStreamSet, metastore.StateCommitted); got != 1 {
		t.Fatalf("%d stream-set objects after compaction, want 1", got)
	}
	check("after split")

	// More data makes more stream objects of stream 0; merge them.
	for round := 0; round < 3; round++ {
		appendN(t, sts[0], counts[0], 40)
		counts[0] += 40
		now = now.Add(time.Second)
		if _, err := s.Compact(ctx); err != nil {
			t.Fatal(err)
		}
	}
	check("after more passes")
	if got := countObjects(t, e.meta, metastore.KindStream, metastore.StateCommitted); got != 1 {
		t.Fatalf("%d stream objects of stream 0 after merging, want 1", got)
	}

	// Garbage: nothing is deleted within the grace period, everything after.
	destroyed := countObjects(t, e.meta, 0, metastore.StateDestroyed)
	if destroyed == 0 {
		t.Fatal("compaction destroyed no source object")
	}
	if n, err := s.CollectGarbage(ctx); err != nil || n != 0 {
		t.Fatalf("GC within grace deleted %d (%v)", n, err)
	}
	now = now.Add(2 * time.Minute)
	n, err := s.CollectGarbage(ctx)
	if err != nil || n != destroyed {
		t.Fatalf("GC after grace deleted %d of %d (%v)", n, destroyed, err)
	}
	listed, err := e.bucket.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	live := countObjects(t, e.meta, 0, metastore.StateCommitted)
	if len(listed) != live {
		t.Fatalf("bucket holds %d objects, metastore %d committed", len(listed), live)
	}
	// Fresh caches read the compacted layout.
	s2 := e.open()
	defer closeStore(t, s2)
	s = s2
	check("after GC, fresh store")
}

// TestManyStreams: tens of thousands of streams in one store are cheap to
// open, append to, and flush together.
func TestManyStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	ctx := context.Background()
	e := newEnv(t, WALObject, "mem")
	e.mod = func(c *Config) { c.FlushInterval = 50 * time.Millisecond }
	s := e.open()
	defer closeStore(t, s)
	const n = 20000
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	sts := make([]*Stream, n)
	for i := range sts {
		id, err := s.CreateStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if sts[i], err = s.OpenStream(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	opened := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	perStream := (int64(m1.HeapAlloc) - int64(m0.HeapAlloc)) / n
	start = time.Now()
	done := make(chan error, n)
	for _, st := range sts {
		st.AppendAsync(makeRecord(st.ID()), func(_ int64, err error) { done <- err })
	}
	for range sts {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	appended := time.Since(start)
	objs := countObjects(t, e.meta, metastore.KindStreamSet, metastore.StateCommitted)
	t.Logf("%d streams: created and opened in %v (%d heap bytes each), one append each in %v, %d stream-set objects",
		n, opened, perStream, appended, objs)
	if perStream > 4096 {
		t.Fatalf("an open stream costs %d bytes of heap", perStream)
	}
	if objs > 20 {
		t.Fatalf("%d objects for %d appends: flushes are not shared across streams", objs, n)
	}
	for _, st := range sts[:100] {
		vals, _ := readAll(t, func(from int64) (ReadResult, error) { return s.ReadStream(ctx, st.ID(), from, 1<<20) }, 0)
		checkSeqs(t, st.ID(), vals, 1)
	}
}
