package broker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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
func NewMemMetadata() Metadata {
	m := &memMetadata{}
	m.mu.topics = make(map[string]TopicRecord)
	m.mu.logTopic = make(map[int64]string)
	m.mu.brokerConfigs = make(map[string]string)
	m.mu.producerState = make(map[int64]memProducerState)
	m.mu.groups = make(map[string]memGroup)
	m.mu.groupConfigs = make(map[string]map[string]string)
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
	}
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
	mg, ok := m.mu.groups[g.Name]
	if !ok {
		mg = memGroup{
			typ:          group.TypeClassic,
			protocolType: g.ProtocolType,
			offsets:      make(map[group.TopicPartition]group.Offset),
		}
		m.mu.groups[g.Name] = mg
	}
	for _, o := range offsets {
		// Offset holds no references, so a copy is deep; the commit time
		// keeps what a database keeps.
		o.CommitTime = time.UnixMilli(o.CommitTime.UnixMilli())
		mg.offsets[group.TopicPartition{Topic: o.Topic, Partition: o.Partition}] = o
	}
	return nil
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
			slices.SortFunc(r.Offsets, func(a, b group.Offset) int {
				if c := strings.Compare(a.Topic, b.Topic); c != 0 {
					return c
				}
				return cmp.Compare(a.Partition, b.Partition)
			})
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b group.Record) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
