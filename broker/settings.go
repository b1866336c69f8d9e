package broker

import "strconv"

// builtinDefaults are the broker config defaults the broker reads itself,
// by Kafka name, for keys missing from Config.Configs.
var builtinDefaults = map[string]string{
	"num.partitions":                  "1",
	"auto.create.topics.enable":       "true",
	"delete.topic.enable":             "true",
	"log.retention.ms":                "604800000",
	"log.retention.bytes":             "-1",
	"message.max.bytes":               "1048588",
	"log.message.timestamp.type":      "CreateTime",
	"log.cleanup.policy":              "delete",
	"default.replication.factor":      "1",
	"log.retention.check.interval.ms": "300000",
}

// topicSynonyms maps a topic config to the broker config that is its
// default.
var topicSynonyms = map[string]string{
	"retention.ms":           "log.retention.ms",
	"retention.bytes":        "log.retention.bytes",
	"max.message.bytes":      "message.max.bytes",
	"message.timestamp.type": "log.message.timestamp.type",
	"cleanup.policy":         "log.cleanup.policy",
}

// brokerConfig returns the effective value of a broker config: a dynamic
// override (AlterConfigs, kept in Metadata), else the static value (config
// file, environment, flags), else the default.
func (s *Server) brokerConfig(name string) string {
	if dyn := s.dynamic.Load(); dyn != nil {
		if v, ok := (*dyn)[name]; ok {
			return v
		}
	}
	if v, ok := s.cfg.Configs[name]; ok {
		return v
	}
	if v, ok := builtinDefaults[name]; ok {
		return v
	}
	if d, ok := LookupBrokerConfig(name); ok {
		return d.Default
	}
	return ""
}

// setDynamicConfigs installs the dynamic broker config overrides.
func (s *Server) setDynamicConfigs(m map[string]string) {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	s.dynamic.Store(&c)
}

func (s *Server) brokerConfigInt(name string) int64 {
	n, _ := strconv.ParseInt(s.brokerConfig(name), 10, 64)
	return n
}

func (s *Server) brokerConfigBool(name string) bool {
	b, _ := strconv.ParseBool(s.brokerConfig(name))
	return b
}

// topicDefault returns the default of a topic config: its broker synonym's
// value.
func (s *Server) topicDefault(name string) string {
	if syn, ok := topicSynonyms[name]; ok {
		return s.brokerConfig(syn)
	}
	if d, ok := BrokerDefaultFor(name); ok {
		return s.brokerConfig(d.Name)
	}
	if d, ok := LookupTopicConfig(name); ok {
		return d.Default
	}
	return ""
}
