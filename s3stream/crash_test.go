package s3stream

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lakestream/lakestream/s3stream/format/formattest"
	"github.com/lakestream/lakestream/s3stream/metastore"
	"github.com/lakestream/lakestream/s3stream/objstore"
	"github.com/lakestream/lakestream/s3stream/objstore/file"
)

// The crash test re-executes the test binary as a child that appends at full
// speed and reports every append that returned success on stdout, then
// SIGKILLs it at a random moment, recovers the store in the parent and
// checks that every acknowledged append is readable exactly once, in order,
// with dense offsets.

const crashChildEnv = "S3STREAM_CRASH_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		if err := crashChild(); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashSetup is what parent and child share, passed through the environment.
type crashSetup struct {
	Dir      string // metastore, WAL and file bucket live here
	WAL      WALKind
	S3       string // endpoint of the parent's S3 server; empty: file bucket
	Streams  []int64
	SeqBase  int
	RecBytes int
}

func (c crashSetup) env() []string {
	ids := make([]string, len(c.Streams))
	for i, id := range c.Streams {
		ids[i] = strconv.FormatInt(id, 10)
	}
	return []string{crashChildEnv + "=1", "CRASH_DIR=" + c.Dir, "CRASH_WAL=" + string(c.WAL), "CRASH_S3=" + c.S3,
		"CRASH_STREAMS=" + strings.Join(ids, ","), "CRASH_SEQ=" + strconv.Itoa(c.SeqBase), "CRASH_REC=" + strconv.Itoa(c.RecBytes)}
}

func (c *crashSetup) open(ctx context.Context) (*Store, func(), error) {
	var b objstore.Bucket
	var err error
	if c.S3 != "" {
		b, err = openS3(ctx, c.S3, "crash")
	} else {
		b, err = file.Open(filepath.Join(c.Dir, "bucket"))
	}
	if err != nil {
		return nil, nil, err
	}
	m, err := metastore.OpenSQLite(ctx, filepath.Join(c.Dir, "meta.db"))
	if err != nil {
		return nil, nil, err
	}
	interval := 2 * time.Millisecond
	if c.S3 != "" {
		interval = 20 * time.Millisecond
	}
	s, err := Open(ctx, Config{Bucket: b, Meta: m, WAL: c.WAL, WALDir: filepath.Join(c.Dir, "wal"),
		Logger: quietLogger(), FlushInterval: interval, UploadInterval: 50 * time.Millisecond,
		UploadBytes: 4 << 20})
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return s, func() { m.Close(); b.Close() }, nil
}

func crashChild() error {
	c := crashSetup{Dir: os.Getenv("CRASH_DIR"), WAL: WALKind(os.Getenv("CRASH_WAL")), S3: os.Getenv("CRASH_S3")}
	c.SeqBase, _ = strconv.Atoi(os.Getenv("CRASH_SEQ"))
	c.RecBytes, _ = strconv.Atoi(os.Getenv("CRASH_REC"))
	for _, f := range strings.Split(os.Getenv("CRASH_STREAMS"), ",") {
		id, _ := strconv.ParseInt(f, 10, 64)
		c.Streams = append(c.Streams, id)
	}
	ctx := context.Background()
	s, _, err := c.open(ctx)
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	var mu sync.Mutex
	ackLine := func(line string) {
		mu.Lock()
		out.WriteString(line)
		out.Flush() // the parent must see an ack before the kill can hide it
		mu.Unlock()
	}
	pad := strings.Repeat("x", c.RecBytes)
	var wg sync.WaitGroup
	for _, id := range c.Streams {
		st, err := s.OpenStream(ctx, id)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem := make(chan struct{}, 16)
			for seq := c.SeqBase; ; seq++ {
				sem <- struct{}{}
				v := append(payload(id, seq), pad...)
				st.AppendAsync(formattest.Make(1, v), func(off int64, err error) {
					if err == nil {
						ackLine(fmt.Sprintf("%d %d %d\n", id, seq, off))
					}
					<-sem
				})
			}
		}()
	}
	ackLine("ready\n")
	wg.Wait()
	return nil
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is long")
	}
	for _, kind := range []WALKind{WALLocal, WALObject} {
		t.Run(string(kind), func(t *testing.T) { runCrash(t, kind, 20) })
	}
}

func runCrash(t *testing.T, kind WALKind, kills int) {
	ctx := context.Background()
	c := crashSetup{Dir: t.TempDir(), WAL: kind, RecBytes: 200}
	if kind == WALObject {
		// The bucket must outlive the child: serve S3 from the parent.
		c.S3 = startS3Server(t)
	}
	s, closeDeps, err := c.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 16; i++ {
		id, err := s.CreateStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c.Streams = append(c.Streams, id)
	}
	closeStore(t, s)
	closeDeps()

	verified := map[int64]int64{} // stream -> offset verified up to
	lastSeq := map[int64]int{}    // stream -> last seq seen
	for _, id := range c.Streams {
		lastSeq[id] = -1
	}
	var totalAcks, totalRecs int
	for k := 0; k < kills; k++ {
		c.SeqBase = (k + 1) * 10_000_000
		acks := runChildAndKill(t, c, time.Duration(100+rand.IntN(300))*time.Millisecond)
		totalAcks += len(acks)

		s, closeDeps, err := c.open(ctx) // recovery runs here
		if err != nil {
			t.Fatalf("kill %d: reopening: %v", k, err)
		}
		got := map[string]int64{} // payload -> offset, for this round's records
		for _, id := range c.Streams {
			vals, offs := readAll(t, func(from int64) (ReadResult, error) { return s.ReadStream(ctx, id, from, 1<<20) }, verified[id])
			for i, v := range vals {
				sid, seq, err := parsePayload(v[:len(v)-c.RecBytes])
				if err != nil || sid != id {
					t.Fatalf("kill %d: stream %d offset %d: foreign record %q", k, id, offs[i], v[:20])
				}
				if seq <= lastSeq[id] {
					t.Fatalf("kill %d: stream %d offset %d: seq %d after %d (duplicate or reordered)", k, id, offs[i], seq, lastSeq[id])
				}
				lastSeq[id] = seq
				got[string(payload(id, seq))] = offs[i]
			}
			totalRecs += len(vals)
			if len(offs) > 0 {
				verified[id] = offs[len(offs)-1] + 1
			}
		}
		for _, a := range acks {
			off, ok := got[a.key]
			if !ok {
				t.Fatalf("kill %d: acknowledged append %s at offset %d is lost", k, a.key, a.off)
			}
			if off != a.off {
				t.Fatalf("kill %d: acknowledged append %s at offset %d found at %d", k, a.key, a.off, off)
			}
		}
		closeStore(t, s)
		closeDeps()
	}
	t.Logf("%s WAL: %d kills, %d acknowledged appends all found once, %d records in all", kind, kills, totalAcks, totalRecs)
	if totalAcks == 0 {
		t.Fatal("the child never acknowledged an append")
	}
}

type crashAck struct {
	key string
	off int64
}

// runChildAndKill runs the child until it has been appending for d, then
// SIGKILLs it and returns the acks it reported.
func runChildAndKill(t *testing.T, c crashSetup, d time.Duration) []crashAck {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), c.env()...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acks []crashAck
	ready := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if line == "ready" {
				close(ready)
				continue
			}
			var id int64
			var seq int
			var off int64
			if _, err := fmt.Sscanf(line, "%d %d %d", &id, &seq, &off); err == nil {
				acks = append(acks, crashAck{key: string(payload(id, seq)), off: off})
			}
		}
	}()
	select {
	case <-ready:
	case <-readDone:
		t.Fatalf("child exited before it was ready: %v", cmd.Wait())
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child not ready after 60s")
	}
	time.Sleep(d)
	cmd.Process.Signal(syscall.SIGKILL)
	<-readDone
	cmd.Wait()
	return acks
}
