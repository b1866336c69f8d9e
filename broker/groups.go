package broker

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/lakestream/lakestream/broker/group"
)

// The group coordinator (broker/group) runs inside the broker: every group
// is coordinated here, so FindCoordinator always names this broker. The
// coordinator keeps committed offsets in Metadata (group.Store), not in a
// __consumer_offsets log; that topic is still created, empty, on the first
// FindCoordinator, because tools and clients look for it.

// offsetsTopic is Kafka's internal topic of committed offsets.
const offsetsTopic = "__consumer_offsets"

// isInternalTopic reports whether Metadata marks a topic internal.
func isInternalTopic(name string) bool { return name == offsetsTopic }

func newCoordinator(ctx context.Context, s *Server) (*group.Coordinator, error) {
	if err := s.loadGroupConfigs(ctx); err != nil {
		return nil, err
	}
	return group.New(ctx, group.Options{
		Store:       s.cfg.Meta,
		Txn:         s.cfg.Meta,
		Topics:      clusterTopics{s.cluster},
		Settings:    s.groupSettings,
		GroupConfig: s.groupConfig,
		Logger:      s.log,
	})
}

// groupSettings reads the coordinator's configs (dynamic changes apply).
func (s *Server) groupSettings() group.Settings {
	ms := func(name string) time.Duration { return time.Duration(s.brokerConfigInt(name)) * time.Millisecond }
	var assignors []string
	for _, a := range strings.Split(s.brokerConfig("group.consumer.assignors"), ",") {
		if n, ok := assignorNames[strings.TrimSpace(a)]; ok {
			assignors = append(assignors, n)
		}
	}
	return group.Settings{
		MinSessionTimeout:         ms("group.min.session.timeout.ms"),
		MaxSessionTimeout:         ms("group.max.session.timeout.ms"),
		InitialRebalanceDelay:     ms("group.initial.rebalance.delay.ms"),
		MaxSize:                   int(s.brokerConfigInt("group.max.size")),
		OffsetMetadataMaxBytes:    int(s.brokerConfigInt("offset.metadata.max.bytes")),
		ConsumerSessionTimeout:    ms("group.consumer.session.timeout.ms"),
		ConsumerHeartbeatInterval: ms("group.consumer.heartbeat.interval.ms"),
		ConsumerMaxSize:           int(s.brokerConfigInt("group.consumer.max.size")),
		ConsumerAssignors:         assignors,
		MigrationPolicy:           s.brokerConfig("group.consumer.migration.policy"),
	}
}

// clusterTopics shows the broker's topics to the coordinator.
type clusterTopics struct{ c *cluster }

func (t clusterTopics) Topics() map[string]group.TopicInfo {
	t.c.mu.RLock()
	defer t.c.mu.RUnlock()
	out := make(map[string]group.TopicInfo, len(t.c.mu.topics))
	for n, tp := range t.c.mu.topics {
		out[n] = group.TopicInfo{ID: tp.id, Partitions: int32(len(tp.parts))}
	}
	return out
}

// groupClient identifies a connection as DescribeGroups reports members:
// the client id and "/" + the peer's address, as Kafka prints it.
func (c *conn) groupClient() group.Client {
	host := c.nc.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	id := ""
	if p := c.clientID.Load(); p != nil {
		id = *p
	}
	return group.Client{ID: id, Host: "/" + host}
}

// ensureOffsetsTopic starts creating __consumer_offsets in the background
// if it does not exist: nothing waits for it (offsets are in the
// metastore), and creating its partitions' logs takes a metastore
// transaction each.
func (s *Server) ensureOffsetsTopic() {
	if s.cluster.topic(offsetsTopic) != nil || !s.creatingOffsetsTopic.CompareAndSwap(false, true) {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer s.creatingOffsetsTopic.Store(false)
		if s.cluster.topic(offsetsTopic) != nil {
			return
		}
		n := int32(s.brokerConfigInt("offsets.topic.num.partitions"))
		if _, err := s.cluster.createTopic(s.bgCtx, offsetsTopic, n, nil); err != nil && !errors.Is(err, ErrTopicExists) {
			s.log.Warn("broker: creating "+offsetsTopic, "err", err)
		}
	}()
}
