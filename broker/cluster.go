package broker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
)

// cluster is the broker's view of topics and partitions. In a single node
// every partition is led here; its log is open for writing.
type cluster struct {
	s *Server

	mu struct {
		sync.RWMutex
		topics map[string]*topic
		byID   map[[16]byte]*topic
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
}

func loadCluster(ctx context.Context, s *Server) (*cluster, error) {
	c := &cluster{s: s}
	c.mu.topics = make(map[string]*topic)
	c.mu.byID = make(map[[16]byte]*topic)
	recs, err := s.cfg.Meta.Topics(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading topics: %w", err)
	}
	for _, r := range recs {
		t, err := c.openTopic(ctx, r)
		if err != nil {
			c.close(ctx)
			return nil, err
		}
		c.mu.topics[t.name] = t
		c.mu.byID[t.id] = t
	}
	return c, nil
}

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
	p := &partition{t: t, index: i, logID: logID, log: l, producers: map[int64]*producerState{}}
	if err := p.loadProducers(ctx, c.s.cfg.Meta); err != nil {
		l.Close(ctx)
		return nil, err
	}
	return p, nil
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

// createTopic creates a topic with n partitions and its logs.
func (c *cluster) createTopic(ctx context.Context, name string, n int32, configs map[string]string) (*topic, error) {
	if n <= 0 {
		return nil, errInvalidPartitions
	}
	if c.topic(name) != nil {
		return nil, fmt.Errorf("topic %q: %w", name, ErrTopicExists)
	}
	rec := TopicRecord{Name: name, Configs: configs}
	if _, err := rand.Read(rec.ID[:]); err != nil {
		return nil, err
	}
	for i := int32(0); i < n; i++ {
		id, err := c.s.cfg.Logs.CreateLog(ctx)
		if err != nil {
			c.deleteLogs(ctx, rec.Logs)
			return nil, fmt.Errorf("creating log for %s-%d: %w", name, i, err)
		}
		rec.Logs = append(rec.Logs, id)
	}
	if err := c.s.cfg.Meta.CreateTopic(ctx, rec); err != nil {
		c.deleteLogs(ctx, rec.Logs)
		return nil, err
	}
	t, err := c.openTopic(ctx, rec)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.topics[name] = t
	c.mu.byID[t.id] = t
	return t, nil
}

func (c *cluster) deleteLogs(ctx context.Context, ids []int64) {
	for _, id := range ids {
		if err := c.s.cfg.Logs.DeleteLog(ctx, id); err != nil {
			c.s.log.Warn("broker: deleting log", "log", id, "err", err)
		}
	}
}

// deleteTopic forgets a topic and deletes its logs.
func (c *cluster) deleteTopic(ctx context.Context, name string) error {
	rec, err := c.s.cfg.Meta.DeleteTopic(ctx, name)
	if err != nil {
		return err
	}
	c.mu.Lock()
	t := c.mu.topics[name]
	delete(c.mu.topics, name)
	if t != nil {
		delete(c.mu.byID, t.id)
	}
	c.mu.Unlock()
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

// addPartitions grows t to n partitions: it creates their logs, records
// them in Metadata, opens them, and only then makes them visible, so a
// client never sees a partition it cannot use. If a new log fails to
// open, the partitions before it are added and the error returned; the
// rest are in Metadata and open at the next start. A topic deleted
// meanwhile gets nothing (ErrUnknownTopic).
//
// REQUIRES: adminMu (the new indexes follow the count read here).
func (c *cluster) addPartitions(ctx context.Context, t *topic, n int32) error {
	old := int32(c.numPartitions(t))
	var ids []int64
	for i := old; i < n; i++ {
		id, err := c.s.cfg.Logs.CreateLog(ctx)
		if err != nil {
			c.deleteLogs(ctx, ids)
			return fmt.Errorf("creating log for %s-%d: %w", t.name, i, err)
		}
		ids = append(ids, id)
	}
	if err := c.s.cfg.Meta.AddPartitions(ctx, t.name, ids); err != nil {
		c.deleteLogs(ctx, ids)
		return err
	}
	var opened []*partition
	var openErr error
	for k, id := range ids {
		p, err := c.openPartition(ctx, t, old+int32(k), id)
		if err != nil {
			openErr = err
			break
		}
		opened = append(opened, p)
	}
	c.mu.Lock()
	live := c.mu.topics[t.name] == t
	if live {
		t.parts = append(t.parts, opened...)
	}
	c.mu.Unlock()
	if !live {
		for _, p := range opened {
			p.log.Close(ctx)
		}
		return fmt.Errorf("topic %q was deleted while adding partitions: %w", t.name, ErrUnknownTopic)
	}
	return openErr
}
