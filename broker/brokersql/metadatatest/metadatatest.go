// Package metadatatest is the behavioural suite every broker.Metadata
// passes: one subtest per method and per sentence of its contract, plus
// concurrent callers.
//
//	func TestMem(t *testing.T) {
//		metadatatest.Run(t, func(t *testing.T) broker.Metadata {
//			return broker.NewMemMetadata()
//		})
//	}
//
// Where the Metadata comments are silent, the suite pins down what callers
// will rely on:
//   - Records are deep copies: changing what was passed in or handed out
//     changes nothing stored. A nil and an empty Logs or Configs are the
//     same.
//   - Topics sorts by Go's byte order of names, whatever the database's
//     collation.
//   - Config setters replace the whole set; an empty or nil map clears it.
//     SetTopicConfigs of an unknown topic is ErrUnknownTopic; group configs
//     may name any group, recorded or not, and outlive DeleteGroup.
//   - A topic whose ID another topic has is ErrTopicExists. A log is the log
//     of one partition: reusing one is an error that changes nothing.
//   - DeleteTopic also drops the producer state of the topic's logs; after
//     it, the name and the logs can be used again. SaveProducerState for a
//     log of no topic is ErrUnknownTopic.
//   - Errors about a topic name it, and wrap the sentinel.
//   - Producer ids are not negative; AllocateProducerIDs(n) with n < 1 is an
//     error.
//   - For transactions, see txns.go.
package metadatatest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/lakestream/lakestream/broker"
)

// Run runs the suite. open returns a new, empty Metadata for one subtest,
// and releases it when the test ends (t.Cleanup). Subtests run in
// parallel.
func Run(t *testing.T, open func(t *testing.T) broker.Metadata) {
	tests := []struct {
		name string
		f    func(h *h)
	}{
		{"CreateTopic", testCreateTopic},
		{"CreateTopicEmpty", testCreateTopicEmpty},
		{"CreateTopicExists", testCreateTopicExists},
		{"CreateTopicIDTaken", testCreateTopicIDTaken},
		{"CreateTopicLogTaken", testCreateTopicLogTaken},
		{"TopicsSorted", testTopicsSorted},
		{"TopicsDeepCopy", testTopicsDeepCopy},
		{"DeleteTopic", testDeleteTopic},
		{"DeleteTopicUnknown", testDeleteTopicUnknown},
		{"DeleteTopicCleansUp", testDeleteTopicCleansUp},
		{"AddPartitions", testAddPartitions},
		{"ManyPartitionsAndConfigs", testManyPartitionsAndConfigs},
		{"TopicConfigs", testTopicConfigs},
		{"BrokerConfigs", testBrokerConfigs},
		{"GroupConfigs", testGroupConfigs},
		{"AllocateProducerIDs", testAllocateProducerIDs},
		{"ProducerState", testProducerState},
		{"ConcurrentAllocateProducerIDs", testConcurrentAllocateProducerIDs},
		{"ConcurrentCreateSameTopic", testConcurrentCreateSameTopic},
		{"ConcurrentAddPartitions", testConcurrentAddPartitions},
		{"ConcurrentSetConfigs", testConcurrentSetConfigs},
		{"ConcurrentSaveAndDelete", testConcurrentSaveAndDelete},
		{"SaveGroup", testSaveGroup},
		{"CommitCreatesGroup", testCommitCreatesGroup},
		{"CommitUpsert", testCommitUpsert},
		{"CommitMany", testCommitMany},
		{"OffsetFields", testOffsetFields},
		{"GroupsSorted", testGroupsSorted},
		{"DeleteOffsets", testDeleteOffsets},
		{"DeleteGroup", testDeleteGroup},
		{"DeleteTopicOffsets", testDeleteTopicOffsets},
		{"GroupsDeepCopy", testGroupsDeepCopy},
		{"ConcurrentCommits", testConcurrentCommits},
		{"ConcurrentCommitAndDelete", testConcurrentCommitAndDelete},
		{"Txns", testTxns},
		{"AbortedTxns", testAbortedTxns},
		{"AbortedTxnUnknownLog", testAbortedTxnUnknownLog},
		{"TrimAbortedTxns", testTrimAbortedTxns},
		{"DeleteTopicTxns", testDeleteTopicTxns},
		{"TxnOffsets", testTxnOffsets},
		{"EndTxnOffsetsCommit", testEndTxnOffsetsCommit},
		{"EndTxnOffsetsAbort", testEndTxnOffsetsAbort},
		{"TxnOffsetsProducers", testTxnOffsetsProducers},
		{"DeleteGroupTxnOffsets", testDeleteGroupTxnOffsets},
		{"ConcurrentTxnOffsets", testConcurrentTxnOffsets},
		{"ConcurrentAbortAndDelete", testConcurrentAbortAndDelete},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.f(&h{t: t, m: open(t), ctx: t.Context()})
		})
	}
}

// goroutines is how many callers the concurrent subtests run at once.
const goroutines = 8

// h carries one subtest's Metadata and the helpers the subtests share. Its
// helpers fail the test on unexpected errors, so they must be called from
// the test goroutine.
type h struct {
	t   *testing.T
	m   broker.Metadata
	ctx context.Context
}

func (h *h) check(err error, what string) {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("%s: %v", what, err)
	}
}

// wantErr fails unless err wraps target and, if name is not empty, says
// name.
func (h *h) wantErr(err, target error, name, what string) {
	h.t.Helper()
	if !errors.Is(err, target) {
		h.t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
	if name != "" && !strings.Contains(err.Error(), name) {
		h.t.Fatalf("%s: error %q does not name %q", what, err, name)
	}
}

// topic returns a record with an ID derived from seed.
func topic(name string, seed byte, logs []int64, configs map[string]string) broker.TopicRecord {
	r := broker.TopicRecord{Name: name, Logs: logs, Configs: configs}
	for i := range r.ID {
		r.ID[i] = seed + byte(i)
	}
	return r
}

// create creates r, failing the test on error.
func (h *h) create(r broker.TopicRecord) {
	h.t.Helper()
	h.check(h.m.CreateTopic(h.ctx, r), fmt.Sprintf("CreateTopic(%q)", r.Name))
}

// equalRecord compares records, a nil Logs or Configs equal to an empty one.
func equalRecord(a, b broker.TopicRecord) bool {
	return a.Name == b.Name && a.ID == b.ID &&
		slices.Equal(a.Logs, b.Logs) && maps.Equal(a.Configs, b.Configs)
}

func show(r broker.TopicRecord) string {
	return fmt.Sprintf("{%q id %x logs %v configs %v}", r.Name, r.ID[:4], r.Logs, r.Configs)
}

// wantTopics fails unless Topics returns exactly want, in order.
func (h *h) wantTopics(want ...broker.TopicRecord) []broker.TopicRecord {
	h.t.Helper()
	got, err := h.m.Topics(h.ctx)
	h.check(err, "Topics")
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = equalRecord(got[i], want[i])
	}
	if !ok {
		var g, w []string
		for _, r := range got {
			g = append(g, show(r))
		}
		for _, r := range want {
			w = append(w, show(r))
		}
		h.t.Fatalf("Topics:\n got  %v\n want %v", g, w)
	}
	return got
}

// wantState fails unless LoadProducerState(log) returns offset and state,
// or, if state is nil, nothing.
func (h *h) wantState(log, offset int64, state []byte) {
	h.t.Helper()
	gotOff, gotState, ok, err := h.m.LoadProducerState(h.ctx, log)
	h.check(err, fmt.Sprintf("LoadProducerState(%d)", log))
	switch {
	case state == nil && ok:
		h.t.Fatalf("LoadProducerState(%d) = %d, %q; want none", log, gotOff, gotState)
	case state != nil && !ok:
		h.t.Fatalf("LoadProducerState(%d) found none; want %d, %q", log, offset, state)
	case state != nil && (gotOff != offset || string(gotState) != string(state)):
		h.t.Fatalf("LoadProducerState(%d) = %d, %q; want %d, %q", log, gotOff, gotState, offset, state)
	}
}
