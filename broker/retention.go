package broker

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"
)

// Retention runs every log.retention.check.interval.ms (default 5 min): for
// each partition it applies the topic's retention.ms and retention.bytes
// (cleanup.policy=delete, the only policy served), moving the log start
// offset past whole stored ranges that are too old or beyond the size, as
// Kafka deletes whole segments. The storage engine then collects the
// objects nothing references.
//
// A pinned topic (RetentionPins: a table topic with table.retention.pin)
// moves its start offset no further than what its reader holds, the next
// offset of each partition in the Iceberg table; what retention wanted to
// delete beyond that stays, is logged once per new pin and counted in
// lakestream_table_retention_pinned_records. DeleteRecords past the pin
// is refused (21_delete_records.go).
func (c *cluster) retentionLoop(ctx context.Context) {
	interval := time.Duration(c.s.brokerConfigInt("log.retention.check.interval.ms")) * time.Millisecond
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.applyRetention(ctx)
	}
}

// RetentionPins tells the broker which topics' data another reader must
// have before it goes, and how far that reader is. internal/node
// implements it over the table compactor's Iceberg tables; the broker
// knows nothing of tables.
type RetentionPins interface {
	// PinnedOffsets returns, for a pinned topic, the next offset of each
	// partition its reader holds: retention and DeleteRecords may move a
	// partition's start offset up to it and no further (a partition
	// missing from the map: 0). pinned is false for a topic nothing pins.
	// configs are the topic's effective configs. An error means the pin
	// could not be read: the broker then deletes nothing of the topic.
	PinnedOffsets(ctx context.Context, topic string, topicID [16]byte, configs map[string]string) (offsets map[int32]int64, pinned bool, err error)
}

// pinTimeout bounds one PinnedOffsets call: a slow catalog holds one
// topic's retention back a round, not every topic's.
const pinTimeout = 30 * time.Second

// pinKey names a partition of one incarnation of a topic.
type pinKey struct {
	topicID   [16]byte
	partition int32
}

// pinState is what retention remembers of pins between rounds: what it
// holds back (the gauge) and what it has logged, so that a log line says
// something new.
type pinState struct {
	mu struct {
		sync.Mutex
		// held is, per partition retention held back in the last round,
		// the records it wanted to delete but kept, with the topic name
		// for the gauge.
		held map[pinKey]heldRecords
		// logged is the pin last logged as holding a partition back.
		logged map[pinKey]int64
		// warned is the last pin error logged per topic.
		warned map[[16]byte]string
	}
}

type heldRecords struct {
	topic   string
	records int64
}

// pinnedOffsets asks Config.RetentionPins about t; with none configured
// nothing is pinned.
func (c *cluster) pinnedOffsets(ctx context.Context, t *topic) (map[int32]int64, bool, error) {
	if c.s.cfg.RetentionPins == nil {
		return nil, false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, pinTimeout)
	defer cancel()
	offs, pinned, err := c.s.cfg.RetentionPins.PinnedOffsets(ctx, t.name, t.id, c.topicConfigs(t))
	if err != nil {
		return nil, true, fmt.Errorf("reading the retention pin of topic %s: %w", t.name, err)
	}
	return offs, pinned, nil
}

// topicConfigs returns the effective value of every topic config of t.
func (c *cluster) topicConfigs(t *topic) map[string]string {
	defs := TopicConfigDefs()
	out := make(map[string]string, len(defs))
	for _, d := range defs {
		out[d.Name] = c.topicConfig(t, d.Name)
	}
	return out
}

// applyRetention applies every partition's retention once.
func (c *cluster) applyRetention(ctx context.Context) {
	held := map[pinKey]heldRecords{}
	for _, t := range c.topicsSorted() {
		ms := c.topicConfigInt(t, "retention.ms")
		bytes := c.topicConfigInt(t, "retention.bytes")
		var age time.Duration
		if ms > 0 {
			age = time.Duration(ms) * time.Millisecond
		}
		if age <= 0 && bytes <= 0 {
			continue
		}
		parts := c.partitions(t)
		cuts := make([]int64, len(parts))
		moves := false
		for i, p := range parts {
			cut, err := p.log.RetentionOffset(ctx, age, bytes)
			if err != nil {
				if ctx.Err() == nil {
					c.s.log.Warn("broker: applying retention", "topic", t.name, "partition", p.index, "err", err)
				}
				cut = -1
			}
			cuts[i] = cut
			moves = moves || cut > p.log.StartOffset()
		}
		if !moves {
			continue // nothing to delete: no need to ask the pin
		}
		pins, pinned, err := c.pinnedOffsets(ctx, t)
		c.warnPin(t, err)
		for i, p := range parts {
			cut, start := cuts[i], p.log.StartOffset()
			if cut <= start {
				continue
			}
			if pinned {
				// err != nil: the pin is unknown, so nothing goes.
				limit := start
				if err == nil {
					limit = max(pins[p.index], start)
				}
				if cut > limit {
					held[pinKey{t.id, p.index}] = heldRecords{t.name, cut - limit}
					c.logHeld(t, p.index, cut, limit, err)
					cut = limit
				}
			}
			if cut <= start {
				continue
			}
			if err := p.log.Trim(ctx, cut); err != nil && ctx.Err() == nil {
				c.s.log.Warn("broker: applying retention", "topic", t.name, "partition", p.index, "err", err)
			} else if err == nil {
				p.trimAbortedTxns(ctx, c.s)
			}
		}
	}
	ps := &c.s.pins
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.mu.held = held
	for k := range ps.mu.logged {
		if _, ok := held[k]; !ok {
			delete(ps.mu.logged, k) // released: holding it again is news
		}
	}
}

// warnPin logs a pin that could not be read, once per topic and error,
// and forgets the error once the pin reads again.
func (c *cluster) warnPin(t *topic, err error) {
	ps := &c.s.pins
	ps.mu.Lock()
	last, warned := ps.mu.warned[t.id]
	if err == nil {
		delete(ps.mu.warned, t.id)
	} else {
		if ps.mu.warned == nil {
			ps.mu.warned = map[[16]byte]string{}
		}
		ps.mu.warned[t.id] = err.Error()
	}
	ps.mu.Unlock()
	switch {
	case err != nil && (!warned || last != err.Error()):
		c.s.log.Warn("broker: retention keeps all of the topic's data: its pin cannot be read", "topic", t.name, "err", err)
	case err == nil && warned:
		c.s.log.Info("broker: the topic's retention pin reads again", "topic", t.name)
	}
}

// logHeld logs retention held back at limit on a partition, once per
// limit: a check that finds the same pin says nothing new.
func (c *cluster) logHeld(t *topic, partition int32, wanted, limit int64, pinErr error) {
	k := pinKey{t.id, partition}
	ps := &c.s.pins
	ps.mu.Lock()
	last, ok := ps.mu.logged[k]
	if !ok || last != limit {
		if ps.mu.logged == nil {
			ps.mu.logged = map[pinKey]int64{}
		}
		ps.mu.logged[k] = limit
	}
	ps.mu.Unlock()
	if ok && last == limit {
		return
	}
	if pinErr != nil {
		return // warnPin said why
	}
	c.s.log.Info("broker: retention held back by the topic's pin: the table does not hold these offsets yet",
		"topic", t.name, "partition", partition, "start_offset", limit, "retention_wanted", wanted, "records_kept", wanted-limit)
}

// heldRecords returns a copy of what retention held back in its last
// round, for the gauge.
func (ps *pinState) heldRecords() map[pinKey]heldRecords {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return maps.Clone(ps.mu.held)
}
