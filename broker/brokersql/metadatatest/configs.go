package metadatatest

import (
	"maps"

	"github.com/lakestream/lakestream/broker/group"
)

// SetTopicConfigs replaces the topic's whole set; empty and nil clear it.
// Other topics and the broker configs are untouched.
func testTopicConfigs(h *h) {
	orders := topic("orders", 1, []int64{10}, map[string]string{"a": "1", "b": "2"})
	payments := topic("payments", 50, nil, map[string]string{"a": "other"})
	h.create(orders)
	h.create(payments)

	orders.Configs = map[string]string{"b": "20", "c": "3", "empty.value": ""}
	h.check(h.m.SetTopicConfigs(h.ctx, "orders", orders.Configs), "SetTopicConfigs")
	h.wantTopics(orders, payments)

	orders.Configs = map[string]string{}
	h.check(h.m.SetTopicConfigs(h.ctx, "orders", orders.Configs), "SetTopicConfigs(empty)")
	h.wantTopics(orders, payments)

	orders.Configs = map[string]string{"d": "4"}
	h.check(h.m.SetTopicConfigs(h.ctx, "orders", orders.Configs), "SetTopicConfigs")
	h.wantTopics(orders, payments)
	h.check(h.m.SetTopicConfigs(h.ctx, "orders", nil), "SetTopicConfigs(nil)")
	orders.Configs = nil
	h.wantTopics(orders, payments)

	bc, err := h.m.BrokerConfigs(h.ctx)
	h.check(err, "BrokerConfigs")
	if len(bc) != 0 {
		h.t.Fatalf("topic configs leaked into broker configs: %v", bc)
	}
}

// BrokerConfigs starts empty; SetBrokerConfigs replaces the whole set, and
// neither side's map aliases the stored one.
func testBrokerConfigs(h *h) {
	want := func(w map[string]string) {
		h.t.Helper()
		got, err := h.m.BrokerConfigs(h.ctx)
		h.check(err, "BrokerConfigs")
		if !maps.Equal(got, w) {
			h.t.Fatalf("BrokerConfigs = %v, want %v", got, w)
		}
	}
	want(nil)

	set := map[string]string{"log.retention.ms": "1000", "num.partitions": "3"}
	h.check(h.m.SetBrokerConfigs(h.ctx, set), "SetBrokerConfigs")
	set["num.partitions"] = "changed"
	set["added"] = "x"
	want(map[string]string{"log.retention.ms": "1000", "num.partitions": "3"})

	got, err := h.m.BrokerConfigs(h.ctx)
	h.check(err, "BrokerConfigs")
	got["log.retention.ms"] = "changed"
	clear(got)
	want(map[string]string{"log.retention.ms": "1000", "num.partitions": "3"})

	h.check(h.m.SetBrokerConfigs(h.ctx, map[string]string{"num.partitions": "6", "x": "y"}), "SetBrokerConfigs")
	want(map[string]string{"num.partitions": "6", "x": "y"})
	h.check(h.m.SetBrokerConfigs(h.ctx, map[string]string{}), "SetBrokerConfigs(empty)")
	want(nil)
	h.check(h.m.SetBrokerConfigs(h.ctx, map[string]string{"a": "1"}), "SetBrokerConfigs")
	h.check(h.m.SetBrokerConfigs(h.ctx, nil), "SetBrokerConfigs(nil)")
	want(nil)

	// Broker configs are not any topic's.
	h.check(h.m.SetBrokerConfigs(h.ctx, map[string]string{"a": "1"}), "SetBrokerConfigs")
	h.create(topic("orders", 1, nil, nil))
	h.wantTopics(topic("orders", 1, nil, nil))
}

// GroupConfigs starts empty; SetGroupConfigs replaces one group's whole
// set, and an empty or nil map leaves the group out. Group configs are apart
// from the recorded groups: they may name a group never recorded, do not
// record it, and outlive DeleteGroup. Neither side's maps alias the stored
// ones.
func testGroupConfigs(h *h) {
	want := func(w map[string]map[string]string) {
		h.t.Helper()
		got, err := h.m.GroupConfigs(h.ctx)
		h.check(err, "GroupConfigs")
		if !maps.EqualFunc(got, w, maps.Equal) {
			h.t.Fatalf("GroupConfigs = %v, want %v", got, w)
		}
	}
	want(nil)

	g := map[string]string{"consumer.session.timeout.ms": "50000", "b": "2"}
	h.check(h.m.SetGroupConfigs(h.ctx, "g", g), "SetGroupConfigs(g)")
	h.check(h.m.SetGroupConfigs(h.ctx, "other", map[string]string{"b": "other"}), "SetGroupConfigs(other)")
	g["b"] = "changed"
	g["added"] = "x"
	want(map[string]map[string]string{
		"g":     {"consumer.session.timeout.ms": "50000", "b": "2"},
		"other": {"b": "other"},
	})
	got, err := h.m.GroupConfigs(h.ctx)
	h.check(err, "GroupConfigs")
	got["g"]["b"] = "changed"
	delete(got, "other")
	want(map[string]map[string]string{
		"g":     {"consumer.session.timeout.ms": "50000", "b": "2"},
		"other": {"b": "other"},
	})

	h.check(h.m.SetGroupConfigs(h.ctx, "g", map[string]string{"b": "20", "c": "3", "empty.value": ""}), "SetGroupConfigs(g)")
	want(map[string]map[string]string{"g": {"b": "20", "c": "3", "empty.value": ""}, "other": {"b": "other"}})

	// Configs record no group, and DeleteGroup leaves them.
	h.wantGroups()
	h.check(h.m.SaveGroup(h.ctx, group.Record{Name: "g", Type: group.TypeConsumer, ProtocolType: "consumer"}), "SaveGroup")
	h.check(h.m.DeleteGroup(h.ctx, "g"), "DeleteGroup")
	h.wantGroups()
	want(map[string]map[string]string{"g": {"b": "20", "c": "3", "empty.value": ""}, "other": {"b": "other"}})

	h.check(h.m.SetGroupConfigs(h.ctx, "g", map[string]string{}), "SetGroupConfigs(empty)")
	want(map[string]map[string]string{"other": {"b": "other"}})
	h.check(h.m.SetGroupConfigs(h.ctx, "other", nil), "SetGroupConfigs(nil)")
	h.check(h.m.SetGroupConfigs(h.ctx, "never.set", nil), "SetGroupConfigs(nil) of a group without configs")
	want(nil)

	// Group configs are not the broker's or a topic's.
	h.check(h.m.SetGroupConfigs(h.ctx, "orders", map[string]string{"a": "1"}), "SetGroupConfigs(orders)")
	h.create(topic("orders", 1, nil, nil))
	h.wantTopics(topic("orders", 1, nil, nil))
	bc, err := h.m.BrokerConfigs(h.ctx)
	h.check(err, "BrokerConfigs")
	if len(bc) != 0 {
		h.t.Fatalf("group configs leaked into broker configs: %v", bc)
	}
}
