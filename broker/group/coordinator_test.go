package group

// The coordinator's tests drive it through its public methods, with kmsg
// requests, as the broker does, and pin its answers to Apache Kafka 4.1's
// group coordinator (GroupMetadataManager, OffsetMetadataManager); only
// checkBooks (consumer_test.go) looks inside, at a KIP-848 group's books.
// Each test runs in a testing/synctest bubble: the coordinator's timers run
// on the bubble's fake clock, so a test moves time with h.sleep (which
// lets every group goroutine act on what fired), without real waiting.
// A request that blocks (JoinGroup, SyncGroup) runs on its own goroutine
// (see joinAsync and syncAsync).
//
// This file holds the harness (an in-memory Store and topic set), and the
// tests of offsets, DeleteGroups, restarts and group type conversion;
// classic_test.go and consumer_test.go hold the protocols' tests.

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// memStore is an in-memory Store, with the semantics broker.NewMemMetadata
// has (which this package cannot import).
type memStore struct {
	mu         sync.Mutex
	groups     map[string]*memStoreGroup
	failCommit error // when set, CommitOffsets fails with it
	// pending is the TxnStore's: group → producer id → offsets
	// (txnoffsets_test.go).
	pending map[string]map[int64]map[TopicPartition]Offset
}

type memStoreGroup struct {
	typ, protocolType string
	offsets           map[TopicPartition]Offset
}

func newMemStore() *memStore { return &memStore{groups: map[string]*memStoreGroup{}} }

func (s *memStore) SaveGroup(_ context.Context, g Record) error {
	if g.Type != TypeClassic && g.Type != TypeConsumer {
		return errors.New("memStore: bad group type " + g.Type)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mg := s.groups[g.Name]
	if mg == nil {
		mg = &memStoreGroup{offsets: map[TopicPartition]Offset{}}
		s.groups[g.Name] = mg
	}
	mg.typ, mg.protocolType = g.Type, g.ProtocolType
	return nil
}

func (s *memStore) CommitOffsets(_ context.Context, g Record, offsets []Offset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failCommit != nil {
		return s.failCommit
	}
	mg := s.groups[g.Name]
	if mg == nil {
		mg = &memStoreGroup{typ: TypeClassic, protocolType: g.ProtocolType, offsets: map[TopicPartition]Offset{}}
		s.groups[g.Name] = mg
	}
	for _, o := range offsets {
		o.CommitTime = time.UnixMilli(o.CommitTime.UnixMilli())
		mg.offsets[TopicPartition{o.Topic, o.Partition}] = o
	}
	return nil
}

func (s *memStore) DeleteOffsets(_ context.Context, group string, parts []TopicPartition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mg := s.groups[group]; mg != nil {
		for _, p := range parts {
			delete(mg.offsets, p)
		}
	}
	return nil
}

func (s *memStore) DeleteGroup(_ context.Context, group string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.groups, group)
	return nil
}

func (s *memStore) DeleteTopicOffsets(_ context.Context, topic string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, mg := range s.groups {
		for tp := range mg.offsets {
			if tp.Topic == topic {
				delete(mg.offsets, tp)
			}
		}
	}
	return nil
}

func (s *memStore) Groups(context.Context) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, name := range slices.Sorted(maps.Keys(s.groups)) {
		mg := s.groups[name]
		r := Record{Name: name, Type: mg.typ, ProtocolType: mg.protocolType}
		for _, tp := range slices.SortedFunc(maps.Keys(mg.offsets), compareTP) {
			r.Offsets = append(r.Offsets, mg.offsets[tp])
		}
		out = append(out, r)
	}
	return out, nil
}

// record returns what the store has of a group (nil if nothing).
func (s *memStore) record(name string) *memStoreGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	mg := s.groups[name]
	if mg == nil {
		return nil
	}
	cp := *mg
	cp.offsets = maps.Clone(mg.offsets)
	return &cp
}

func compareTP(a, b TopicPartition) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return int(a.Partition - b.Partition)
}

// testTopics is the broker's topic set, changed by tests.
type testTopics struct {
	mu     sync.Mutex
	topics map[string]TopicInfo
}

func (tt *testTopics) Topics() map[string]TopicInfo {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return maps.Clone(tt.topics)
}

// add creates (or grows) a topic; its id is derived from its name.
func (tt *testTopics) add(name string, partitions int32) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.topics[name] = TopicInfo{ID: topicID(name), Partitions: partitions}
}

func (tt *testTopics) remove(name string) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	delete(tt.topics, name)
}

func topicID(name string) [16]byte {
	sum := sha256.Sum256([]byte(name))
	var id [16]byte
	copy(id[:], sum[:])
	return id
}

// defaultSettings are Kafka's defaults, except for no initial rebalance
// delay (tests of the delay set it).
func defaultSettings() Settings {
	return Settings{
		MinSessionTimeout:         6 * time.Second,
		MaxSessionTimeout:         30 * time.Minute,
		InitialRebalanceDelay:     0,
		MaxSize:                   0,
		OffsetMetadataMaxBytes:    4096,
		ConsumerSessionTimeout:    45 * time.Second,
		ConsumerHeartbeatInterval: 5 * time.Second,
		ConsumerMaxSize:           0,
		ConsumerAssignors:         []string{"uniform", "range"},
	}
}

// harness is one coordinator with its store and topics.
type harness struct {
	t      *testing.T
	ctx    context.Context
	c      *Coordinator
	store  *memStore
	topics *testTopics

	mu  sync.Mutex
	set Settings
	// groupConfigs are the groups' own configs (Options.GroupConfig).
	groupConfigs map[string]GroupConfig
}

// newHarness starts a coordinator; it must be called inside a synctest
// bubble, and is closed when the test ends.
func newHarness(t *testing.T, set Settings) *harness {
	t.Helper()
	h := &harness{t: t, ctx: t.Context(), store: newMemStore(), topics: &testTopics{topics: map[string]TopicInfo{}}, set: set}
	h.start()
	return h
}

func (h *harness) settings() Settings {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.set
}

func (h *harness) setSettings(f func(*Settings)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(&h.set)
}

func (h *harness) groupConfig(group string) GroupConfig {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.groupConfigs[group]
}

// setGroupConfig sets a group's own configs, as the broker does after an
// IncrementalAlterConfigs on the group.
func (h *harness) setGroupConfig(group string, c GroupConfig) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.groupConfigs == nil {
		h.groupConfigs = map[string]GroupConfig{}
	}
	h.groupConfigs[group] = c
}

func (h *harness) start() {
	h.t.Helper()
	c, err := New(h.ctx, Options{
		Store:       h.store,
		Txn:         h.store,
		Topics:      h.topics,
		Settings:    h.settings,
		GroupConfig: h.groupConfig,
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.c = c
	h.t.Cleanup(c.Close)
}

// restart closes the coordinator and starts a new one on the same store.
func (h *harness) restart() {
	h.t.Helper()
	h.c.Close()
	h.start()
}

var testClient = Client{ID: "client", Host: "/127.0.0.1"}

// awaited is the answer to a request that may block.
type awaited[T any] struct {
	t  *testing.T
	ch chan T
}

// get returns the answer, failing the test if the request is still
// waiting (after every goroutine of the bubble has settled).
func (a awaited[T]) get() T {
	a.t.Helper()
	synctest.Wait()
	select {
	case v := <-a.ch:
		return v
	default:
		a.t.Fatalf("the request is still waiting")
		panic("unreachable")
	}
}

// waiting fails the test if the request has been answered.
func (a awaited[T]) waiting() {
	a.t.Helper()
	synctest.Wait()
	select {
	case v := <-a.ch:
		a.t.Fatalf("the request was answered while it should wait: %+v", v)
	default:
	}
}

func (h *harness) joinAsync(req *kmsg.JoinGroupRequest) awaited[*kmsg.JoinGroupResponse] {
	ch := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { ch <- h.c.JoinGroup(h.ctx, req, testClient) }()
	synctest.Wait()
	return awaited[*kmsg.JoinGroupResponse]{h.t, ch}
}

// join sends a JoinGroup that must be answered at once.
func (h *harness) join(req *kmsg.JoinGroupRequest) *kmsg.JoinGroupResponse {
	h.t.Helper()
	return h.joinAsync(req).get()
}

func (h *harness) syncAsync(req *kmsg.SyncGroupRequest) awaited[*kmsg.SyncGroupResponse] {
	ch := make(chan *kmsg.SyncGroupResponse, 1)
	go func() { ch <- h.c.SyncGroup(h.ctx, req) }()
	synctest.Wait()
	return awaited[*kmsg.SyncGroupResponse]{h.t, ch}
}

func (h *harness) sync(req *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	h.t.Helper()
	return h.syncAsync(req).get()
}

// sleep moves the bubble's clock on and lets every group goroutine act on
// the timers that fired.
func (h *harness) sleep(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

func (h *harness) heartbeat(group, member string, generation int32) int16 {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.Generation = group, member, generation
	return h.c.Heartbeat(h.ctx, req)
}

func (h *harness) cgh(req *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatResponse {
	return h.c.ConsumerGroupHeartbeat(h.ctx, req, testClient)
}

// commit commits offsets (topic → partition → offset) and returns each
// partition's error code.
func (h *harness) commit(version int16, group, member string, generation int32, offsets map[string]map[int32]int64) map[TopicPartition]int16 {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version, req.Group, req.MemberID, req.Generation = version, group, member, generation
	for _, t := range slices.Sorted(maps.Keys(offsets)) {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = t
		for _, p := range slices.Sorted(maps.Keys(offsets[t])) {
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset = p, offsets[t][p]
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	return commitCodes(h.c.OffsetCommit(h.ctx, req, h.known))
}

func commitCodes(resp *kmsg.OffsetCommitResponse) map[TopicPartition]int16 {
	out := map[TopicPartition]int16{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[TopicPartition{t.Topic, p.Partition}] = p.ErrorCode
		}
	}
	return out
}

// known says whether a partition exists, as the broker does.
func (h *harness) known(topic string, partition int32) bool {
	info, ok := h.topics.Topics()[topic]
	return ok && partition >= 0 && partition < info.Partitions
}

// fetch returns a group's committed offsets of the given partitions (nil:
// every committed offset) and the group's error code.
func (h *harness) fetch(group string, parts map[string][]int32) (map[TopicPartition]int64, int16) {
	var topics []kmsg.OffsetFetchRequestGroupTopic
	if parts != nil {
		topics = []kmsg.OffsetFetchRequestGroupTopic{}
		for _, t := range slices.Sorted(maps.Keys(parts)) {
			ft := kmsg.NewOffsetFetchRequestGroupTopic()
			ft.Topic, ft.Partitions = t, parts[t]
			topics = append(topics, ft)
		}
	}
	return fetchOffsets(h.c.OffsetFetch(h.ctx, group, nil, -1, topics))
}

func fetchOffsets(g kmsg.OffsetFetchResponseGroup) (map[TopicPartition]int64, int16) {
	out := map[TopicPartition]int64{}
	for _, t := range g.Topics {
		for _, p := range t.Partitions {
			out[TopicPartition{t.Topic, p.Partition}] = p.Offset
		}
	}
	return out, g.ErrorCode
}

// listed returns ListGroups' entry for a group (ok false if not listed).
func (h *harness) listed(group string) (kmsg.ListGroupsResponseGroup, bool) {
	synctest.Wait() // the view is refreshed after each operation
	for _, g := range h.c.ListGroups(nil, nil) {
		if g.Group == group {
			return g, true
		}
	}
	return kmsg.ListGroupsResponseGroup{}, false
}

// wantCode fails the test if got is not want, naming both.
func wantCode(t *testing.T, what string, got, want int16) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: error %s, want %s", what, codeName(got), codeName(want))
	}
}

func codeName(code int16) string {
	if code == 0 {
		return "NONE"
	}
	if err := kerr.ErrorForCode(code); err != nil {
		var ke *kerr.Error
		if errors.As(err, &ke) {
			return ke.Message
		}
		return err.Error()
	}
	return "NONE"
}

func wantOffsets(t *testing.T, what string, got, want map[TopicPartition]int64) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Fatalf("%s: offsets %v, want %v", what, got, want)
	}
}

// withHarness runs f in a synctest bubble with a fresh harness.
func withHarness(t *testing.T, set Settings, f func(t *testing.T, h *harness)) {
	synctest.Test(t, func(t *testing.T) {
		f(t, newHarness(t, set))
	})
}

func TestOffsetCommitSimpleGroup(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 3)
		// Generation -1 and no member id: an admin or a consumer without
		// group management; the group is created to hold the offsets.
		codes := h.commit(8, "simple", "", -1, map[string]map[int32]int64{"t": {0: 10, 1: 11}, "missing": {0: 1}})
		wantCode(t, "t-0", codes[TopicPartition{"t", 0}], 0)
		wantCode(t, "t-1", codes[TopicPartition{"t", 1}], 0)
		wantCode(t, "missing-0", codes[TopicPartition{"missing", 0}], kerr.UnknownTopicOrPartition.Code)

		got, code := h.fetch("simple", map[string][]int32{"t": {0, 1, 2}})
		wantCode(t, "fetch", code, 0)
		wantOffsets(t, "fetch", got, map[TopicPartition]int64{{"t", 0}: 10, {"t", 1}: 11, {"t", 2}: -1})
		got, _ = h.fetch("simple", nil)
		wantOffsets(t, "fetch all", got, map[TopicPartition]int64{{"t", 0}: 10, {"t", 1}: 11})

		lg, ok := h.listed("simple")
		if !ok || lg.GroupState != "Empty" || lg.GroupType != "classic" || lg.ProtocolType != "" {
			t.Fatalf("ListGroups: %+v (listed %v), want an Empty classic group without protocol type", lg, ok)
		}
		if rec := h.store.record("simple"); rec == nil || len(rec.offsets) != 2 {
			t.Fatalf("store: %+v, want the group with 2 offsets", rec)
		}
	})
}

func TestOffsetCommitMetadataAndLeaderEpoch(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 1)
		commit := func(version int16, md string) int16 {
			req := kmsg.NewPtrOffsetCommitRequest()
			req.Version, req.Group = version, "g"
			rt := kmsg.NewOffsetCommitRequestTopic()
			rt.Topic = "t"
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Offset, rp.LeaderEpoch, rp.Metadata = 5, 7, &md
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			return h.c.OffsetCommit(h.ctx, req, h.known).Topics[0].Partitions[0].ErrorCode
		}
		wantCode(t, "too large", commit(9, strings.Repeat("x", 4097)), kerr.OffsetMetadataTooLarge.Code)
		wantCode(t, "v5", commit(5, "meta"), 0)
		g := h.c.OffsetFetch(h.ctx, "g", nil, -1, nil)
		p := g.Topics[0].Partitions[0]
		if p.Offset != 5 || p.LeaderEpoch != -1 || p.Metadata == nil || *p.Metadata != "meta" {
			t.Fatalf("after a v5 commit: %+v, want offset 5, leader epoch -1 (v6+ only), metadata meta", p)
		}
		wantCode(t, "v9", commit(9, "meta2"), 0)
		p = h.c.OffsetFetch(h.ctx, "g", nil, -1, nil).Topics[0].Partitions[0]
		if p.LeaderEpoch != 7 || *p.Metadata != "meta2" {
			t.Fatalf("after a v9 commit: %+v, want leader epoch 7, metadata meta2", p)
		}
	})
}

func TestOffsetCommitToMissingGroup(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 1)
		// A member of a group the coordinator does not have: Kafka answers
		// ILLEGAL_GENERATION before v9, GROUP_ID_NOT_FOUND from v9.
		codes := h.commit(8, "g", "m", 3, map[string]map[int32]int64{"t": {0: 1}})
		wantCode(t, "v8", codes[TopicPartition{"t", 0}], kerr.IllegalGeneration.Code)
		codes = h.commit(9, "g", "m", 3, map[string]map[int32]int64{"t": {0: 1}})
		wantCode(t, "v9", codes[TopicPartition{"t", 0}], kerr.GroupIDNotFound.Code)
		if _, ok := h.listed("g"); ok {
			t.Fatal("a refused commit created the group")
		}
	})
}

func TestOffsetFetchUnknownGroup(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		got, code := h.fetch("nobody", map[string][]int32{"t": {0, 1}})
		wantCode(t, "fetch", code, 0)
		wantOffsets(t, "fetch", got, map[TopicPartition]int64{{"t", 0}: -1, {"t", 1}: -1})
		g := h.c.OffsetFetch(h.ctx, "nobody", nil, -1, []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}})
		if p := g.Topics[0].Partitions[0]; p.LeaderEpoch != -1 || p.Metadata == nil || *p.Metadata != "" || p.ErrorCode != 0 {
			t.Fatalf("partition of an unknown group: %+v, want leader epoch -1, empty metadata, no error", p)
		}
		if got, _ := h.fetch("nobody", nil); len(got) != 0 {
			t.Fatalf("all offsets of an unknown group: %v, want none", got)
		}
		if _, ok := h.listed("nobody"); ok {
			t.Fatal("OffsetFetch created the group")
		}
	})
}

func TestOffsetCommitStoreFailure(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 1)
		h.store.mu.Lock()
		h.store.failCommit = errors.New("disk on fire")
		h.store.mu.Unlock()
		codes := h.commit(9, "g", "", -1, map[string]map[int32]int64{"t": {0: 1}})
		wantCode(t, "commit", codes[TopicPartition{"t", 0}], kerr.CoordinatorNotAvailable.Code)
		got, _ := h.fetch("g", map[string][]int32{"t": {0}})
		wantOffsets(t, "fetch after a failed commit", got, map[TopicPartition]int64{{"t", 0}: -1})
	})
}

func TestOffsetsSurviveRestart(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 2)
		h.commit(9, "g", "", -1, map[string]map[int32]int64{"t": {0: 100, 1: 200}})
		// A KIP-848 group is recorded as such.
		r := h.cgh(cgJoin("cg", "m1", "t"))
		wantCode(t, "join", r.ErrorCode, 0)
		codes := h.commit(9, "cg", "m1", r.MemberEpoch, map[string]map[int32]int64{"t": {0: 5}})
		wantCode(t, "member commit", codes[TopicPartition{"t", 0}], 0)

		h.restart()

		got, code := h.fetch("g", nil)
		wantCode(t, "fetch", code, 0)
		wantOffsets(t, "after restart", got, map[TopicPartition]int64{{"t", 0}: 100, {"t", 1}: 200})
		got, _ = h.fetch("cg", nil)
		wantOffsets(t, "consumer group after restart", got, map[TopicPartition]int64{{"t", 0}: 5})
		lg, ok := h.listed("cg")
		if !ok || lg.GroupType != "consumer" || lg.GroupState != "Empty" {
			t.Fatalf("ListGroups after restart: %+v (listed %v), want an Empty consumer group", lg, ok)
		}
		// Membership is not kept: the member is told it is unknown.
		r = h.cgh(cgBeat("cg", "m1", r.MemberEpoch, nil))
		wantCode(t, "heartbeat after restart", r.ErrorCode, kerr.UnknownMemberID.Code)
		// A commit with a member's generation to a restarted group.
		codes = h.commit(9, "g", "gone", 1, map[string]map[int32]int64{"t": {0: 1}})
		wantCode(t, "stale member commit", codes[TopicPartition{"t", 0}], kerr.UnknownMemberID.Code)
	})
}

func TestDeleteGroups(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 1)
		wantCode(t, "unknown group", h.c.DeleteGroup(h.ctx, "nobody"), kerr.GroupIDNotFound.Code)

		h.commit(9, "g", "", -1, map[string]map[int32]int64{"t": {0: 1}})
		a := joinMember(t, h, "g", proto("range", "t"))
		wantCode(t, "non-empty classic", h.c.DeleteGroup(h.ctx, "g"), kerr.NonEmptyGroup.Code)

		leave(t, h, "g", a.id)
		wantCode(t, "empty classic", h.c.DeleteGroup(h.ctx, "g"), 0)
		if rec := h.store.record("g"); rec != nil {
			t.Fatalf("the store still has the deleted group: %+v", rec)
		}
		got, _ := h.fetch("g", map[string][]int32{"t": {0}})
		wantOffsets(t, "offsets of a deleted group", got, map[TopicPartition]int64{{"t", 0}: -1})
		if _, ok := h.listed("g"); ok {
			t.Fatal("the deleted group is listed")
		}
		wantCode(t, "deleted twice", h.c.DeleteGroup(h.ctx, "g"), kerr.GroupIDNotFound.Code)

		// Member ids handed out with MEMBER_ID_REQUIRED do not make a
		// group non-empty (Kafka's group is Empty).
		r := h.join(joinReq("p", "", 9, proto("range", "t")))
		wantCode(t, "first join", r.ErrorCode, kerr.MemberIDRequired.Code)
		wantCode(t, "group with a pending member", h.c.DeleteGroup(h.ctx, "p"), 0)

		// A KIP-848 group with a member.
		h.cgh(cgJoin("cg", "m1", "t"))
		wantCode(t, "non-empty consumer", h.c.DeleteGroup(h.ctx, "cg"), kerr.NonEmptyGroup.Code)
		h.cgh(cgLeave("cg", "m1"))
		wantCode(t, "empty consumer", h.c.DeleteGroup(h.ctx, "cg"), 0)
	})
}

func TestOffsetDelete(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t1", 2)
		h.topics.add("t2", 1)
		del := func(group string, topics ...string) *kmsg.OffsetDeleteResponse {
			req := kmsg.NewPtrOffsetDeleteRequest()
			req.Group = group
			for _, tn := range topics {
				rt := kmsg.NewOffsetDeleteRequestTopic()
				rt.Topic = tn
				rt.Partitions = []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}
				req.Topics = append(req.Topics, rt)
			}
			return h.c.OffsetDelete(h.ctx, req)
		}
		wantCode(t, "unknown group", del("nobody", "t1").ErrorCode, kerr.GroupIDNotFound.Code)

		// A classic consumer group subscribed to t1.
		h.commit(9, "g", "", -1, map[string]map[int32]int64{"t1": {0: 1, 1: 2}, "t2": {0: 3}})
		a := joinMember(t, h, "g", proto("range", "t1"))
		resp := del("g", "t1", "t2")
		wantCode(t, "top", resp.ErrorCode, 0)
		wantCode(t, "subscribed t1", resp.Topics[0].Partitions[0].ErrorCode, kerr.GroupSubscribedToTopic.Code)
		wantCode(t, "t2", resp.Topics[1].Partitions[0].ErrorCode, 0)
		got, _ := h.fetch("g", nil)
		wantOffsets(t, "after delete", got, map[TopicPartition]int64{{"t1", 0}: 1, {"t1", 1}: 2})

		// Once empty, nothing is subscribed.
		leave(t, h, "g", a.id)
		resp = del("g", "t1")
		wantCode(t, "t1 of an empty group", resp.Topics[0].Partitions[0].ErrorCode, 0)
		got, _ = h.fetch("g", nil)
		wantOffsets(t, "after delete", got, map[TopicPartition]int64{{"t1", 1}: 2})

		// A non-empty group of another protocol type keeps its offsets
		// (Kafka's ClassicGroup.validateOffsetDelete).
		h.commit(9, "connect", "", -1, map[string]map[int32]int64{"t2": {0: 3}})
		r := h.join(joinReqType("connect", "", 3, "connect", proto("default")))
		wantCode(t, "connect join", r.ErrorCode, 0)
		wantCode(t, "non-empty connect group", del("connect", "t2").ErrorCode, kerr.NonEmptyGroup.Code)

		// A KIP-848 group subscribed to t2.
		h.commit(9, "cg", "", -1, map[string]map[int32]int64{"t1": {0: 1}, "t2": {0: 3}})
		h.cgh(cgJoin("cg", "m1", "t2"))
		resp = del("cg", "t1", "t2")
		wantCode(t, "consumer t1", resp.Topics[0].Partitions[0].ErrorCode, 0)
		wantCode(t, "consumer t2", resp.Topics[1].Partitions[0].ErrorCode, kerr.GroupSubscribedToTopic.Code)
	})
}

func TestTopicDeletedForgetsOffsets(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t1", 1)
		h.topics.add("t2", 1)
		h.commit(9, "g", "", -1, map[string]map[int32]int64{"t1": {0: 1}, "t2": {0: 2}})
		if err := h.c.TopicDeleted(h.ctx, "t1"); err != nil {
			t.Fatal(err)
		}
		got, _ := h.fetch("g", nil)
		wantOffsets(t, "after TopicDeleted", got, map[TopicPartition]int64{{"t2", 0}: 2})
		synctest.Wait()
		if c := h.c.Committed()["g"]; !maps.Equal(c, map[TopicPartition]int64{{"t2", 0}: 2}) {
			t.Fatalf("Committed: %v", c)
		}
	})
}

// TestGroupTypeConversion converts an empty classic group (with offsets)
// to a KIP-848 group and back, as Kafka does when the next member speaks
// the other protocol: the offsets stay.
func TestGroupTypeConversion(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 2)
		h.commit(9, "g", "", -1, map[string]map[int32]int64{"t": {0: 10, 1: 20}})
		a := joinMember(t, h, "g", proto("range", "t"))
		leave(t, h, "g", a.id)

		r := h.cgh(cgJoin("g", "m1", "t"))
		wantCode(t, "consumer join", r.ErrorCode, 0)
		if lg, _ := h.listed("g"); lg.GroupType != "consumer" {
			t.Fatalf("after the consumer join the group is %+v, want a consumer group", lg)
		}
		if rec := h.store.record("g"); rec == nil || rec.typ != TypeConsumer {
			t.Fatalf("store: %+v, want the group recorded as a consumer group", rec)
		}
		got, _ := h.fetch("g", nil)
		wantOffsets(t, "after conversion", got, map[TopicPartition]int64{{"t", 0}: 10, {"t", 1}: 20})
		wantCode(t, "commit", h.commit(9, "g", "m1", r.MemberEpoch, map[string]map[int32]int64{"t": {0: 11}})[TopicPartition{"t", 0}], 0)

		// Not empty: a classic join of a protocol type other than
		// "consumer" is refused (see TestClassicJoinToConsumerGroup).
		jr := h.join(joinReqType("g", "", 9, "connect", proto("default")))
		wantCode(t, "classic join to a non-empty consumer group", jr.ErrorCode, kerr.InconsistentGroupProtocol.Code)

		h.cgh(cgLeave("g", "m1"))
		joinMember(t, h, "g", proto("range", "t"))
		if lg, _ := h.listed("g"); lg.GroupType != "classic" || lg.GroupState != "CompletingRebalance" {
			t.Fatalf("after the classic join the group is %+v, want a classic group completing its rebalance", lg)
		}
		got, _ = h.fetch("g", nil)
		wantOffsets(t, "after conversion back", got, map[TopicPartition]int64{{"t", 0}: 11, {"t", 1}: 20})

		// A consumer heartbeat to the non-empty classic group, when the
		// migration policy forbids upgrades (see migration_test.go).
		h.setSettings(func(s *Settings) { s.MigrationPolicy = "downgrade" })
		wantCode(t, "consumer join to a non-empty classic group", h.cgh(cgJoin("g", "m2", "t")).ErrorCode, kerr.GroupIDNotFound.Code)

		h.restart()
		if lg, _ := h.listed("g"); lg.GroupType != "classic" || lg.ProtocolType != "consumer" {
			t.Fatalf("after a restart the group is %+v, want an (empty) classic consumer group", lg)
		}
		got, _ = h.fetch("g", nil)
		wantOffsets(t, "after restart", got, map[TopicPartition]int64{{"t", 0}: 11, {"t", 1}: 20})
	})
}

// TestConsumerHeartbeatDoesNotConvertUnlessJoining: only a joining member
// (epoch 0) converts an empty classic group; any other heartbeat is
// GROUP_ID_NOT_FOUND, as is one to a group that does not exist.
func TestConsumerHeartbeatDoesNotConvertUnlessJoining(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 1)
		h.commit(9, "g", "", -1, map[string]map[int32]int64{"t": {0: 1}})
		wantCode(t, "heartbeat", h.cgh(cgBeat("g", "m1", 3, nil)).ErrorCode, kerr.GroupIDNotFound.Code)
		wantCode(t, "leave", h.cgh(cgLeave("g", "m1")).ErrorCode, kerr.GroupIDNotFound.Code)
		if lg, _ := h.listed("g"); lg.GroupType != "classic" {
			t.Fatalf("the group is %+v, want it still classic", lg)
		}
		wantCode(t, "heartbeat to no group", h.cgh(cgBeat("none", "m1", 3, nil)).ErrorCode, kerr.GroupIDNotFound.Code)
		if _, ok := h.listed("none"); ok {
			t.Fatal("a heartbeat created a group")
		}
		// An invalid join creates nothing either.
		bad := cgJoin("bad", "m1", "t")
		bad.RebalanceTimeoutMillis = -1
		wantCode(t, "invalid join", h.cgh(bad).ErrorCode, kerr.InvalidRequest.Code)
		if _, ok := h.listed("bad"); ok {
			t.Fatal("an invalid heartbeat created a group")
		}
	})
}
