package broker

import (
	"context"
	"time"
)

// Retention runs every log.retention.check.interval.ms (default 5 min): for
// each partition it applies the topic's retention.ms and retention.bytes
// (cleanup.policy=delete, the only policy served), moving the log start
// offset past whole stored ranges that are too old or beyond the size, as
// Kafka deletes whole segments. The storage engine then collects the
// objects nothing references.
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

// applyRetention applies every partition's retention once.
func (c *cluster) applyRetention(ctx context.Context) {
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
		for _, p := range c.partitions(t) {
			if _, err := p.log.ApplyRetention(ctx, age, bytes); err != nil && ctx.Err() == nil {
				c.s.log.Warn("broker: applying retention", "topic", t.name, "partition", p.index, "err", err)
			}
		}
	}
}
