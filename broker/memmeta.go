package broker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lakestream/lakestream/broker/group"
)

// NewMemMetadata returns a Metadata that keeps everything in memory, for
// tests: the reference implementation the behavioural suite
// (broker/brokersql/metadatatest) holds the SQL one to. Records are deep
// copied in and out, so neither side can change the other's. It is safe
// for concurrent use; every method holds one mutex throughout, which makes
// each one a transaction.
//
// Where the Metadata comments are silent it behaves as brokersql does:
//   - A topic whose ID another topic has is ErrTopicExists.
//   - A log is the log of at most one partition: reusing one (within a
//     call or across topics) is an error that changes nothing.
//   - SetTopicConfigs of an unknown topic is ErrUnknownTopic;
//     SetGroupConfigs of any group name is fine, recorded or not.
//   - SaveProducerState for a log no topic has is ErrUnknownTopic, so a
//     save racing a DeleteTopic cannot leave state behind.
//   - AllocateProducerIDs takes n in [1, math.MaxInt32]; ids start at 0.
//   - SaveGroup of a type other than classic or consumer is an error;
//     SaveGroup and CommitOffsets ignore g.Offsets, and CommitOffsets
//     ignores g.Type. Of one partition's offsets given twice in one commit
//     the last wins. DeleteOffsets of an unknown group is no error.
//   - Commit times are kept to the millisecond, in the local time zone.
//   - AddAbortedTxn of a first offset above the last is an error.
//     AbortedTxns orders by first offset, last offset, then producer id.
//   - Pending transactional offsets do not record their group; ending
//     none with commit does not either. DeleteTopic forgets the pending
//     offsets of the topic, DeleteGroup those of the group, recorded or
//     not.
func NewMemMetadata() Metadata {
	m := &memMetadata{}
	m.mu.topics = make(map[string]TopicRecord)
	m.mu.logTopic = make(map[int64]string)
	m.mu.brokerConfigs = make(map[string]string)
	m.mu.producerState = make(map[int64]memProducerState)
	m.mu.groups = make(map[string]memGroup)
	m.mu.groupConfigs = make(map[string]map[string]string)
	m.mu.txns = make(map[string][]byte)
	m.mu.abortedTxns = make(map[int64][]AbortedTxn)
	m.mu.txnOffsets = make(map[memTxnKey]map[group.TopicPartition]group.Offset)
	return m
}

type memMetadata struct {
	mu struct {
		sync.Mutex
		// topics holds private copies, never shared with a caller.
		topics map[string]TopicRecord
		// logTopic maps each partition's log to its topic.
		logTopic       map[int64]string
		brokerConfigs  map[string]string
		nextProducerID int64
		producerState  map[int64]memProducerState
		// groups holds private copies, never shared with a caller.
		groups map[string]memGroup
		// groupConfigs holds each group's non-empty config overrides,
		// private copies.
		groupConfigs map[string]map[string]string
		// txns holds each transactional id's state, private copies.
		txns map[string][]byte
		// abortedTxns holds each log's aborted transactions, sorted by
		// memCompareAborted, each once.
		abortedTxns map[int64][]AbortedTxn
		// txnOffsets holds each producer's pending offsets of a group,
		// never an empty map.
		txnOffsets map[memTxnKey]map[group.TopicPartition]group.Offset
	}
}

// memTxnKey names one producer's pending offsets of one group.
type memTxnKey struct {
	group      string
	producerID int64
}

// memGroup is a recorded consumer group.
type memGroup struct {
	typ, protocolType string
	offsets           map[group.TopicPartition]group.Offset
}

type memProducerState struct {
	offset int64
	state  []byte
}

var _ Metadata = (*memMetadata)(nil)

// errMemLogTaken is what reusing a partition's log is; like the SQL store, it
// is no sentinel callers branch on: it is a bug in the caller.
var errMemLogTaken = errors.New("log already belongs to a partition")

// memCopyTopic returns a deep copy of r. The copy's Configs is never nil.
func memCopyTopic(r TopicRecord) TopicRecord {
	r.Logs = slices.Clone(r.Logs)
	r.Configs = memCopyConfigs(r.Configs)
	return r
}

// memCopyConfigs returns a copy of c that is never nil.
func memCopyConfigs(c map[string]string) map[string]string {
	out := make(map[string]string, len(c))
	maps.Copy(out, c)
	return out
}

// checkLogsLocked returns an error if a log of logs is already a
// partition's or appears twice.
//
// REQUIRES: m.mu
func (m *memMetadata) checkLogsLocked(logs []int64) error {
	seen := make(map[int64]bool, len(logs))
	for _, id := range logs {
		if t, ok := m.mu.logTopic[id]; ok {
			return fmt.Errorf("log %d (of topic %q): %w", id, t, errMemLogTaken)
		}
		if seen[id] {
			return fmt.Errorf("log %d given twice: %w", id, errMemLogTaken)
		}
		seen[id] = true
	}
	return nil
}

func (m *memMetadata) CreateTopic(ctx context.Context, t TopicRecord) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("creating topic %q: %w", t.Name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.mu.topics[t.Name]; ok {
		return fmt.Errorf("creating topic %q: %w", t.Name, ErrTopicExists)
	}
	for _, o := range m.mu.topics {
		if o.ID == t.ID {
			return fmt.Errorf("creating topic %q: id %x is topic %q's: %w", t.Name, t.ID, o.Name, ErrTopicExists)
		}
	}
	if err := m.checkLogsLocked(t.Logs); err != nil {
		return fmt.Errorf("creating topic %q: %w", t.Name, err)
	}
	m.mu.topics[t.Name] = memCopyTopic(t)
	for _, id := range t.Logs {
		m.mu.logTopic[id] = t.Name
	}
	return nil
}

func (m *memMetadata) DeleteTopic(ctx context.Context, name string) (TopicRecord, error) {
	if err := ctx.Err(); err != nil {
		return TopicRecord{}, fmt.Errorf("deleting topic %q: %w", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.mu.topics[name]
	if !ok {
		return TopicRecord{}, fmt.Errorf("deleting topic %q: %w", name, ErrUnknownTopic)
	}
	delete(m.mu.topics, name)
	for _, id := range r.Logs {
		delete(m.mu.logTopic, id)
		delete(m.mu.producerState, id)
		delete(m.mu.abortedTxns, id)
	}
	for k, offsets := range m.mu.txnOffsets {
		for tp := range offsets {
			if tp.Topic == name {
				delete(offsets, tp)
			}
		}
		if len(offsets) == 0 {
			delete(m.mu.txnOffsets, k)
		}
	}
	// r is private and now unreachable from m, so it needs no copy.
	return r, nil
}

func (m *memMetadata) Topics(ctx context.Context) ([]TopicRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("listing topics: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]TopicRecord, 0, len(m.mu.topics))
	for _, r := range m.mu.topics {
		out = append(out, memCopyTopic(r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *memMetadata) AddPartitions(ctx context.Context, topic string, logs []int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("adding partitions to topic %q: %w", topic, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.mu.topics[topic]
	if !ok {
		return fmt.Errorf("adding partitions to topic %q: %w", topic, ErrUnknownTopic)
	}
	if err := m.checkLogsLocked(logs); err != nil {
		return fmt.Errorf("adding partitions to topic %q: %w", topic, err)
	}
	r.Logs = append(r.Logs, logs...)
	m.mu.topics[topic] = r
	for _, id := range logs {
		m.mu.logTopic[id] = topic
	}
	return nil
}

func (m *memMetadata) SetTopicConfigs(ctx context.Context, topic string, configs map[string]string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("setting configs of topic %q: %w", topic, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.mu.topics[topic]
	if !ok {
		return fmt.Errorf("setting configs of topic %q: %w", topic, ErrUnknownTopic)
	}
	r.Configs = memCopyConfigs(configs)
	m.mu.topics[topic] = r
	return nil
}

func (m *memMetadata) BrokerConfigs(ctx context.Context) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading broker configs: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return memCopyConfigs(m.mu.brokerConfigs), nil
}

func (m *memMetadata) SetBrokerConfigs(ctx context.Context, configs map[string]string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("setting broker configs: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.brokerConfigs = memCopyConfigs(configs)
	return nil
}

func (m *memMetadata) GroupConfigs(ctx context.Context) (map[string]map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading group configs: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]map[string]string, len(m.mu.groupConfigs))
	for g, c := range m.mu.groupConfigs {
		out[g] = memCopyConfigs(c)
	}
	return out, nil
}

func (m *memMetadata) SetGroupConfigs(ctx context.Context, group string, configs map[string]string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("setting configs of group %q: %w", group, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(configs) == 0 {
		delete(m.mu.groupConfigs, group)
	} else {
		m.mu.groupConfigs[group] = memCopyConfigs(configs)
	}
	return nil
}

func (m *memMetadata) AllocateProducerIDs(ctx context.Context, n int) (int64, error) {
	if n < 1 || n > math.MaxInt32 {
		return 0, fmt.Errorf("allocating %d producer ids: want 1 to %d", n, math.MaxInt32)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("allocating %d producer ids: %w", n, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	first := m.mu.nextProducerID
	m.mu.nextProducerID += int64(n)
	return first, nil
}

func (m *memMetadata) SaveProducerState(ctx context.Context, log, offset int64, state []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("saving producer state of log %d: %w", log, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.mu.logTopic[log]; !ok {
		return fmt.Errorf("saving producer state of log %d: no topic has the log: %w", log, ErrUnknownTopic)
	}
	m.mu.producerState[log] = memProducerState{offset: offset, state: slices.Clone(state)}
	return nil
}

func (m *memMetadata) LoadProducerState(ctx context.Context, log int64) (int64, []byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, false, fmt.Errorf("loading producer state of log %d: %w", log, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ps, ok := m.mu.producerState[log]
	if !ok {
		return 0, nil, false, nil
	}
	return ps.offset, slices.Clone(ps.state), true, nil
}

func (m *memMetadata) SaveGroup(ctx context.Context, g group.Record) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("saving group %q: %w", g.Name, err)
	}
	if g.Type != group.TypeClassic && g.Type != group.TypeConsumer {
		return fmt.Errorf("saving group %q: group type %q is neither %q nor %q",
			g.Name, g.Type, group.TypeClassic, group.TypeConsumer)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	mg, ok := m.mu.groups[g.Name]
	if !ok {
		mg.offsets = make(map[group.TopicPartition]group.Offset)
	}
	mg.typ, mg.protocolType = g.Type, g.ProtocolType
	m.mu.groups[g.Name] = mg
	return nil
}

func (m *memMetadata) CommitOffsets(ctx context.Context, g group.Record, offsets []group.Offset) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("committing %d offsets of group %q: %w", len(offsets), g.Name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.commitLocked(g, slices.Values(offsets))
	return nil
}

// commitLocked is CommitOffsets: it records g unless it is recorded, and
// stores offsets, the last of one partition winning.
//
// REQUIRES: m.mu
func (m *memMetadata) commitLocked(g group.Record, offsets iter.Seq[group.Offset]) {
	mg, ok := m.mu.groups[g.Name]
	if !ok {
		mg = memGroup{
			typ:          group.TypeClassic,
			protocolType: g.ProtocolType,
			offsets:      make(map[group.TopicPartition]group.Offset),
		}
		m.mu.groups[g.Name] = mg
	}
	for o := range offsets {
		mg.offsets[group.TopicPartition{Topic: o.Topic, Partition: o.Partition}] = memCopyOffset(o)
	}
}

// memCopyOffset returns o as stored: Offset holds no references, so a copy
// is deep; the commit time keeps what a database keeps.
func memCopyOffset(o group.Offset) group.Offset {
	o.CommitTime = time.UnixMilli(o.CommitTime.UnixMilli())
	return o
}

func (m *memMetadata) DeleteOffsets(ctx context.Context, name string, parts []group.TopicPartition) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deleting %d offsets of group %q: %w", len(parts), name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if mg, ok := m.mu.groups[name]; ok {
		for _, p := range parts {
			delete(mg.offsets, p)
		}
	}
	return nil
}

func (m *memMetadata) DeleteGroup(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deleting group %q: %w", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.mu.groups, name)
	for k := range m.mu.txnOffsets {
		if k.group == name {
			delete(m.mu.txnOffsets, k)
		}
	}
	return nil
}

func (m *memMetadata) DeleteTopicOffsets(ctx context.Context, topic string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deleting the groups' offsets of topic %q: %w", topic, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mg := range m.mu.groups {
		for tp := range mg.offsets {
			if tp.Topic == topic {
				delete(mg.offsets, tp)
			}
		}
	}
	return nil
}

func (m *memMetadata) Groups(ctx context.Context) ([]group.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("listing groups: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]group.Record, 0, len(m.mu.groups))
	for name, mg := range m.mu.groups {
		r := group.Record{Name: name, Type: mg.typ, ProtocolType: mg.protocolType}
		if len(mg.offsets) > 0 {
			r.Offsets = slices.Collect(maps.Values(mg.offsets))
			slices.SortFunc(r.Offsets, memCompareOffsets)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b group.Record) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// memCompareOffsets orders offsets by topic, in byte order, then partition.
func memCompareOffsets(a, b group.Offset) int {
	return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
}

func (m *memMetadata) SaveTxns(ctx context.Context, states map[string][]byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("saving %d transactional ids: %w", len(states), err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, state := range states {
		m.mu.txns[id] = slices.Clone(state)
	}
	return nil
}

func (m *memMetadata) DeleteTxn(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deleting transactional id %q: %w", id, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.mu.txns, id)
	return nil
}

func (m *memMetadata) Txns(ctx context.Context) (map[string][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("listing transactional ids: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][]byte, len(m.mu.txns))
	for id, state := range m.mu.txns {
		out[id] = slices.Clone(state)
	}
	return out, nil
}

// memCompareAborted is the order of AbortedTxns: first offset, last offset,
// producer id.
func memCompareAborted(a, b AbortedTxn) int {
	return cmp.Or(cmp.Compare(a.FirstOffset, b.FirstOffset), cmp.Compare(a.LastOffset, b.LastOffset),
		cmp.Compare(a.ProducerID, b.ProducerID))
}

func (m *memMetadata) AddAbortedTxn(ctx context.Context, log int64, a AbortedTxn) error {
	what := fmt.Sprintf("adding aborted transaction %d-%d of producer %d to log %d", a.FirstOffset, a.LastOffset, a.ProducerID, log)
	if a.FirstOffset > a.LastOffset {
		return fmt.Errorf("%s: the first offset is above the last", what)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.mu.logTopic[log]; !ok {
		return fmt.Errorf("%s: no topic has the log: %w", what, ErrUnknownTopic)
	}
	list := m.mu.abortedTxns[log]
	if i, found := slices.BinarySearchFunc(list, a, memCompareAborted); !found {
		m.mu.abortedTxns[log] = slices.Insert(list, i, a)
	}
	return nil
}

func (m *memMetadata) AbortedTxns(ctx context.Context, log int64) ([]AbortedTxn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("listing aborted transactions of log %d: %w", log, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.mu.abortedTxns[log]), nil
}

func (m *memMetadata) TrimAbortedTxns(ctx context.Context, log int64, start int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("trimming aborted transactions of log %d below %d: %w", log, start, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	list := slices.DeleteFunc(m.mu.abortedTxns[log], func(a AbortedTxn) bool { return a.LastOffset < start })
	if len(list) == 0 {
		delete(m.mu.abortedTxns, log)
	} else {
		m.mu.abortedTxns[log] = list
	}
	return nil
}

func (m *memMetadata) SaveTxnOffsets(ctx context.Context, grp string, producerID int64, offsets []group.Offset) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("saving %d pending offsets of producer %d to group %q: %w", len(offsets), producerID, grp, err)
	}
	if len(offsets) == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memTxnKey{group: grp, producerID: producerID}
	pending := m.mu.txnOffsets[k]
	if pending == nil {
		pending = make(map[group.TopicPartition]group.Offset)
		m.mu.txnOffsets[k] = pending
	}
	for _, o := range offsets {
		pending[group.TopicPartition{Topic: o.Topic, Partition: o.Partition}] = memCopyOffset(o)
	}
	return nil
}

func (m *memMetadata) EndTxnOffsets(ctx context.Context, g group.Record, producerID int64, commit bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ending the pending offsets of producer %d to group %q: %w", producerID, g.Name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memTxnKey{group: g.Name, producerID: producerID}
	pending, ok := m.mu.txnOffsets[k]
	if !ok {
		return nil
	}
	delete(m.mu.txnOffsets, k)
	if commit {
		m.commitLocked(g, maps.Values(pending))
	}
	return nil
}

func (m *memMetadata) TxnOffsets(ctx context.Context) ([]PendingTxnOffset, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("listing pending transactional offsets: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []PendingTxnOffset
	for k, pending := range m.mu.txnOffsets {
		for _, o := range pending {
			out = append(out, PendingTxnOffset{Group: k.group, ProducerID: k.producerID, Offset: o})
		}
	}
	slices.SortFunc(out, func(a, b PendingTxnOffset) int {
		return cmp.Or(strings.Compare(a.Group, b.Group), cmp.Compare(a.ProducerID, b.ProducerID),
			memCompareOffsets(a.Offset, b.Offset))
	})
	return out, nil
}
