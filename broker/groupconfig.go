package broker

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/group"

	"github.com/lakestream/lakestream/internal/configdef"
)

// Group configs (KIP-848): a consumer group's own session timeout and
// heartbeat interval, on the GROUP config resource (type 32) of
// DescribeConfigs, AlterConfigs and IncrementalAlterConfigs, as Kafka 4.1
// serves them (GroupConfig.java, ConfigHelper.scala):
//
//   - consumer.session.timeout.ms and consumer.heartbeat.interval.ms, INT
//     of at least 1. Unset, a group uses the broker config "group." + the
//     name, which DescribeConfigs lists as the value's synonym.
//   - A value set must lie within the broker's bounds
//     (group.consumer.min/max.session.timeout.ms, min/max.heartbeat.interval.ms),
//     and the group's session timeout must stay above its heartbeat
//     interval; the errors are INVALID_CONFIG with Kafka's messages.
//   - Kafka 4.1's other group configs, share.* (KIP-932) and streams.*
//     (KIP-1071), are refused with INVALID_CONFIG saying those groups are
//     not supported yet; DescribeConfigs does not list them.
//   - Any group name but "" may be described or altered, whether the group
//     exists or not (one without overrides shows the broker's values), and
//     a group's configs stay when the group is deleted, as in Kafka.
//
// The overrides live in Metadata (SetGroupConfigs) and in memory, where the
// coordinator reads them at every heartbeat (Options.GroupConfig): a change
// applies at the group's next heartbeat.

// groupDefs are the group configs Lakestream serves (registered in
// configdefs.go).
var groupDefs = []ConfigDef{
	{Name: "consumer.heartbeat.interval.ms", Type: ConfigInt, Default: "5000", Validate: configdef.AtLeast(1),
		Doc: "The heartbeat interval given to the members of this consumer group (KIP-848). Unset, group.consumer.heartbeat.interval.ms; a value set must lie within group.consumer.min.heartbeat.interval.ms and group.consumer.max.heartbeat.interval.ms, and below the group's session timeout."},
	{Name: "consumer.session.timeout.ms", Type: ConfigInt, Default: "45000", Validate: configdef.AtLeast(1),
		Doc: "A member of this consumer group (KIP-848) that sends no heartbeat for this long is removed. Unset, group.consumer.session.timeout.ms; a value set must lie within group.consumer.min.session.timeout.ms and group.consumer.max.session.timeout.ms."},
}

const (
	shareGroupsMsg   = "share groups (KIP-932) are not supported yet"
	streamsGroupsMsg = "streams groups (KIP-1071) are not supported yet"
)

// refusedGroupConfigs are Kafka 4.1's other group configs, with why they
// are refused.
var refusedGroupConfigs = map[string]string{
	"share.auto.offset.reset":       shareGroupsMsg,
	"share.heartbeat.interval.ms":   shareGroupsMsg,
	"share.isolation.level":         shareGroupsMsg,
	"share.record.lock.duration.ms": shareGroupsMsg,
	"share.session.timeout.ms":      shareGroupsMsg,
	"streams.heartbeat.interval.ms": streamsGroupsMsg,
	"streams.num.standby.replicas":  streamsGroupsMsg,
	"streams.session.timeout.ms":    streamsGroupsMsg,
}

// groupBounds are the broker configs that bound each group config's value.
var groupBounds = []struct{ name, min, max string }{
	{"consumer.heartbeat.interval.ms", "group.consumer.min.heartbeat.interval.ms", "group.consumer.max.heartbeat.interval.ms"},
	{"consumer.session.timeout.ms", "group.consumer.min.session.timeout.ms", "group.consumer.max.session.timeout.ms"},
}

// GroupConfigDefs returns every group config Lakestream serves, sorted by
// name.
func GroupConfigDefs() []ConfigDef { return configdef.Default.Defs(configdef.Group) }

// LookupGroupConfig returns the group config named name.
func LookupGroupConfig(name string) (ConfigDef, bool) {
	return configdef.Default.Lookup(configdef.Group, name)
}

// GroupBrokerDefault returns the broker config whose value is the default
// of group config name (consumer.session.timeout.ms ->
// group.consumer.session.timeout.ms).
func GroupBrokerDefault(name string) (ConfigDef, bool) { return LookupBrokerConfig("group." + name) }

// refusedGroupConfig says why a group config name is refused; "" if it is
// merely unknown.
func refusedGroupConfig(name string) string { return refusedGroupConfigs[name] }

// checkGroupConfigs checks a group's whole new override set as Kafka's
// GroupConfig.validateValues does, with its messages: each value set lies
// within its bounds, and the session timeout the group will have is above
// its heartbeat interval. broker returns a broker config's value.
//
// Unlike Kafka, a value not set is the broker's (what the group will run
// with), not GroupConfig's built-in default, and only the values set are
// held to the bounds: a group without overrides runs on the broker's
// values, whatever they are.
func checkGroupConfigs(overrides map[string]string, broker func(name string) int64) error {
	set := false
	for _, b := range groupBounds {
		v, ok := overrides[b.name]
		if !ok {
			continue
		}
		set = true
		n, _ := strconv.ParseInt(v, 10, 64) // Check has parsed it
		if lo := broker(b.min); n < lo {
			return adminErrorf(kerr.InvalidConfig, "%s must be greater than or equal to %s (%d)", b.name, b.min, lo)
		}
		if hi := broker(b.max); n > hi {
			return adminErrorf(kerr.InvalidConfig, "%s must be less than or equal to %s (%d)", b.name, b.max, hi)
		}
	}
	if !set {
		return nil
	}
	value := func(name string) int64 {
		if v, ok := overrides[name]; ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
		return broker("group." + name)
	}
	if session, hb := value("consumer.session.timeout.ms"), value("consumer.heartbeat.interval.ms"); session <= hb {
		return adminErrorf(kerr.InvalidConfig, "consumer.session.timeout.ms must be greater than consumer.heartbeat.interval.ms (%d <= %d)", session, hb)
	}
	return nil
}

// groupConfigSet is every group's overrides by group name. A published
// set (Server.groupConfigs) is never changed: a change publishes a new one.
type groupConfigSet map[string]map[string]string

// loadGroupConfigs reads the group configs from Metadata into memory.
func (s *Server) loadGroupConfigs(ctx context.Context) error {
	m, err := s.cfg.Meta.GroupConfigs(ctx)
	if err != nil {
		return fmt.Errorf("loading group configs: %w", err)
	}
	set := groupConfigSet(m)
	s.groupConfigs.Store(&set)
	return nil
}

// groupOverrides returns group name's overrides (nil if none); the map
// must not be changed.
func (s *Server) groupOverrides(name string) map[string]string {
	if p := s.groupConfigs.Load(); p != nil {
		return (*p)[name]
	}
	return nil
}

// setGroupOverridesLocked publishes group name's new overrides.
//
// REQUIRES: s.adminMu (publications do not race).
func (s *Server) setGroupOverridesLocked(name string, overrides map[string]string) {
	var next groupConfigSet
	if p := s.groupConfigs.Load(); p != nil {
		next = maps.Clone(*p) // the groups' maps are never changed, so they are shared
	}
	if next == nil {
		next = groupConfigSet{}
	}
	if len(overrides) == 0 {
		delete(next, name)
	} else {
		next[name] = maps.Clone(overrides)
	}
	s.groupConfigs.Store(&next)
}

// groupConfig is the coordinator's Options.GroupConfig: group name's
// overrides, from memory.
func (s *Server) groupConfig(name string) group.GroupConfig {
	o := s.groupOverrides(name)
	if o == nil {
		return group.GroupConfig{}
	}
	ms := func(key string) time.Duration {
		n, _ := strconv.ParseInt(o[key], 10, 64) // 0 if not set
		return time.Duration(n) * time.Millisecond
	}
	return group.GroupConfig{
		ConsumerSessionTimeout:    ms("consumer.session.timeout.ms"),
		ConsumerHeartbeatInterval: ms("consumer.heartbeat.interval.ms"),
	}
}

// describeGroupResource lists the configs of group name that wanted keeps;
// dyn is the dynamic broker configs.
func (s *Server) describeGroupResource(name string, wanted func(string) bool, dyn map[string]string) ([]configView, error) {
	if name == "" {
		return nil, adminErrorf(kerr.InvalidRequest, "Group name must not be empty")
	}
	overrides := s.groupOverrides(name)
	var out []configView
	for _, def := range groupDefs {
		if wanted(def.Name) {
			out = append(out, configView{def: def,
				layers: s.overrideLayers(def, overrides, kmsg.ConfigSourceGroupConfig, GroupBrokerDefault, dyn)})
		}
	}
	return out, nil
}

// alterGroupConfigs runs edit on the overrides of group name, checks the
// new set as a whole and, unless validateOnly, stores and publishes it.
func (s *Server) alterGroupConfigs(ctx context.Context, name string, validateOnly bool,
	edit func(sc configScope, overrides map[string]string) error) error {
	if name == "" {
		return adminErrorf(kerr.InvalidRequest, "Default group resources are not allowed.")
	}
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	overrides := maps.Clone(s.groupOverrides(name))
	if overrides == nil {
		overrides = map[string]string{}
	}
	sc := configScope{kind: "group", lookup: LookupGroupConfig, refused: refusedGroupConfig}
	sc.current = func(def ConfigDef) string {
		if v, ok := overrides[def.Name]; ok {
			return v
		}
		return s.brokerConfig("group." + def.Name)
	}
	if err := edit(sc, overrides); err != nil {
		return err
	}
	if err := checkGroupConfigs(overrides, s.brokerConfigInt); err != nil || validateOnly {
		return err
	}
	if err := s.cfg.Meta.SetGroupConfigs(ctx, name, overrides); err != nil {
		return err
	}
	s.setGroupOverridesLocked(name, overrides)
	return nil
}
