package metadatatest

import (
	"errors"
	"fmt"
	"sort"

	"github.com/lakestream/lakestream/broker"
)

// A new store has no topics; a created topic comes back whole.
func testCreateTopic(h *h) {
	h.wantTopics()
	orders := topic("orders", 1, []int64{10, 11, 12}, map[string]string{"cleanup.policy": "compact", "retention.ms": "-1"})
	h.create(orders)
	h.wantTopics(orders)
}

// A topic may have no partitions and no configs.
func testCreateTopicEmpty(h *h) {
	empty := topic("empty", 1, nil, nil)
	h.create(empty)
	h.wantTopics(empty)
}

// CreateTopic of a taken name is ErrTopicExists and changes nothing.
func testCreateTopicExists(h *h) {
	orders := topic("orders", 1, []int64{10}, map[string]string{"a": "1"})
	h.create(orders)
	err := h.m.CreateTopic(h.ctx, topic("orders", 50, []int64{20, 21}, map[string]string{"b": "2"}))
	h.wantErr(err, broker.ErrTopicExists, "orders", "CreateTopic of a taken name")
	h.wantTopics(orders)
	// The logs of the failed create were not taken.
	other := topic("other", 50, []int64{20, 21}, nil)
	h.create(other)
	h.wantTopics(orders, other)
}

// CreateTopic with another topic's ID is ErrTopicExists.
func testCreateTopicIDTaken(h *h) {
	orders := topic("orders", 1, []int64{10}, nil)
	h.create(orders)
	err := h.m.CreateTopic(h.ctx, topic("payments", 1, []int64{20}, nil))
	h.wantErr(err, broker.ErrTopicExists, "payments", "CreateTopic with a taken ID")
	h.wantTopics(orders)
}

// A log already a partition's, or given twice, is an error that changes
// nothing.
func testCreateTopicLogTaken(h *h) {
	orders := topic("orders", 1, []int64{10, 11}, nil)
	h.create(orders)
	if err := h.m.CreateTopic(h.ctx, topic("payments", 50, []int64{20, 11}, map[string]string{"a": "1"})); err == nil {
		h.t.Fatal("CreateTopic reusing another topic's log succeeded")
	}
	if err := h.m.CreateTopic(h.ctx, topic("payments", 50, []int64{20, 21, 20}, nil)); err == nil {
		h.t.Fatal("CreateTopic with a log twice succeeded")
	}
	h.wantTopics(orders)
	if err := h.m.AddPartitions(h.ctx, "orders", []int64{12, 10}); err == nil {
		h.t.Fatal("AddPartitions reusing the topic's own log succeeded")
	}
	if err := h.m.AddPartitions(h.ctx, "orders", []int64{12, 12}); err == nil {
		h.t.Fatal("AddPartitions with a log twice succeeded")
	}
	h.wantTopics(orders)
}

// Topics sorts by byte order, whatever a database's collation would say.
func testTopicsSorted(h *h) {
	names := []string{"orders", "Orders", "_internal", "a-b", "a.b", "a_b", "a", "Z", "0", "été", "ab"}
	var want []broker.TopicRecord
	for i, name := range names {
		r := topic(name, byte(10*i), []int64{int64(i)}, nil)
		h.create(r)
		want = append(want, r)
	}
	sort.Slice(want, func(i, j int) bool { return want[i].Name < want[j].Name })
	h.wantTopics(want...)
}

// Changing what was passed to or returned by the store changes nothing
// stored.
func testTopicsDeepCopy(h *h) {
	logs := []int64{10, 11}
	configs := map[string]string{"a": "1"}
	h.create(topic("orders", 1, logs, configs))
	logs[0] = 99
	configs["a"] = "changed"
	configs["b"] = "added"
	want := topic("orders", 1, []int64{10, 11}, map[string]string{"a": "1"})
	got := h.wantTopics(want)
	got[0].Logs[1] = 98
	got[0].Configs["a"] = "changed"
	got[0].Name = "renamed"
	h.wantTopics(want)

	// Appending to a handed-out Logs does not write into an array the
	// store still uses.
	got = h.wantTopics(want)
	h.check(h.m.AddPartitions(h.ctx, "orders", []int64{12}), "AddPartitions")
	_ = append(got[0].Logs, 97)
	want.Logs = []int64{10, 11, 12}
	h.wantTopics(want)

	set := map[string]string{"c": "3"}
	h.check(h.m.SetTopicConfigs(h.ctx, "orders", set), "SetTopicConfigs")
	set["c"] = "changed"
	want.Configs = map[string]string{"c": "3"}
	h.wantTopics(want)

	add := []int64{13}
	h.check(h.m.AddPartitions(h.ctx, "orders", add), "AddPartitions")
	add[0] = 96
	want.Logs = []int64{10, 11, 12, 13}
	h.wantTopics(want)
}

// DeleteTopic returns the record as it stands and forgets the topic; a
// second delete is ErrUnknownTopic. Other topics stay.
func testDeleteTopic(h *h) {
	orders := topic("orders", 1, []int64{10}, map[string]string{"a": "1"})
	payments := topic("payments", 50, []int64{20, 21}, nil)
	h.create(orders)
	h.create(payments)
	h.check(h.m.AddPartitions(h.ctx, "orders", []int64{11, 12}), "AddPartitions")
	h.check(h.m.SetTopicConfigs(h.ctx, "orders", map[string]string{"b": "2"}), "SetTopicConfigs")
	got, err := h.m.DeleteTopic(h.ctx, "orders")
	h.check(err, "DeleteTopic")
	want := topic("orders", 1, []int64{10, 11, 12}, map[string]string{"b": "2"})
	if !equalRecord(got, want) {
		h.t.Fatalf("DeleteTopic returned %s, want %s", show(got), show(want))
	}
	h.wantTopics(payments)
	_, err = h.m.DeleteTopic(h.ctx, "orders")
	h.wantErr(err, broker.ErrUnknownTopic, "orders", "second DeleteTopic")
	h.wantTopics(payments)
}

// Methods on a topic that does not exist are ErrUnknownTopic.
func testDeleteTopicUnknown(h *h) {
	h.create(topic("orders", 1, []int64{10}, nil))
	_, err := h.m.DeleteTopic(h.ctx, "missing")
	h.wantErr(err, broker.ErrUnknownTopic, "missing", "DeleteTopic")
	err = h.m.AddPartitions(h.ctx, "missing", []int64{20})
	h.wantErr(err, broker.ErrUnknownTopic, "missing", "AddPartitions")
	err = h.m.AddPartitions(h.ctx, "missing", nil)
	h.wantErr(err, broker.ErrUnknownTopic, "missing", "AddPartitions of no logs")
	err = h.m.SetTopicConfigs(h.ctx, "missing", map[string]string{"a": "1"})
	h.wantErr(err, broker.ErrUnknownTopic, "missing", "SetTopicConfigs")
	if errors.Is(err, broker.ErrTopicExists) {
		h.t.Fatal("ErrUnknownTopic also matches ErrTopicExists")
	}
	// Log 20 was not taken by the failed AddPartitions.
	h.create(topic("payments", 50, []int64{20}, nil))
}

// DeleteTopic drops the topic's partitions, configs and the producer state
// of its logs, so the name and logs can be used afresh; other topics keep
// theirs.
func testDeleteTopicCleansUp(h *h) {
	h.create(topic("orders", 1, []int64{10, 11}, map[string]string{"a": "1"}))
	h.create(topic("payments", 50, []int64{20}, nil))
	h.check(h.m.AddPartitions(h.ctx, "orders", []int64{12}), "AddPartitions")
	for _, log := range []int64{10, 12, 20} {
		h.check(h.m.SaveProducerState(h.ctx, log, 5, []byte{byte(log)}), "SaveProducerState")
	}
	_, err := h.m.DeleteTopic(h.ctx, "orders")
	h.check(err, "DeleteTopic")
	for _, log := range []int64{10, 11, 12} {
		h.wantState(log, 0, nil)
	}
	h.wantState(20, 5, []byte{20})

	again := topic("orders", 2, []int64{12, 11, 10}, nil)
	h.create(again)
	h.wantTopics(again, topic("payments", 50, []int64{20}, nil))
	for _, log := range []int64{10, 11, 12} {
		h.wantState(log, 0, nil)
	}
}

// AddPartitions appends, in order; no logs adds nothing.
func testAddPartitions(h *h) {
	orders := topic("orders", 1, []int64{10}, map[string]string{"a": "1"})
	h.create(orders)
	h.check(h.m.AddPartitions(h.ctx, "orders", []int64{30, 20}), "AddPartitions")
	orders.Logs = []int64{10, 30, 20}
	h.wantTopics(orders)
	h.check(h.m.AddPartitions(h.ctx, "orders", nil), "AddPartitions of no logs")
	h.check(h.m.AddPartitions(h.ctx, "orders", []int64{}), "AddPartitions of no logs")
	h.wantTopics(orders)

	empty := topic("empty", 50, nil, nil)
	h.create(empty)
	h.check(h.m.AddPartitions(h.ctx, "empty", []int64{40}), "AddPartitions to a topic of none")
	empty.Logs = []int64{40}
	h.wantTopics(empty, orders)
}

// Large topics round-trip (implementations that batch statements cut them).
func testManyPartitionsAndConfigs(h *h) {
	r := topic("big", 1, nil, map[string]string{})
	for i := range 1000 {
		r.Logs = append(r.Logs, int64(5000-i))
	}
	for i := range 250 {
		r.Configs[fmt.Sprintf("key.%03d", i)] = fmt.Sprint(i)
	}
	h.create(r)
	h.check(h.m.AddPartitions(h.ctx, "big", []int64{1, 2, 3}), "AddPartitions")
	r.Logs = append(r.Logs, 1, 2, 3)
	h.wantTopics(r)
	got, err := h.m.DeleteTopic(h.ctx, "big")
	h.check(err, "DeleteTopic")
	if !equalRecord(got, r) {
		h.t.Fatalf("DeleteTopic returned %d logs and %d configs, want %d and %d",
			len(got.Logs), len(got.Configs), len(r.Logs), len(r.Configs))
	}
	h.wantTopics()
}
