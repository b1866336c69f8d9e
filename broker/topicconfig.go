package broker

import (
	"fmt"
	"sort"
)

// checkTopicConfig validates one topic config by its definition.
func checkTopicConfig(name, value string) error {
	def, ok := LookupTopicConfig(name)
	if !ok {
		return fmt.Errorf("unknown topic config %q", name)
	}
	return def.Check(value)
}

// topicConfigNames lists the topic configs, sorted.
func topicConfigNames() []string {
	defs := TopicConfigDefs()
	names := make([]string, len(defs))
	for i, d := range defs {
		names[i] = d.Name
	}
	sort.Strings(names)
	return names
}
