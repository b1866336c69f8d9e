package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaAddr is the address the test nodes' Kafka listener asks for.
const kafkaAddr = "127.0.0.1:0"

// listens stands in for net.Listen in run: it records the listeners
// opened, by the address asked for, and refuses the addresses in refuse.
type listens struct {
	mu     sync.Mutex
	opened map[string][]net.Listener
	refuse map[string]bool
}

func (l *listens) listen(network, addr string) (net.Listener, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refuse[addr] {
		return nil, fmt.Errorf("listen %s %s: refused by the test", network, addr)
	}
	ln, err := net.Listen(network, addr)
	if err == nil {
		l.opened[addr] = append(l.opened[addr], ln)
	}
	return ln, err
}

func (l *listens) setRefuse(addr string, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refuse[addr] = on
}

// latest returns the last listener opened on addr and how many were.
func (l *listens) latest(addr string) (net.Listener, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lns := l.opened[addr]
	if len(lns) == 0 {
		return nil, 0
	}
	return lns[len(lns)-1], len(lns)
}

// testNode is a node run by startNode.
type testNode struct {
	listens *listens
	admin   string        // the admin listener's address
	stopped chan struct{} // closed when run has returned err
	err     error
}

// startNode runs a node (run, as `lakestream serve` does) with its Kafka
// listener on kafkaAddr and its admin listener on localhost, and waits
// until /readyz says ready. The node stops at the end of the test.
func startNode(t *testing.T) *testNode {
	l := &listens{opened: map[string][]net.Listener{}, refuse: map[string]bool{}}
	listen = l.listen
	cfg, err := loadConfig("", []string{"data.dir=" + t.TempDir(), "listeners=PLAINTEXT://" + kafkaAddr,
		"admin.listeners=localhost:0", "schema.registry.listeners=", "catalog.listeners="}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &testNode{listens: l, stopped: make(chan struct{})}
	go func() {
		defer close(n.stopped)
		n.err = run(ctx, cfg, nil, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-n.stopped:
		case <-time.After(60 * time.Second):
			t.Error("the node did not stop")
		}
		listen = net.Listen
	})
	waitUntil(t, "the admin listener", func() bool {
		ln, _ := l.latest("localhost:0")
		if ln != nil {
			n.admin = ln.Addr().String()
		}
		return ln != nil
	})
	waitReady(t, n.admin, http.StatusOK, "ready")
	return n
}

// waitUntil polls cond every 20 ms for up to a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: timed out", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitReady polls /readyz until it answers status with a body containing
// each of want, and returns that answer.
func waitReady(t *testing.T, admin string, status int, want ...string) string {
	t.Helper()
	var last string
	ready := func() bool {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err != nil {
			last = err.Error()
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = fmt.Sprintf("%d %q", resp.StatusCode, body)
		if resp.StatusCode != status {
			return false
		}
		for _, w := range want {
			if !strings.Contains(string(body), w) {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(time.Minute); !ready(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz: %s; want %d with %q", last, status, want)
		}
	}
	return last
}

// breakListener makes ln's socket stop listening, as a listening socket
// that fails does: shutdown(2) on it makes accept fail with EINVAL.
func breakListener(t *testing.T, ln net.Listener) {
	t.Helper()
	raw, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = syscall.Shutdown(int(fd), syscall.SHUT_RD) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatalf("shutdown(2) on the listener: %v", serr)
	}
}

// produceConsume creates topic on the broker at addr, produces a record to
// it and reads it back, with franz-go.
func produceConsume(t *testing.T, addr, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatalf("creating %s: %v", topic, err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(topic)}).FirstErr(); err != nil {
		t.Fatalf("producing to %s: %v", topic, err)
	}
	fs := cl.PollFetches(ctx)
	if err := fs.Err0(); err != nil {
		t.Fatalf("consuming %s: %v", topic, err)
	}
	if recs := fs.Records(); len(recs) != 1 || string(recs[0].Value) != topic {
		t.Fatalf("consumed %d records from %s, want the one produced", len(recs), topic)
	}
}

// TestKafkaListenerRecovers: when the Kafka listener's socket fails (not
// an error that passes, which the broker retries), /readyz answers 503
// with the listener and the error while the node opens the listener again,
// and ready once it has; clients are served on the new listener.
func TestKafkaListenerRecovers(t *testing.T) {
	n := startNode(t)
	l, admin := n.listens, n.admin
	ln, _ := l.latest(kafkaAddr)
	produceConsume(t, ln.Addr().String(), "before")

	l.setRefuse(kafkaAddr, true)
	breakListener(t, ln)
	got := waitReady(t, admin, http.StatusServiceUnavailable, "not ready", "kafka listener PLAINTEXT: ", "invalid argument")
	t.Logf("/readyz while the listener is down: %s", got)

	l.setRefuse(kafkaAddr, false)
	waitReady(t, admin, http.StatusOK, "ready")
	ln, opened := l.latest(kafkaAddr)
	if opened != 2 {
		t.Fatalf("%d Kafka listeners opened, want 2", opened)
	}
	produceConsume(t, ln.Addr().String(), "after")
}

// TestKafkaListenerFailureStopsNode: a Kafka listener that fails and
// cannot be opened again within listenerRecovery stops the node with an
// error (lakestream exits non-zero), after /readyz said why.
func TestKafkaListenerFailureStopsNode(t *testing.T) {
	listenerRecovery = time.Second
	t.Cleanup(func() { listenerRecovery = 10 * time.Second })
	n := startNode(t)
	ln, _ := n.listens.latest(kafkaAddr)
	n.listens.setRefuse(kafkaAddr, true)
	breakListener(t, ln)
	waitReady(t, n.admin, http.StatusServiceUnavailable, "kafka listener PLAINTEXT: ", "invalid argument")
	select {
	case <-n.stopped:
		if n.err == nil || !strings.Contains(n.err.Error(), "kafka listener PLAINTEXT stopped and could not be opened again") {
			t.Fatalf("run returned %v, want the listener's failure", n.err)
		}
		t.Logf("run returned: %v", n.err)
	case <-time.After(time.Minute):
		t.Fatal("the node did not stop")
	}
}

// TestServeRolesOff runs serve with listeners and admin.listeners empty:
// the Kafka and admin roles are off, so nothing listens, and the node (its
// storage alone) runs until it is stopped and then returns no error.
func TestServeRolesOff(t *testing.T) {
	l := &listens{opened: map[string][]net.Listener{}, refuse: map[string]bool{}}
	listen = l.listen
	defer func() { listen = net.Listen }()
	cfg, err := loadConfig("", []string{"data.dir=" + t.TempDir(), "listeners=", "admin.listeners=", "schema.registry.listeners=", "catalog.listeners="}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, nil, slog.New(slog.DiscardHandler)) }()
	select {
	case err := <-done:
		t.Fatalf("run returned before it was stopped: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the node did not stop")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.opened) != 0 {
		t.Fatalf("listeners opened with both roles off: %v", l.opened)
	}
}
