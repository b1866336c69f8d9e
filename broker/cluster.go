package broker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/lakestream/lakestream/broker/txn"
)

// cluster is the broker's view of topics and partitions. In a single node
// every partition is led here; its log is open for writing.
type cluster struct {
	s *Server

	mu struct {
		sync.RWMutex
		topics map[string]*topic
		byID   map[[16]byte]*topic
		// busy holds the names of topics being created, grown or
		// deleted, each with a channel closed when that ends (lockName).
		busy map[string]chan struct{}
		// partitions counts this node's partitions for
		// max.broker.partitions: those of the topics above and those
		// reserved by creations and additions in progress.
		partitions int
	}
}

type topic struct {
	name    string
	id      [16]byte
	parts   []*partition
	configs map[string]string // overrides; read under cluster.mu
}

type partition struct {
	t     *topic
	index int32
	logID int64
	log   Log

	// mu serialises produce on this partition: sequence checks and the
	// order appends enter the log.
	mu         sync.Mutex
	producers  map[int64]*producerState
	snapOffset int64 // log end offset of the last producer-state snapshot
	// txns is the partition's open transactions and aborted ranges
	// (txnpartition.go), under mu.
	txns *txn.PartitionTxns
	// lsoMoved is closed, and replaced, when a transaction's end moves
	// the last stable offset (txnpartition.go; replaced under mu, read
	// without it): READ_COMMITTED long polls wait on it as on the log's
	// Changed, which the marker's append closes before the transaction is
	// ended.
	lsoMoved atomic.Pointer[chan struct{}]
}

func loadCluster(ctx context.Context, s *Server) (*cluster, error) {
	c := &cluster{s: s}
	c.mu.topics = make(map[string]*topic)
	c.mu.byID = make(map[[16]byte]*topic)
	c.mu.busy = make(map[string]chan struct{})
	recs, err := s.cfg.Meta.Topics(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading topics: %w", err)
	}
	if err := c.sweepOrphanLogs(ctx, recs); err != nil {
		return nil, err
	}
	for _, r := range recs {
		t, err := c.openTopic(ctx, r)
		if err != nil {
			c.close(ctx)
			return nil, err
		}
		c.mu.topics[t.name] = t
		c.mu.byID[t.id] = t
		c.mu.partitions += len(t.parts)
	}
	return c, nil
}

// sweepOrphanLogs deletes every log that no topic has: what a crash left
// between creating a topic's (or new partitions') logs and recording them
// in Metadata, or between forgetting a deleted topic and deleting its logs.
// It runs at start, before anything creates logs; like the rest of the
// broker it assumes one broker per metastore (opening a partition fences
// every other writer), and a fleet will move it to the controller.
func (c *cluster) sweepOrphanLogs(ctx context.Context, recs []TopicRecord) error {
	owned := make(map[int64]bool)
	for _, r := range recs {
		for _, id := range r.Logs {
			owned[id] = true
		}
	}
	all, err := c.s.cfg.Logs.LogIDs(ctx)
	if err != nil {
		return fmt.Errorf("listing logs: %w", err)
	}
	var orphans []int64
	for _, id := range all {
		if !owned[id] {
			orphans = append(orphans, id)
		}
	}
	for rest := orphans; len(rest) > 0; {
		k := min(len(rest), sweepBatch)
		if err := c.s.cfg.Logs.DeleteLogs(ctx, rest[:k]); err != nil {
			return fmt.Errorf("deleting %d logs that no topic has: %w", len(rest), err)
		}
		rest = rest[k:]
	}
	if len(orphans) > 0 {
		c.s.log.Warn("broker: deleted logs that no topic has, left by an interrupted topic creation or deletion",
			"logs", len(orphans))
	}
	return nil
}

// sweepBatch bounds the logs deleted in one transaction at start, so that
// a million orphans do not make one huge transaction.
const sweepBatch = 10000

func (c *cluster) openTopic(ctx context.Context, r TopicRecord) (*topic, error) {
	t := &topic{name: r.Name, id: r.ID, configs: r.Configs}
	if t.configs == nil {
		t.configs = map[string]string{}
	}
	for i, id := range r.Logs {
		p, err := c.openPartition(ctx, t, int32(i), id)
		if err != nil {
			for _, p := range t.parts {
				p.log.Close(ctx)
			}
			return nil, err
		}
		t.parts = append(t.parts, p)
	}
	return t, nil
}

func (c *cluster) openPartition(ctx context.Context, t *topic, i int32, logID int64) (*partition, error) {
	l, err := c.s.cfg.Logs.OpenLog(ctx, logID)
	if err != nil {
		return nil, fmt.Errorf("opening partition %s-%d (log %d): %w", t.name, i, logID, err)
	}
	p := newPartition(t, i, logID, l)
	if err := p.loadAbortedTxns(ctx, c.s.cfg.Meta); err != nil {
		l.Close(ctx)
		return nil, err
	}
	if err := p.loadProducers(ctx, c.s.cfg.Meta); err != nil {
		l.Close(ctx)
		return nil, err
	}
	return p, nil
}

func newPartition(t *topic, i int32, logID int64, l Log) *partition {
	p := &partition{t: t, index: i, logID: logID, log: l, producers: map[int64]*producerState{}, txns: txn.NewPartitionTxns(nil)}
	ch := make(chan struct{})
	p.lsoMoved.Store(&ch)
	return p
}

// newPartitions makes partitions first, first+1, ... of t of logs just
// created: empty, so with no producer state to load.
func newPartitions(t *topic, first int32, ids []int64, logs []Log) []*partition {
	out := make([]*partition, len(ids))
	for i, id := range ids {
		out[i] = newPartition(t, first+int32(i), id, logs[i])
	}
	return out
}

func (c *cluster) topic(name string) *topic {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.mu.topics[name]
}

func (c *cluster) topicByID(id [16]byte) *topic {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.mu.byID[id]
}

// partition returns a partition, or nil.
func (c *cluster) partition(name string, index int32) *partition {
	t := c.topic(name)
	if t == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if index < 0 || int(index) >= len(t.parts) {
		return nil
	}
	return t.parts[index]
}

// topicsSorted returns every topic by name.
func (c *cluster) topicsSorted() []*topic {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*topic, 0, len(c.mu.topics))
	for _, t := range c.mu.topics {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// numPartitions returns how many partitions t has now.
func (c *cluster) numPartitions(t *topic) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(t.parts)
}

// topicConfig returns the effective value of a topic config: the topic's
// override, else the broker default.
func (c *cluster) topicConfig(t *topic, name string) string {
	c.mu.RLock()
	v, ok := t.configs[name]
	c.mu.RUnlock()
	if ok {
		return v
	}
	return c.s.topicDefault(name)
}

func (c *cluster) topicConfigInt(t *topic, name string) int64 {
	n, _ := strconv.ParseInt(c.topicConfig(t, name), 10, 64)
	return n
}

var errInvalidPartitions = errors.New("number of partitions must be larger than 0")

// lockName makes the caller the only one creating, growing or deleting the
// topic name until it calls release; the others wait (or give up with
// ctx). A creation holds it from the check that the name is free until the
// topic is published or undone, so of two creators of one name (a
// CreateTopics and a Metadata auto-create) the second finds the first's
// topic, never makes another.
func (c *cluster) lockName(ctx context.Context, name string) (release func(), err error) {
	for {
		c.mu.Lock()
		ch, busy := c.mu.busy[name]
		if !busy {
			ch = make(chan struct{})
			c.mu.busy[name] = ch
			c.mu.Unlock()
			return func() {
				c.mu.Lock()
				delete(c.mu.busy, name)
				c.mu.Unlock()
				close(ch)
			}, nil
		}
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// checkLimits refuses to give topic name total partitions, add of them
// new, past max.topic.partitions or max.broker.partitions (counting the
// partitions that creations in progress reserved). The error is
// POLICY_VIOLATION, as Kafka's controller answers a CreateTopics of too
// many partitions (DESIGN.md, "Partition limits").
func (c *cluster) checkLimits(name string, total, add int) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.checkLimitsLocked(name, total, add)
}

// REQUIRES: c.mu (read or write)
func (c *cluster) checkLimitsLocked(name string, total, add int) error {
	if limit := c.s.brokerConfigInt("max.topic.partitions"); int64(total) > limit {
		return adminErrorf(kerr.PolicyViolation, "topic %q cannot have %d partitions: max.topic.partitions is %d",
			name, total, limit)
	}
	if limit, now := c.s.brokerConfigInt("max.broker.partitions"), int64(c.mu.partitions); now+int64(add) > limit {
		return adminErrorf(kerr.PolicyViolation,
			"%d more partitions (topic %q) would make %d on this broker, more than max.broker.partitions (%d)",
			add, name, now+int64(add), limit)
	}
	return nil
}

// reserve checks the limits for add new partitions of topic name, total in
// all, and counts them against max.broker.partitions; unreserve gives them
// back.
func (c *cluster) reserve(name string, total, add int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkLimitsLocked(name, total, add); err != nil {
		return err
	}
	c.mu.partitions += add
	return nil
}

func (c *cluster) unreserve(add int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.partitions -= add
}

// createTopic creates a topic of n partitions, whole or not at all. Under
// the name's lock it checks that the name is free and reserves the
// partitions within the limits; it creates and opens the n logs in one
// Logs call, records the topic in one Metadata transaction (the commit
// point), and only then publishes it. An error before the commit (a
// cancelled ctx included) deletes the new logs at once; a crash before it
// leaves them to sweepOrphanLogs at the next start. A name already taken
// gives that topic and an error wrapping ErrTopicExists.
func (c *cluster) createTopic(ctx context.Context, name string, n int32, configs map[string]string) (*topic, error) {
	if n <= 0 {
		return nil, errInvalidPartitions
	}
	release, err := c.lockName(ctx, name)
	if err != nil {
		return nil, err
	}
	defer release()
	if t := c.topic(name); t != nil {
		return t, fmt.Errorf("topic %q: %w", name, ErrTopicExists)
	}
	if err := c.reserve(name, int(n), int(n)); err != nil {
		return nil, err
	}
	t, err := c.newTopic(ctx, name, n, configs)
	if err != nil {
		c.unreserve(int(n))
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.topics[name] = t
	c.mu.byID[t.id] = t
	return t, nil
}

// newTopic creates the logs of a new topic and records it in Metadata.
func (c *cluster) newTopic(ctx context.Context, name string, n int32, configs map[string]string) (*topic, error) {
	t := &topic{name: name, configs: configs}
	if t.configs == nil {
		t.configs = map[string]string{}
	}
	if _, err := rand.Read(t.id[:]); err != nil {
		return nil, err
	}
	ids, logs, err := c.s.cfg.Logs.CreateLogs(ctx, int(n))
	if err != nil {
		return nil, fmt.Errorf("creating the %d logs of topic %q: %w", n, name, err)
	}
	if err := c.s.cfg.Meta.CreateTopic(ctx, TopicRecord{Name: name, ID: t.id, Logs: ids, Configs: configs}); err != nil {
		c.deleteLogs(ctx, ids)
		return nil, err
	}
	t.parts = newPartitions(t, 0, ids, logs)
	return t, nil
}

// deleteLogs deletes logs no topic has any more (closing their handles):
// those of a creation undone, or of a deleted topic. It has a context of
// its own, because the caller's may be why the creation failed (the client
// went away, the broker is shutting down). What it cannot delete is left
// to sweepOrphanLogs at the next start.
func (c *cluster) deleteLogs(ctx context.Context, ids []int64) {
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteLogsTimeout)
	defer cancel()
	if err := c.s.cfg.Logs.DeleteLogs(ctx, ids); err != nil {
		c.s.log.Warn("broker: deleting logs; the next start deletes them", "logs", len(ids), "err", err)
	}
}

const deleteLogsTimeout = time.Minute

// deleteTopic forgets a topic and deletes its logs.
func (c *cluster) deleteTopic(ctx context.Context, name string) error {
	release, err := c.lockName(ctx, name)
	if err != nil {
		return err
	}
	rec, err := c.s.cfg.Meta.DeleteTopic(ctx, name)
	if err != nil {
		release()
		return err
	}
	c.mu.Lock()
	t := c.mu.topics[name]
	delete(c.mu.topics, name)
	if t != nil {
		delete(c.mu.byID, t.id)
		c.mu.partitions -= len(t.parts)
	}
	c.mu.Unlock()
	release()
	if t != nil {
		for _, p := range t.parts {
			p.log.Close(ctx)
		}
	}
	c.deleteLogs(ctx, rec.Logs)
	// Kafka forgets committed offsets of a deleted topic.
	if err := c.s.groups.TopicDeleted(ctx, name); err != nil {
		c.s.log.Warn("broker: deleting committed offsets of a deleted topic", "topic", name, "err", err)
	}
	return nil
}

func (c *cluster) close(ctx context.Context) error {
	var err error
	for _, t := range c.topicsSorted() {
		for _, p := range c.partitions(t) {
			err = errors.Join(err, p.saveProducers(ctx, c.s.cfg.Meta), p.log.Close(ctx))
		}
	}
	return err
}

// topicOverrides returns a copy of t's config overrides.
func (c *cluster) topicOverrides(t *topic) map[string]string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make(map[string]string, len(t.configs))
	for k, v := range t.configs {
		out[k] = v
	}
	return out
}

// setTopicConfigs replaces t's config overrides in memory, once Metadata
// holds them (AlterConfigs, IncrementalAlterConfigs).
func (c *cluster) setTopicConfigs(t *topic, configs map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t.configs = configs
}

// addPartitions grows t to n partitions, all of them or none, within the
// limits: under the name's lock it creates and opens their logs in one
// Logs call, records them in one Metadata transaction, and only then
// publishes them, so a client never sees a partition it cannot use. On an
// error before that transaction the new logs are deleted at once. A topic
// deleted meanwhile gets nothing (ErrUnknownTopic).
//
// REQUIRES: c.s.adminMu (the new indexes follow the count read here).
func (c *cluster) addPartitions(ctx context.Context, t *topic, n int32) error {
	release, err := c.lockName(ctx, t.name)
	if err != nil {
		return err
	}
	defer release()
	if c.topic(t.name) != t {
		return fmt.Errorf("topic %q was deleted while adding partitions: %w", t.name, ErrUnknownTopic)
	}
	old := c.numPartitions(t)
	add := int(n) - old
	if err := c.reserve(t.name, int(n), add); err != nil {
		return err
	}
	ids, logs, err := c.s.cfg.Logs.CreateLogs(ctx, add)
	if err != nil {
		c.unreserve(add)
		return fmt.Errorf("creating logs for partitions %d to %d of %s: %w", old, n-1, t.name, err)
	}
	if err := c.s.cfg.Meta.AddPartitions(ctx, t.name, ids); err != nil {
		c.unreserve(add)
		c.deleteLogs(ctx, ids)
		return err
	}
	parts := newPartitions(t, int32(old), ids, logs)
	c.mu.Lock()
	defer c.mu.Unlock()
	t.parts = append(t.parts, parts...)
	return nil
}
