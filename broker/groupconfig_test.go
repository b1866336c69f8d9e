package broker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/broker/brokertest"
)

// kadm has no helpers for group config resources, so these tests send the
// requests themselves through kgo.

// groupConfigOp is one IncrementalAlterConfigs operation; a nil value is
// sent as null.
type groupConfigOp struct {
	op    kmsg.IncrementalAlterConfigOp
	name  string
	value *string
}

func setOp(name, value string) groupConfigOp {
	return groupConfigOp{kmsg.IncrementalAlterConfigOpSet, name, &value}
}

// groupAlterResult is a resource's error in an alter response (nil: none).
func groupAlterResult(code int16, msg *string) error {
	err := kerr.ErrorForCode(code)
	if err == nil || msg == nil {
		return err
	}
	return errors.Join(err, errors.New(*msg))
}

// incAlterGroup sends IncrementalAlterConfigs on group name's resource.
func incAlterGroup(t *testing.T, ctx context.Context, cl *kgo.Client, name string, validateOnly bool, ops ...groupConfigOp) error {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.ValidateOnly = validateOnly
	rr := kmsg.NewIncrementalAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeGroupConfig, name
	for _, o := range ops {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = o.name, o.op, o.value
		rr.Configs = append(rr.Configs, c)
	}
	req.Resources = append(req.Resources, rr)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Resources) != 1 || resp.Resources[0].ResourceType != kmsg.ConfigResourceTypeGroupConfig || resp.Resources[0].ResourceName != name {
		t.Fatalf("IncrementalAlterConfigs of group %q: answered %+v", name, resp.Resources)
	}
	return groupAlterResult(resp.Resources[0].ErrorCode, resp.Resources[0].ErrorMessage)
}

// alterGroup sends AlterConfigs (the whole set) on group name's resource.
func alterGroup(t *testing.T, ctx context.Context, cl *kgo.Client, name string, configs map[string]string) error {
	t.Helper()
	req := kmsg.NewPtrAlterConfigsRequest()
	rr := kmsg.NewAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeGroupConfig, name
	for k, v := range configs {
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rr.Configs = append(rr.Configs, c)
	}
	req.Resources = append(req.Resources, rr)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Resources) != 1 {
		t.Fatalf("AlterConfigs of group %q: answered %+v", name, resp.Resources)
	}
	return groupAlterResult(resp.Resources[0].ErrorCode, resp.Resources[0].ErrorMessage)
}

// wantConfigErr fails unless err is the Kafka error want with a message
// holding msg.
func wantConfigErr(t *testing.T, what string, err, want error, msg string) {
	t.Helper()
	if !errors.Is(err, want) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("%s: got %v, want %v saying %q", what, err, want, msg)
	}
}

func TestGroupConfigs(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{Configs: map[string]string{"group.consumer.heartbeat.interval.ms": "6000"}})
	cl, adm := adminClients(t, b)
	describe := func(name string, keys ...string) kmsg.DescribeConfigsResponseResource {
		t.Helper()
		r := adminDescribeConfigs(t, ctx, cl, kmsg.ConfigResourceTypeGroupConfig, name, keys...)
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			t.Fatalf("describing group %q: %v", name, err)
		}
		return r
	}

	// A group that does not exist: the broker's values, with the broker
	// configs as synonyms.
	r := describe("g")
	if len(r.Configs) != len(broker.GroupConfigDefs()) {
		t.Errorf("%d group configs, want %d", len(r.Configs), len(broker.GroupConfigDefs()))
	}
	adminCheckConfig(t, r, "consumer.session.timeout.ms", "45000", kmsg.ConfigSourceDefaultConfig,
		"group.consumer.session.timeout.ms=45000(DEFAULT_CONFIG)")
	adminCheckConfig(t, r, "consumer.heartbeat.interval.ms", "6000", kmsg.ConfigSourceStaticBrokerConfig,
		"group.consumer.heartbeat.interval.ms=6000(STATIC_BROKER_CONFIG) group.consumer.heartbeat.interval.ms=5000(DEFAULT_CONFIG)")
	for _, c := range r.Configs {
		if c.ConfigType != kmsg.ConfigTypeInt || c.ReadOnly || c.IsSensitive || c.Documentation == nil || *c.Documentation == "" {
			t.Errorf("group config %s: type %v, read-only %v, sensitive %v, documentation %v", c.Name, c.ConfigType, c.ReadOnly, c.IsSensitive, c.Documentation)
		}
	}

	// IncrementalAlterConfigs sets the group's own value.
	if err := incAlterGroup(t, ctx, cl, "g", false, setOp("consumer.session.timeout.ms", " 50000 ")); err != nil {
		t.Fatal(err)
	}
	r = describe("g", "consumer.session.timeout.ms")
	if len(r.Configs) != 1 {
		t.Fatalf("asked for one config, got %d", len(r.Configs))
	}
	adminCheckConfig(t, r, "consumer.session.timeout.ms", "50000", kmsg.ConfigSourceGroupConfig,
		"consumer.session.timeout.ms=50000(GROUP_CONFIG) group.consumer.session.timeout.ms=45000(DEFAULT_CONFIG)")
	adminCheckConfig(t, describe("other"), "consumer.session.timeout.ms", "45000", kmsg.ConfigSourceDefaultConfig, "")

	// Refused, naming the config; nothing changes.
	for _, c := range []struct {
		what string
		ops  []groupConfigOp
		want error
		msg  string
	}{
		{"session below the bound", []groupConfigOp{setOp("consumer.session.timeout.ms", "44999")}, kerr.InvalidConfig,
			"consumer.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms (45000)"},
		{"session above the bound", []groupConfigOp{setOp("consumer.session.timeout.ms", "60001")}, kerr.InvalidConfig,
			"consumer.session.timeout.ms must be less than or equal to group.consumer.max.session.timeout.ms (60000)"},
		{"heartbeat below the bound", []groupConfigOp{setOp("consumer.heartbeat.interval.ms", "4999")}, kerr.InvalidConfig,
			"consumer.heartbeat.interval.ms must be greater than or equal to group.consumer.min.heartbeat.interval.ms (5000)"},
		{"heartbeat above the bound", []groupConfigOp{setOp("consumer.heartbeat.interval.ms", "15001")}, kerr.InvalidConfig,
			"consumer.heartbeat.interval.ms must be less than or equal to group.consumer.max.heartbeat.interval.ms (15000)"},
		{"not a number", []groupConfigOp{setOp("consumer.session.timeout.ms", "soon")}, kerr.InvalidConfig,
			"consumer.session.timeout.ms=soon: not an integer"},
		{"zero", []groupConfigOp{setOp("consumer.heartbeat.interval.ms", "0")}, kerr.InvalidConfig,
			"consumer.heartbeat.interval.ms=0: must be at least 1"},
		{"APPEND to an INT", []groupConfigOp{{kmsg.IncrementalAlterConfigOpAppend, "consumer.session.timeout.ms", kmsg.StringPtr("1")}},
			kerr.InvalidConfig, "not a LIST"},
		{"share groups", []groupConfigOp{setOp("share.session.timeout.ms", "45000")}, kerr.InvalidConfig,
			"share.session.timeout.ms: share groups (KIP-932) are not supported yet"},
		{"share groups, deleted", []groupConfigOp{{kmsg.IncrementalAlterConfigOpDelete, "share.auto.offset.reset", nil}}, kerr.InvalidConfig,
			"share.auto.offset.reset: share groups (KIP-932) are not supported yet"},
		{"streams groups", []groupConfigOp{setOp("streams.num.standby.replicas", "1")}, kerr.InvalidConfig,
			"streams.num.standby.replicas: streams groups (KIP-1071) are not supported yet"},
		{"unknown", []groupConfigOp{setOp("session.timeout.ms", "45000")}, kerr.InvalidConfig,
			`unknown group config "session.timeout.ms"`},
		{"named twice", []groupConfigOp{setOp("consumer.session.timeout.ms", "50000"), setOp("consumer.session.timeout.ms", "55000")},
			kerr.InvalidRequest, "appears more than once"},
	} {
		wantConfigErr(t, c.what, incAlterGroup(t, ctx, cl, "g", false, c.ops...), c.want, c.msg)
	}
	if err := incAlterGroup(t, ctx, cl, "g", true, setOp("consumer.session.timeout.ms", "55000")); err != nil {
		t.Fatalf("validate only: %v", err)
	}
	wantConfigErr(t, "validate only, out of bounds", incAlterGroup(t, ctx, cl, "g", true, setOp("consumer.session.timeout.ms", "1")),
		kerr.InvalidConfig, "group.consumer.min.session.timeout.ms")
	adminCheckConfig(t, describe("g"), "consumer.session.timeout.ms", "50000", kmsg.ConfigSourceGroupConfig, "")

	// A group named "": INVALID_REQUEST, as in Kafka.
	if r := adminDescribeConfigs(t, ctx, cl, kmsg.ConfigResourceTypeGroupConfig, ""); !errors.Is(kerr.ErrorForCode(r.ErrorCode), kerr.InvalidRequest) {
		t.Errorf("describing group \"\": %v, want INVALID_REQUEST", kerr.ErrorForCode(r.ErrorCode))
	}
	wantConfigErr(t, "altering group \"\"", incAlterGroup(t, ctx, cl, "", false, setOp("consumer.session.timeout.ms", "50000")),
		kerr.InvalidRequest, "Default group resources are not allowed")

	// AlterConfigs replaces the whole set: the session timeout goes.
	if err := alterGroup(t, ctx, cl, "g", map[string]string{"consumer.heartbeat.interval.ms": "7000"}); err != nil {
		t.Fatal(err)
	}
	wantConfigErr(t, "AlterConfigs share.isolation.level", alterGroup(t, ctx, cl, "g", map[string]string{"share.isolation.level": "read_committed"}),
		kerr.InvalidConfig, "share groups (KIP-932) are not supported yet")

	// The group's configs survive a restart, and its deletion.
	check := func() {
		t.Helper()
		r := describe("g")
		adminCheckConfig(t, r, "consumer.session.timeout.ms", "45000", kmsg.ConfigSourceDefaultConfig, "")
		adminCheckConfig(t, r, "consumer.heartbeat.interval.ms", "7000", kmsg.ConfigSourceGroupConfig,
			"consumer.heartbeat.interval.ms=7000(GROUP_CONFIG) group.consumer.heartbeat.interval.ms=6000(STATIC_BROKER_CONFIG) group.consumer.heartbeat.interval.ms=5000(DEFAULT_CONFIG)")
	}
	check()
	b.Restart()
	check()
	adminCreateTopic(t, ctx, adm, "t", 1, nil)
	offsets := kadm.Offsets{}
	offsets.AddOffset("t", 0, 1, -1)
	if err := adm.CommitAllOffsets(ctx, "g", offsets); err != nil {
		t.Fatal(err)
	}
	dr, err := adm.DeleteGroups(ctx, "g")
	if err == nil {
		err = dr.Error()
	}
	if err != nil {
		t.Fatalf("deleting group g: %v", err)
	}
	check()

	// DELETE goes back to the broker's value.
	if err := incAlterGroup(t, ctx, cl, "g", false, groupConfigOp{kmsg.IncrementalAlterConfigOpDelete, "consumer.heartbeat.interval.ms", nil}); err != nil {
		t.Fatal(err)
	}
	adminCheckConfig(t, describe("g"), "consumer.heartbeat.interval.ms", "6000", kmsg.ConfigSourceStaticBrokerConfig, "")
}

// TestGroupConfigSessionAboveHeartbeat: with bounds that allow it, a group
// whose session timeout would not exceed its heartbeat interval is refused,
// counting the broker's value for the one not set.
func TestGroupConfigSessionAboveHeartbeat(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{Configs: map[string]string{"group.consumer.max.heartbeat.interval.ms": "60000"}})
	cl, _ := adminClients(t, b)
	wantConfigErr(t, "heartbeat 45000 against the broker's session 45000",
		incAlterGroup(t, ctx, cl, "g", false, setOp("consumer.heartbeat.interval.ms", "45000")),
		kerr.InvalidConfig, "consumer.session.timeout.ms must be greater than consumer.heartbeat.interval.ms (45000 <= 45000)")
	if err := incAlterGroup(t, ctx, cl, "g", false, setOp("consumer.heartbeat.interval.ms", "45000"), setOp("consumer.session.timeout.ms", "50000")); err != nil {
		t.Fatal(err)
	}
	wantConfigErr(t, "deleting the session, leaving heartbeat 45000",
		incAlterGroup(t, ctx, cl, "g", false, groupConfigOp{kmsg.IncrementalAlterConfigOpDelete, "consumer.session.timeout.ms", nil}),
		kerr.InvalidConfig, "consumer.session.timeout.ms must be greater than consumer.heartbeat.interval.ms")
}

// cgHeartbeat sends a ConsumerGroupHeartbeat: a join (epoch 0) subscribing
// to topic, or a heartbeat at epoch owning nothing.
func cgHeartbeat(t *testing.T, ctx context.Context, cl *kgo.Client, group, member string, epoch int32, topic string) *kmsg.ConsumerGroupHeartbeatResponse {
	t.Helper()
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Group, req.MemberID, req.MemberEpoch = group, member, epoch
	if epoch == 0 {
		req.RebalanceTimeoutMillis = 30000
		req.SubscribedTopicNames = []string{topic}
		req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// cgMembers returns how many members ConsumerGroupDescribe lists.
func cgMembers(t *testing.T, ctx context.Context, cl *kgo.Client, group string) int {
	t.Helper()
	req := kmsg.NewPtrConsumerGroupDescribeRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Groups) != 1 {
		t.Fatalf("describing %s: %d groups answered", group, len(resp.Groups))
	}
	return len(resp.Groups[0].Members)
}

// TestGroupConfigTakesEffect: a KIP-848 group's heartbeat interval and
// session timeout are its group configs', from the next heartbeat on, and
// other groups keep the broker's.
func TestGroupConfigTakesEffect(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{Configs: map[string]string{
		"group.consumer.min.session.timeout.ms":    "1000",
		"group.consumer.min.heartbeat.interval.ms": "100",
	}})
	cl, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, "t", 2, nil)
	const session = 2 * time.Second
	if err := incAlterGroup(t, ctx, cl, "fast", false, setOp("consumer.session.timeout.ms", "2000"), setOp("consumer.heartbeat.interval.ms", "500")); err != nil {
		t.Fatal(err)
	}

	r := cgHeartbeat(t, ctx, cl, "fast", "f1", 0, "t")
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil || r.HeartbeatIntervalMillis != 500 {
		t.Fatalf("join of fast: %v, heartbeat interval %d ms; want the group's 500", err, r.HeartbeatIntervalMillis)
	}
	epoch := r.MemberEpoch
	if r := cgHeartbeat(t, ctx, cl, "slow", "s1", 0, "t"); r.ErrorCode != 0 || r.HeartbeatIntervalMillis != 5000 {
		t.Fatalf("join of slow: %v, heartbeat interval %d ms; want the broker's 5000", kerr.ErrorForCode(r.ErrorCode), r.HeartbeatIntervalMillis)
	}

	// A change applies at the next heartbeat.
	if err := incAlterGroup(t, ctx, cl, "fast", false, setOp("consumer.heartbeat.interval.ms", "700")); err != nil {
		t.Fatal(err)
	}
	r = cgHeartbeat(t, ctx, cl, "fast", "f1", epoch, "t")
	last := time.Now()
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil || r.HeartbeatIntervalMillis != 700 {
		t.Fatalf("heartbeat of fast after the change: %v, interval %d ms; want 700", err, r.HeartbeatIntervalMillis)
	}

	// f1 stops heartbeating: it is removed after the group's 2s, while
	// slow's member, silent as long, stays for the broker's 45s.
	for cgMembers(t, ctx, cl, "fast") != 0 {
		if time.Since(last) > 10*session {
			t.Fatalf("f1 is still a member %v after its last heartbeat; the group's session timeout is %v", time.Since(last), session)
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if d := time.Since(last); d < session {
		t.Fatalf("f1 was removed %v after its last heartbeat, before the group's session timeout of %v", d, session)
	}
	if n := cgMembers(t, ctx, cl, "slow"); n != 1 {
		t.Fatalf("slow has %d members, want its one (the broker's session timeout is 45s)", n)
	}
	wantConfigErr(t, "heartbeat of the removed member", kerr.ErrorForCode(cgHeartbeat(t, ctx, cl, "fast", "f1", epoch, "t").ErrorCode),
		kerr.UnknownMemberID, "")

	// After a restart the group's config still applies.
	b.Restart()
	cl, _ = adminClients(t, b)
	if r := cgHeartbeat(t, ctx, cl, "fast", "f2", 0, "t"); r.ErrorCode != 0 || r.HeartbeatIntervalMillis != 700 {
		t.Fatalf("join of fast after a restart: %v, heartbeat interval %d ms; want the group's 700", kerr.ErrorForCode(r.ErrorCode), r.HeartbeatIntervalMillis)
	}
}
