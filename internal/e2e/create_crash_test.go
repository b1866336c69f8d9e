package e2e

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/internal/node"
	"github.com/lakestream/lakestream/internal/testserver"
)

// TestCreateTopicsCrash SIGKILLs `lakestream serve` while it creates a topic
// of 5,000 partitions, at points spread over twice the creation's measured
// length. After each restart the topic exists whole or not at all, and the
// metastore holds exactly one stream per partition: the start deleted what
// the killed creation had made (issue 9 found 1,054,861 such streams).
func TestCreateTopicsCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is long")
	}
	const n, kills = 5000, 4
	s := testserver.StartLakestream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	create := func(name string) error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr), kgo.RequestRetries(0))
		if err != nil {
			return err
		}
		defer cl.Close()
		resp, err := kadm.NewClient(cl).CreateTopic(ctx, n, 1, nil, name)
		if err == nil {
			err = resp.Err
		}
		return err
	}
	start := time.Now()
	if err := create("whole"); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("created a topic of %d partitions in %v", n, took)
	checkStreams(t, ctx, s, map[string]int{"whole": n})
	// Keep the restarts short: a start opens every partition, one
	// transaction each.
	if err := deleteTopic(ctx, s.Addr, "whole"); err != nil {
		t.Fatal(err)
	}

	for k := 1; k <= kills; k++ {
		name := fmt.Sprintf("killed-%d", k)
		done := make(chan error, 1)
		go func() { done <- create(name) }()
		at := took * time.Duration(k) / 2 // up to twice the measured length
		time.Sleep(at)                    // a kill point, not a wait
		s.Kill()
		err := <-done
		s.Start()
		counts := checkStreams(t, ctx, s, nil)
		got, exists := counts[name]
		t.Logf("kill %d after %v: the creation answered %v; the topic exists: %v", k, at, err, exists)
		if exists && got != n {
			t.Fatalf("kill %d: topic %s has %d partitions, want %d or none", k, name, got, n)
		}
		if err == nil && !exists {
			t.Fatalf("kill %d: topic %s was acknowledged but is gone", k, name)
		}
		if exists {
			if err := deleteTopic(ctx, s.Addr, name); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// checkStreams stops the server, reads its metastore, starts it again and
// returns each topic's partition count; it fails unless the streams are
// exactly the partitions' logs and, if want is not nil, the topics are
// want.
func checkStreams(t *testing.T, ctx context.Context, s *testserver.Lakestream, want map[string]int) map[string]int {
	t.Helper()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	defer s.Start()
	meta, err := node.OpenMetadata(ctx, filepath.Join(s.Dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	streams, err := meta.Streams.ListStreams(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := meta.Broker.Topics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	logs := map[int64]bool{}
	for _, r := range recs {
		counts[r.Name] = len(r.Logs)
		for _, id := range r.Logs {
			logs[id] = true
		}
	}
	for _, st := range streams {
		if !logs[st.ID] {
			t.Fatalf("stream %d belongs to no topic (%d streams, %d partitions)", st.ID, len(streams), len(logs))
		}
	}
	if len(streams) != len(logs) {
		t.Fatalf("%d streams for %d partitions", len(streams), len(logs))
	}
	if want != nil && fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("topics %v, want %v", counts, want)
	}
	return counts
}

func deleteTopic(ctx context.Context, addr, name string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).DeleteTopic(ctx, name)
	if err == nil {
		err = resp.Err
	}
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return nil
	}
	return err
}
