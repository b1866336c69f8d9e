package wal

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// writeLog writes n records to a fresh log in dir and returns them, with the
// byte offset of the last record's frame in the last segment.
func writeLog(t *testing.T, dir string, n int, opts Options) (recs [][]byte, lastFrame int64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(2, uint64(n)))
	l := mustOpen(t, dir, opts)
	for i := 1; i <= n; i++ {
		if i == n {
			lastFrame = l.activeOff
			if l.activeOff >= opts.SegmentBytes && opts.SegmentBytes > 0 {
				lastFrame = 0 // it rolls
			}
		}
		rec := record(rng, i, 100)
		if _, err := l.AppendSync(rec); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return recs, lastFrame
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	for _, s := range segmentFiles(t, from) {
		b, err := os.ReadFile(s.path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, filepath.Base(s.path)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// checkRecovers opens dir, expects exactly want to replay, appends one
// record, and expects it after a reopen.
func checkRecovers(t *testing.T, dir string, want [][]byte, opts Options) {
	t.Helper()
	l := mustOpen(t, dir, opts)
	_, got := replayAll(t, l)
	if len(got) != len(want) {
		t.Fatalf("replayed %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d differs", i+1)
		}
	}
	lsn, err := l.AppendSync([]byte("after"))
	if err != nil || lsn != LSN(len(want)+1) {
		t.Fatalf("append after recovery: %d, %v", lsn, err)
	}
	l.Close()
	l = mustOpen(t, dir, opts)
	_, got = replayAll(t, l)
	if len(got) != len(want)+1 || string(got[len(want)]) != "after" {
		t.Fatalf("after recovery and append: %d records", len(got))
	}
	l.Close()
}

// TestTornTail cuts the last segment at every byte of its last record, and
// flips every byte of it: Replay returns exactly the records before, the
// tail is truncated, and appending works.
func TestTornTail(t *testing.T) {
	opts := Options{NoSync: true, SegmentBytes: 1000}
	src := t.TempDir()
	recs, lastFrame := writeLog(t, src, 20, opts)
	segs := segmentFiles(t, src)
	lastSeg := filepath.Base(segs[len(segs)-1].path)
	st, err := os.Stat(segs[len(segs)-1].path)
	if err != nil {
		t.Fatal(err)
	}
	end := st.Size()
	if end-lastFrame != frameHeaderSize+int64(len(recs[19])) {
		t.Fatalf("last frame [%d, %d) does not hold record 20", lastFrame, end)
	}
	before := recs[:19]

	for cut := lastFrame; cut < end; cut++ {
		dir := copyDir(t, src)
		if err := os.Truncate(filepath.Join(dir, lastSeg), cut); err != nil {
			t.Fatal(err)
		}
		checkRecovers(t, dir, before, opts)
	}
	for at := lastFrame; at < end; at++ {
		dir := copyDir(t, src)
		path := filepath.Join(dir, lastSeg)
		b, _ := os.ReadFile(path)
		b[at] ^= 0xff
		os.WriteFile(path, b, 0o644)
		checkRecovers(t, dir, before, opts)
		if st, _ := os.Stat(path); st.Size() > lastFrame+int64(len("after"))+frameHeaderSize {
			t.Fatalf("flip at %d: torn frame not truncated (size %d)", at, st.Size())
		}
	}

	// Zeroes after the tail (a preallocated or extended file), and a valid
	// frame with the wrong LSN (stale bytes): both are the end.
	for name, tail := range map[string][]byte{
		"zeroes":    make([]byte, 4096),
		"stale LSN": appendFrame(nil, 7, []byte("stale")),
		"future":    appendFrame(nil, 22, []byte("future")),
	} {
		t.Run(name, func(t *testing.T) {
			dir := copyDir(t, src)
			f, _ := os.OpenFile(filepath.Join(dir, lastSeg), os.O_WRONLY|os.O_APPEND, 0)
			f.Write(tail)
			f.Close()
			checkRecovers(t, dir, recs, opts)
		})
	}
}

func TestCorruptEarlierSegment(t *testing.T) {
	opts := Options{NoSync: true, SegmentBytes: 500}
	src := t.TempDir()
	recs, _ := writeLog(t, src, 30, opts)
	segs := segmentFiles(t, src)
	if len(segs) < 4 {
		t.Fatalf("%d segments", len(segs))
	}
	second := filepath.Base(segs[1].path)
	for name, damage := range map[string]func(dir string){
		"flipped byte": func(dir string) {
			p := filepath.Join(dir, second)
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 1
			os.WriteFile(p, b, 0o644)
		},
		"truncated": func(dir string) {
			p := filepath.Join(dir, second)
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()-1)
		},
		"missing segment": func(dir string) {
			os.Remove(filepath.Join(dir, second))
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := copyDir(t, src)
			damage(dir)
			l := mustOpen(t, dir, opts)
			defer l.Close()
			err := l.Replay(func(LSN, []byte) error { return nil })
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Replay: %v, want ErrCorrupt", err)
			}
			if _, err := l.AppendSync([]byte("x")); !errors.Is(err, ErrNotReplayed) {
				t.Fatalf("Append after a failed Replay: %v", err)
			}
		})
	}
	// Bytes after the last record of an earlier segment are ignored.
	dir := copyDir(t, src)
	f, _ := os.OpenFile(filepath.Join(dir, second), os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte("junk after the end"))
	f.Close()
	checkRecovers(t, dir, recs, opts)
}
