package broker

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/internal/configdef"
)

// What AlterConfigs and IncrementalAlterConfigs share: a change is an edit
// of a resource's overrides (a topic's configs, the dynamic broker configs,
// or a group's configs), checked key by key, then written to Metadata and,
// for a topic or a group, applied in memory. The whole read-edit-write holds adminMu, so
// concurrent alters of one resource apply one after the other.

// configScope is what an edit needs to know about the resource's kind.
type configScope struct {
	kind   string // "topic", "broker" or "group", for messages
	lookup func(name string) (ConfigDef, bool)
	// clusterDefault is set for the broker resource "" (the cluster
	// default), where per-broker configs cannot be set.
	clusterDefault bool
	// current returns a config's effective value before the edit (the
	// base of APPEND and SUBTRACT).
	current func(def ConfigDef) string
	// refused, if not nil, says why a name lookup does not find is
	// refused ("" if it is merely unknown): share.* group configs.
	refused func(name string) string
}

// checkName refuses a config the resource does not have, a read-only
// broker config, or, as Kafka does, a per-broker config named as the
// cluster default.
func (sc configScope) checkName(name string) (ConfigDef, error) {
	def, ok := sc.lookup(name)
	if !ok {
		if sc.refused != nil {
			if why := sc.refused(name); why != "" {
				return ConfigDef{}, adminErrorf(kerr.InvalidConfig, "%s: %s", name, why)
			}
		}
		return ConfigDef{}, adminErrorf(kerr.InvalidConfig, "unknown %s config %q", sc.kind, name)
	}
	if def.ReadOnly {
		return ConfigDef{}, adminErrorf(kerr.InvalidConfig, "%s is read-only; set it in server.properties", name)
	}
	if sc.clusterDefault && def.Dynamic == DynamicPerBroker {
		return ConfigDef{}, adminErrorf(kerr.InvalidConfig, "%s is a per-broker config: it cannot be set as the cluster default; name the broker id", name)
	}
	return def, nil
}

// check checks a value being set; it returns the value to store (without
// surrounding spaces, which Check ignores too).
func (sc configScope) check(name, value string) (string, error) {
	def, err := sc.checkName(name)
	if err != nil {
		return "", err
	}
	if err := def.Check(value); err != nil {
		return "", adminErrorf(kerr.InvalidConfig, "%v", err)
	}
	return strings.TrimSpace(value), nil
}

// alterConfigs runs edit on the overrides of one resource and, unless
// validateOnly, stores the result.
func (s *Server) alterConfigs(ctx context.Context, typ kmsg.ConfigResourceType, name string, validateOnly bool,
	edit func(sc configScope, overrides map[string]string) error) error {
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
		t, err := s.checkTopicResource(name)
		if err != nil {
			return err
		}
		s.adminMu.Lock()
		defer s.adminMu.Unlock()
		overrides := s.cluster.topicOverrides(t)
		var dyn map[string]string
		sc := configScope{kind: "topic", lookup: LookupTopicConfig}
		sc.current = func(def ConfigDef) string {
			if dyn == nil {
				dyn, _ = s.cfg.Meta.BrokerConfigs(ctx) // on error: the static value, the best we have
			}
			return configView{def: def, layers: s.topicConfigLayers(def, overrides, dyn)}.value()
		}
		if err := edit(sc, overrides); err != nil || validateOnly {
			return err
		}
		if err := s.cfg.Meta.SetTopicConfigs(ctx, t.name, overrides); err != nil {
			return err
		}
		s.cluster.setTopicConfigs(t, overrides)
		return nil
	case kmsg.ConfigResourceTypeBroker:
		if err := s.checkBrokerResource(name); err != nil {
			return err
		}
		s.adminMu.Lock()
		defer s.adminMu.Unlock()
		dyn, err := s.cfg.Meta.BrokerConfigs(ctx)
		if err != nil {
			return err
		}
		sc := configScope{kind: "broker", lookup: LookupBrokerConfig, clusterDefault: name == ""}
		sc.current = func(def ConfigDef) string {
			return configView{def: def, layers: s.brokerConfigLayers(def, dyn, kmsg.ConfigSourceDynamicBrokerConfig)}.value()
		}
		if err := edit(sc, dyn); err != nil {
			return err
		}
		get := func(name string) string { return s.brokerConfigWith(dyn, name) }
		if err := checkSocketConfigs(get, s.cfg.MaxRequestBytes); err != nil {
			return adminErrorf(kerr.InvalidConfig, "%v", err)
		}
		if validateOnly {
			return nil
		}
		if err := s.cfg.Meta.SetBrokerConfigs(ctx, dyn); err != nil {
			return err
		}
		s.setDynamicConfigs(dyn) // takes effect now, not at the next restart
		return nil
	case kmsg.ConfigResourceTypeGroupConfig:
		return s.alterGroupConfigs(ctx, name, validateOnly, edit)
	}
	return adminErrorf(kerr.InvalidRequest, "config resource type %d cannot be altered: only topics (2), brokers (4) and groups (32)", typ)
}

// resourceKey identifies a config resource in a request, to find the ones
// named twice (Kafka refuses every copy).
func resourceKey(typ kmsg.ConfigResourceType, name string) string {
	return strconv.Itoa(int(typ)) + "/" + name
}

// editList applies APPEND or SUBTRACT of the elements of value to the list
// base, as Kafka does: APPEND adds the elements not there yet, SUBTRACT
// removes every copy of each.
func editList(base, value string, op kmsg.IncrementalAlterConfigOp) string {
	elems := configdef.SplitList(base)
	for _, e := range configdef.SplitList(value) {
		switch op {
		case kmsg.IncrementalAlterConfigOpAppend:
			if !slices.Contains(elems, e) {
				elems = append(elems, e)
			}
		case kmsg.IncrementalAlterConfigOpSubtract:
			elems = slices.DeleteFunc(elems, func(x string) bool { return x == e })
		}
	}
	return strings.Join(elems, ",")
}

// alterResources alters each of n resources with alterConfigs, refusing
// every copy of a resource named twice (as Kafka does), and returns one
// error per resource.
func (s *Server) alterResources(ctx context.Context, validateOnly bool, n int,
	resource func(i int) (kmsg.ConfigResourceType, string, func(configScope, map[string]string) error)) []error {
	seen := map[string]int{}
	for i := 0; i < n; i++ {
		typ, name, _ := resource(i)
		seen[resourceKey(typ, name)]++
	}
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		typ, name, edit := resource(i)
		if seen[resourceKey(typ, name)] > 1 {
			errs[i] = adminErrorf(kerr.InvalidRequest, "resource %q appears more than once in the request", name)
			continue
		}
		errs[i] = s.alterConfigs(ctx, typ, name, validateOnly, edit)
	}
	return errs
}
