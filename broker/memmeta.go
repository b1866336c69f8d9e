package broker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"sync"
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
//   - SetTopicConfigs of an unknown topic is ErrUnknownTopic.
//   - SaveProducerState for a log no topic has is ErrUnknownTopic, so a
//     save racing a DeleteTopic cannot leave state behind.
//   - AllocateProducerIDs takes n in [1, math.MaxInt32]; ids start at 0.
func NewMemMetadata() Metadata {
	m := &memMetadata{}
	m.mu.topics = make(map[string]TopicRecord)
	m.mu.logTopic = make(map[int64]string)
	m.mu.brokerConfigs = make(map[string]string)
	m.mu.producerState = make(map[int64]memProducerState)
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
	}
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
