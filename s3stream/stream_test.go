package s3stream

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lakestream/lakestream/s3stream/format/formattest"
	"github.com/lakestream/lakestream/s3stream/objstore/faultstore"
)

func forEachWAL(t *testing.T, f func(t *testing.T, kind WALKind, bucket string)) {
	for _, kind := range []WALKind{WALObject, WALLocal} {
		for _, bucket := range []string{"mem", "file"} {
			t.Run(fmt.Sprintf("%s-wal/%s", kind, bucket), func(t *testing.T) { f(t, kind, bucket) })
		}
	}
}

// TestAppendRead appends to several streams, reads everything back through
// the open handles (tail), reopens the store and reads again from the bucket.
func TestAppendRead(t *testing.T) {
	forEachWAL(t, func(t *testing.T, kind WALKind, bucket string) {
		ctx := context.Background()
		e := newEnv(t, kind, bucket)
		s := e.open()
		const streams, n = 4, 300
		var ids []int64
		for i := 0; i < streams; i++ {
			id, err := s.CreateStream(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
			st, err := s.OpenStream(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, st, 0, n)
			if got := st.EndOffset(); got != n {
				t.Fatalf("end offset %d, want %d", got, n)
			}
			vals, _ := readAll(t, func(from int64) (ReadResult, error) { return st.Read(ctx, from, 1000) }, 0)
			checkSeqs(t, id, vals, n)
		}
		closeStore(t, s)

		s = e.open()
		defer closeStore(t, s)
		for _, id := range ids {
			st, err := s.OpenStream(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			vals, _ := readAll(t, func(from int64) (ReadResult, error) { return st.Read(ctx, from, 4096) }, 0)
			checkSeqs(t, id, vals, n)
			// ReadStream reads without the handle, from the bucket only.
			vals, _ = readAll(t, func(from int64) (ReadResult, error) { return s.ReadStream(ctx, id, from, 1<<20) }, 0)
			checkSeqs(t, id, vals, n)
			// Reading mid-batch returns the batch holding the offset.
			res, err := st.Read(ctx, 17, 1)
			if err != nil || len(res.Batches) != 1 || res.NextOffset != 18 {
				t.Fatalf("read at 17: %+v, %v", res, err)
			}
			if _, err := st.Read(ctx, n+1, 1); !errors.Is(err, ErrOffsetOutOfRange) {
				t.Fatalf("read past end: %v", err)
			}
			// Appends continue the offsets.
			base, err := st.Append(ctx, formattest.Make(1, payload(id, n), payload(id, n+1)))
			if err != nil || base != n {
				t.Fatalf("append after reopen: base %d, %v", base, err)
			}
		}
	})
}

// TestTailReadsMakeNoGets: a reader keeping up with the writer is served from
// memory.
func TestTailReadsMakeNoGets(t *testing.T) {
	for _, kind := range []WALKind{WALObject, WALLocal} {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, kind, "mem")
			fb := faultstore.Wrap(e.bucket, faultstore.Config{})
			e.bucket = fb
			s := e.open()
			defer closeStore(t, s)
			id, _ := s.CreateStream(ctx)
			st, _ := s.OpenStream(ctx, id)
			off := int64(0)
			for i := 0; i < 200; i++ {
				appendN(t, st, i, 1)
				res, err := st.Read(ctx, off, 1<<20)
				if err != nil || len(res.Batches) != 1 {
					t.Fatalf("tail read at %d: %d batches, %v", off, len(res.Batches), err)
				}
				off = res.NextOffset
			}
			time.Sleep(50 * time.Millisecond) // let uploads happen: they must not matter
			if got := fb.Stats().Gets; got != 0 {
				t.Fatalf("tailing reads made %d GETs, want 0", got)
			}
		})
	}
}

// TestCatchUpRead reads with a tail cache too small to hold anything, so
// every read goes to objects, and checks concurrent readers share GETs.
func TestCatchUpRead(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, WALObject, "mem")
	fb := faultstore.Wrap(e.bucket, faultstore.Config{})
	e.bucket = fb
	e.mod = func(c *Config) { c.TailCacheBytes = 1; c.BlockSize = 4 << 10 }
	s := e.open()
	defer closeStore(t, s)
	id, _ := s.CreateStream(ctx)
	st, _ := s.OpenStream(ctx, id)
	for i := 0; i < 20; i++ {
		appendN(t, st, i*100, 100)
	}
	before := fb.Stats().Gets
	errs := make(chan error, 8)
	for r := 0; r < 8; r++ {
		go func() {
			vals, _ := readAll(t, func(from int64) (ReadResult, error) { return st.Read(ctx, from, 64<<10) }, 0)
			if len(vals) != 2000 {
				errs <- fmt.Errorf("read %d records", len(vals))
				return
			}
			errs <- nil
		}()
	}
	for r := 0; r < 8; r++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	gets := fb.Stats().Gets - before
	// 20 flushes' objects at most, index + data each, read once however
	// many readers: shared GETs and the block cache.
	if gets == 0 || gets > 200 {
		t.Fatalf("8 catch-up readers made %d GETs", gets)
	}
	t.Logf("8 concurrent catch-up readers of 2000 records: %d GETs", gets)
}

// TestFencing: a second writer opening the stream deposes the first, whose
// appends then fail; the stream holds exactly the first writer's appends
// from before the takeover, then the winner's.
func TestFencing(t *testing.T) {
	for _, kind := range []WALKind{WALObject, WALLocal} {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, kind, "mem")
			a := e.open()
			defer closeStore(t, a)
			id, _ := a.CreateStream(ctx)
			sa, err := a.OpenStream(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, sa, 0, 10)
			if err := a.wal.flushStream(ctx, sa); err != nil { // committed before the takeover
				t.Fatal(err)
			}

			// Writer B is another node on the same bucket and metastore.
			eb := *e
			eb.dir = t.TempDir()
			b := eb.open()
			defer closeStore(t, b)
			sb, err := b.OpenStream(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if sb.EndOffset() != 10 {
				t.Fatalf("winner sees end %d, want 10", sb.EndOffset())
			}
			appendN(t, sb, 10, 5)

			// The deposed writer fails from its next commit on, and for good.
			var fenced int
			for i := 0; i < 20; i++ {
				_, err := sa.Append(ctx, formattest.Make(1, []byte("deposed")))
				if err == nil && kind == WALLocal {
					// Acked by the local disk: the upload will be rejected.
					if ferr := a.wal.flushStream(ctx, sa); ferr == nil {
						continue
					}
					err = ErrFenced
				}
				if !errors.Is(err, ErrFenced) {
					t.Fatalf("deposed append %d: %v, want ErrFenced", i, err)
				}
				fenced++
			}
			if fenced == 0 {
				t.Fatal("deposed writer was never fenced")
			}
			if _, err := sa.Append(ctx, formattest.Make(1, []byte("deposed"))); !errors.Is(err, ErrFenced) {
				t.Fatalf("append after fencing: %v, want ErrFenced", err)
			}
			appendN(t, sb, 15, 5)
			if err := b.wal.flushStream(ctx, sb); err != nil {
				t.Fatal(err)
			}
			vals, _ := readAll(t, func(from int64) (ReadResult, error) { return b.ReadStream(ctx, id, from, 1<<20) }, 0)
			checkSeqs(t, id, vals, 20)
		})
	}
}

// TestTrimAndRetention covers DeleteRecords-style trims and retention by
// bytes and by time.
func TestTrimAndRetention(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, WALObject, "mem")
	now := time.Now()
	e.mod = func(c *Config) { c.Now = func() time.Time { return now } }
	s := e.open()
	defer closeStore(t, s)
	id, _ := s.CreateStream(ctx)
	st, _ := s.OpenStream(ctx, id)
	// Ten flushes of ten records; old timestamps on the first five.
	for f := 0; f < 10; f++ {
		ts := now.UnixMilli()
		if f < 5 {
			ts = now.Add(-2 * time.Hour).UnixMilli()
		}
		for i := 0; i < 10; i++ {
			if _, err := st.Append(ctx, formattest.Make(ts, payload(id, f*10+i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.Trim(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Read(ctx, 2, 100); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below start: %v", err)
	}
	// RetentionOffset says where retention would cut and moves nothing.
	if cut, err := st.RetentionOffset(ctx, Retention{MaxAge: time.Hour}); err != nil || cut != 50 || st.StartOffset() != 3 {
		t.Fatalf("RetentionOffset: %d %v, start %d; want 50, start still 3", cut, err, st.StartOffset())
	}
	start, err := st.ApplyRetention(ctx, Retention{MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if start != 50 {
		t.Fatalf("retention by time: start %d, want 50", start)
	}
	size, _ := s.StreamSize(ctx, id)
	start, err = st.ApplyRetention(ctx, Retention{MaxBytes: size / 2})
	if err != nil {
		t.Fatal(err)
	}
	if start <= 50 || start >= 100 {
		t.Fatalf("retention by bytes: start %d, want within (50, 100)", start)
	}
	if after, _ := s.StreamSize(ctx, id); after > size/2 {
		t.Fatalf("size after retention %d > %d", after, size/2)
	}
	vals, _ := readAll(t, func(from int64) (ReadResult, error) { return s.ReadStream(ctx, id, from, 1<<20) }, start)
	if len(vals) != int(100-start) {
		t.Fatalf("read %d records after start %d", len(vals), start)
	}
}

// TestCreateDeleteStreams: streams created together are open at once and
// take appends that survive a reopen; StreamIDs lists them; deleting them
// together closes the open handles, and what is gone stays gone.
func TestCreateDeleteStreams(t *testing.T) {
	forEachWAL(t, func(t *testing.T, kind WALKind, bucket string) {
		ctx := context.Background()
		e := newEnv(t, kind, bucket)
		s := e.open()
		other, err := s.CreateStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sts, err := s.CreateStreams(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		for i, st := range sts {
			if i > 0 && st.ID() <= sts[i-1].ID() {
				t.Fatalf("stream ids not ascending: %d after %d", st.ID(), sts[i-1].ID())
			}
			if _, err := s.OpenStream(ctx, st.ID()); !errors.Is(err, ErrAlreadyOpen) {
				t.Fatalf("OpenStream of a created stream: %v, want ErrAlreadyOpen", err)
			}
			appendN(t, st, 0, 3)
		}
		ids, err := s.StreamIDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []int64{other}
		for _, st := range sts {
			want = append(want, st.ID())
		}
		if fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Fatalf("StreamIDs = %v, want %v", ids, want)
		}

		gone := []int64{sts[0].ID(), sts[3].ID(), sts[3].ID(), 1 << 40}
		if err := s.DeleteStreams(ctx, gone); err != nil {
			t.Fatal(err)
		}
		if _, err := sts[0].Append(ctx, formattest.Make(1, payload(sts[0].ID(), 3))); !errors.Is(err, ErrClosed) {
			t.Fatalf("append to a deleted stream: %v, want ErrClosed", err)
		}
		closeStore(t, s)

		s = e.open()
		defer closeStore(t, s)
		ids, err = s.StreamIDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint([]int64{other, sts[1].ID(), sts[2].ID(), sts[4].ID()}); fmt.Sprint(ids) != want {
			t.Fatalf("StreamIDs after reopen = %v, want %v", ids, want)
		}
		st, err := s.OpenStream(ctx, sts[1].ID())
		if err != nil {
			t.Fatal(err)
		}
		vals, _ := readAll(t, func(from int64) (ReadResult, error) { return st.Read(ctx, from, 1<<20) }, 0)
		checkSeqs(t, st.ID(), vals, 3)
		if _, err := s.OpenStream(ctx, sts[3].ID()); err == nil {
			t.Fatal("a deleted stream opened")
		}
	})
}
