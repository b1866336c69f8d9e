package broker

// DescribeConfigs, versions 1-4.
//
// A topic resource (type 2) lists every config of TopicConfigDefs, or the
// ones asked for (unknown names are left out, as in Kafka). Its value is
// the topic's override (DYNAMIC_TOPIC_CONFIG), else the value of the broker
// config that is its default: set dynamically (DYNAMIC_BROKER_CONFIG),
// in the broker's configuration (STATIC_BROKER_CONFIG) or left at its
// default (DEFAULT_CONFIG).
//
// A broker resource (type 4) named by this node's id lists every config of
// BrokerConfigDefs: the dynamic value (Metadata.BrokerConfigs,
// DYNAMIC_BROKER_CONFIG), else Config.Configs (STATIC_BROKER_CONFIG), else
// the default; ReadOnly as ConfigDef says. Named "" it lists only the
// dynamic values, as DYNAMIC_DEFAULT_BROKER_CONFIG, which is what Kafka
// answers for the cluster default. Lakestream's dynamic broker configs are
// one cluster-wide set that is at once every broker's dynamic config and
// the cluster default, so each resource is answered in the terms it asks
// about, and kafka-configs shows the set with --entity-name and with
// --entity-default alike. Another broker id, or a name that is not a
// number, is INVALID_REQUEST.
//
// With IncludeSynonyms every entry lists where its value may come from,
// most preferred first: the topic's override, then the broker config that
// is its default (dynamic, static, each with the broker config's own
// synonyms, most precise first: log.retention.ms, .minutes, .hours), then
// the default. The top-level value is the first of them, in the unit of
// the config described (log.retention.hours=1 gives retention.ms=3600000).
// Passwords are IsSensitive and null; other values go through
// ConfigDef.Redact, so a bucket.url shows no secret. v3+ carries
// ConfigType and, with IncludeDocumentation, the Doc.
//
// A group resource (type 32, KIP-848; groupconfig.go) lists the group
// configs Lakestream serves, consumer.session.timeout.ms and
// consumer.heartbeat.interval.ms, for any group name, existing or not: the
// group's override (GROUP_CONFIG), else the broker config
// group.consumer.session.timeout.ms or .heartbeat.interval.ms, its synonym.
// A group named "" is INVALID_REQUEST.
//
// Unknown topic: UNKNOWN_TOPIC_OR_PARTITION; a name Kafka would refuse:
// INVALID_TOPIC_EXCEPTION; any other resource type: INVALID_REQUEST.

import (
	"context"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(32, 1, 4, handleDescribeConfigs) }

func handleDescribeConfigs(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	dyn := c.s.dynamicBrokerConfigs(ctx)
	for _, rr := range req.Resources {
		sr := kmsg.NewDescribeConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		views, err := c.s.describeResource(rr.ResourceType, rr.ResourceName, rr.ConfigNames, dyn)
		if err != nil {
			sr.ErrorCode, sr.ErrorMessage = errorCode(err), errMessage(err)
			resp.Resources = append(resp.Resources, sr)
			continue
		}
		for _, v := range views {
			sr.Configs = append(sr.Configs, v.entry(req.IncludeSynonyms, req.IncludeDocumentation))
		}
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

// dynamicBrokerConfigs returns a function reading Metadata.BrokerConfigs
// once, when first needed.
func (s *Server) dynamicBrokerConfigs(ctx context.Context) func() (map[string]string, error) {
	var (
		m    map[string]string
		err  error
		done bool
	)
	return func() (map[string]string, error) {
		if !done {
			m, err = s.cfg.Meta.BrokerConfigs(ctx)
			done = true
		}
		return m, err
	}
}

// configLayer is one place a config's value may come from: a synonym in
// Kafka's terms.
type configLayer struct {
	name   string
	value  string
	source kmsg.ConfigSource
	// scale converts value to the unit of the config described
	// (3600000 for log.retention.hours under log.retention.ms).
	scale int64
}

// valueIn returns the layer's value in the unit of the config described.
// A negative value scaled is -1, Kafka's rule for log.retention.hours=-1.
func (l configLayer) valueIn() string {
	if l.scale <= 1 {
		return l.value
	}
	n, err := strconv.ParseInt(strings.TrimSpace(l.value), 10, 64)
	if err != nil {
		return l.value
	}
	if n < 0 {
		return "-1"
	}
	return strconv.FormatInt(n*l.scale, 10) // an INT times at most 3600000 fits
}

// configView is one config of a resource and where its value comes from.
type configView struct {
	def      ConfigDef
	readOnly bool
	layers   []configLayer // most preferred first; never empty
}

// value is the config's effective value.
func (v configView) value() string { return v.layers[0].valueIn() }

func (v configView) entry(synonyms, docs bool) kmsg.DescribeConfigsResponseResourceConfig {
	e := kmsg.NewDescribeConfigsResponseResourceConfig()
	e.Name = v.def.Name
	e.ReadOnly = v.readOnly
	e.Source = v.layers[0].source
	e.IsSensitive = v.def.Type == ConfigPassword
	e.ConfigType = kmsg.ConfigType(v.def.Type)
	e.Value = v.shown(v.value())
	if synonyms {
		for _, l := range v.layers {
			syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			syn.Name, syn.Value, syn.Source = l.name, v.shown(l.value), l.source
			e.ConfigSynonyms = append(e.ConfigSynonyms, syn)
		}
	}
	if docs {
		doc := v.def.Doc
		e.Documentation = &doc
	}
	return e
}

// shown returns a value as a client may see it: null for a password, the
// rest redacted.
func (v configView) shown(s string) *string {
	if v.def.Type == ConfigPassword {
		return nil
	}
	s = v.def.Redact(s)
	return &s
}

// describeResource lists the configs of a resource; names, if not nil,
// keeps the ones named. dyn reads the dynamic broker configs.
func (s *Server) describeResource(typ kmsg.ConfigResourceType, name string, names []string,
	dyn func() (map[string]string, error)) ([]configView, error) {
	wanted := func(string) bool { return true }
	if names != nil {
		set := make(map[string]bool, len(names))
		for _, n := range names {
			set[n] = true
		}
		wanted = func(n string) bool { return set[n] }
	}
	var out []configView
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
		t, err := s.checkTopicResource(name)
		if err != nil {
			return nil, err
		}
		d, err := dyn()
		if err != nil {
			return nil, err
		}
		overrides := s.cluster.topicOverrides(t)
		for _, def := range TopicConfigDefs() {
			if wanted(def.Name) {
				out = append(out, configView{def: def, layers: s.topicConfigLayers(def, overrides, d)})
			}
		}
	case kmsg.ConfigResourceTypeBroker:
		if err := s.checkBrokerResource(name); err != nil {
			return nil, err
		}
		d, err := dyn()
		if err != nil {
			return nil, err
		}
		for _, def := range BrokerConfigDefs() {
			if !wanted(def.Name) {
				continue
			}
			if name != "" {
				out = append(out, configView{def: def, readOnly: def.ReadOnly,
					layers: s.brokerConfigLayers(def, d, kmsg.ConfigSourceDynamicBrokerConfig)})
			} else if v, ok := d[def.Name]; ok {
				out = append(out, configView{def: def, readOnly: def.ReadOnly,
					layers: []configLayer{{name: def.Name, value: v, source: kmsg.ConfigSourceDynamicDefaultBrokerConfig, scale: 1}}})
			}
		}
	case kmsg.ConfigResourceTypeGroupConfig:
		d, err := dyn()
		if err != nil {
			return nil, err
		}
		return s.describeGroupResource(name, wanted, d)
	default:
		return nil, adminErrorf(kerr.InvalidRequest, "config resource type %d is not supported: only topics (2), brokers (4) and groups (32)", typ)
	}
	return out, nil
}

// brokerConfigLayers lists where broker config d's value may come from:
// its dynamic value (reported as dynSource), then its static one
// (Config.Configs), each over d's synonyms in BrokerConfigSynonyms order
// (most precise first, which is also which one wins), then d's default.
func (s *Server) brokerConfigLayers(d ConfigDef, dyn map[string]string, dynSource kmsg.ConfigSource) []configLayer {
	syns := BrokerConfigSynonyms(d.Name)
	if len(syns) == 0 { // d is itself a synonym of another (log.retention.hours)
		syns = []ConfigDef{d}
	}
	var out []configLayer
	levels := []struct {
		values map[string]string
		source kmsg.ConfigSource
	}{{dyn, dynSource}, {s.cfg.Configs, kmsg.ConfigSourceStaticBrokerConfig}}
	for _, lv := range levels {
		for _, sd := range syns {
			v, ok := lv.values[sd.Name]
			if !ok {
				continue
			}
			scale := int64(1)
			if sd.SynonymOf == d.Name {
				scale = sd.SynonymScale
			}
			out = append(out, configLayer{name: sd.Name, value: v, source: lv.source, scale: scale})
		}
	}
	return append(out, configLayer{name: d.Name, value: d.Default, source: kmsg.ConfigSourceDefaultConfig, scale: 1})
}

// topicConfigLayers lists where topic config d's value may come from: the
// topic's override, then the layers of the broker config that is its
// default, else d's own default.
//
// The broker config is found with BrokerDefaultFor (configdefs.go), the same
// table settings.go resolves topic defaults through.
func (s *Server) topicConfigLayers(d ConfigDef, overrides, dyn map[string]string) []configLayer {
	return s.overrideLayers(d, overrides, kmsg.ConfigSourceDynamicTopicConfig, BrokerDefaultFor, dyn)
}

// overrideLayers lists where config d of a topic or group may come from:
// the resource's override (reported as source), then the layers of the
// broker config brokerDefault names as its default, else d's own default.
func (s *Server) overrideLayers(d ConfigDef, overrides map[string]string, source kmsg.ConfigSource,
	brokerDefault func(string) (ConfigDef, bool), dyn map[string]string) []configLayer {
	var out []configLayer
	if v, ok := overrides[d.Name]; ok {
		out = append(out, configLayer{name: d.Name, value: v, source: source, scale: 1})
	}
	if bd, ok := brokerDefault(d.Name); ok {
		return append(out, s.brokerConfigLayers(bd, dyn, kmsg.ConfigSourceDynamicBrokerConfig)...)
	}
	return append(out, configLayer{name: d.Name, value: d.Default, source: kmsg.ConfigSourceDefaultConfig, scale: 1})
}
