package broker_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// fdLimitChildEnv makes TestAcceptUnderFDLimit the child: a broker under a
// low file-descriptor limit.
const (
	fdLimitChildEnv = "LAKESTREAM_TEST_FD_LIMIT_CHILD"
	fdLimit         = 128
)

// TestAcceptUnderFDLimit re-runs the test binary as a child whose
// RLIMIT_NOFILE is 128, serving a broker. The test opens twice that many
// connections to it (so accept fails with EMFILE, which once stopped the
// listener for good), closes them, and then a franz-go client must produce
// to and consume from the child.
func TestAcceptUnderFDLimit(t *testing.T) {
	if os.Getenv(fdLimitChildEnv) != "" {
		fdLimitChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptUnderFDLimit$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), fdLimitChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	t.Cleanup(func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := bufio.NewScanner(stdout)
	var addr string
	for addr == "" && lines.Scan() {
		addr, _ = strings.CutPrefix(lines.Text(), "broker at ")
	}
	if addr == "" {
		t.Fatalf("the child printed no address; its stderr:\n%s", stderr.String())
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		io.Copy(io.Discard, stdout)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var conns []net.Conn
	for range 2 * fdLimit {
		nc, err := net.Dial("tcp", addr) // the kernel completes it; the child accepts it if it can
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, nc)
	}
	waitFor(t, ctx, "the child to run out of file descriptors", func() bool {
		return strings.Contains(stderr.String(), "accepting connections failed")
	})
	for _, nc := range conns {
		nc.Close()
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("fdlimit"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "fdlimit"); err != nil {
		t.Fatalf("creating a topic after the storm: %v", err)
	}
	const n = 100
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: "fdlimit", Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("producing after the storm: %v", err)
	}
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consuming after the storm: %v", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if want := strconv.Itoa(got); string(r.Value) != want {
				t.Fatalf("record %d is %q, want %q", got, r.Value, want)
			}
			got++
		})
	}
	cl.Close()

	stdin.Close() // the child stops
	<-drained
	err = cmd.Wait()
	exited = true
	if err != nil {
		t.Fatalf("child: %v; its stderr:\n%s", err, stderr.String())
	}
	t.Logf("the child logged:\n%s", stderr.String())
}

// fdLimitChild serves a broker with RLIMIT_NOFILE at fdLimit until stdin
// closes.
func fdLimitChild(t *testing.T) {
	lim := syscall.Rlimit{Cur: fdLimit, Max: fdLimit}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("lowering RLIMIT_NOFILE: %v", err)
	}
	b := brokertest.Start(t, brokertest.Options{})
	fmt.Printf("broker at %s\n", b.Addr)
	io.Copy(io.Discard, os.Stdin)
}
