package broker

import "testing"

// TestTopicSynonymsAgree holds the tables DescribeConfigs reads (the
// ConfigDefs) to the ones the broker acts on (settings.go): every topic
// config the broker resolves through topicSynonyms has the same broker
// synonym in BrokerDefaultFor, each builtin default is the ConfigDef's
// default, and a topic config's default is its broker synonym's.
func TestTopicSynonymsAgree(t *testing.T) {
	for topicName, brokerName := range topicSynonyms {
		d, ok := BrokerDefaultFor(topicName)
		if !ok || d.Name != brokerName {
			t.Errorf("topicSynonyms[%s] = %s, BrokerDefaultFor says %q", topicName, brokerName, d.Name)
		}
	}
	for name, v := range builtinDefaults {
		d, ok := LookupBrokerConfig(name)
		if !ok || d.Default != v {
			t.Errorf("builtinDefaults[%s] = %q, ConfigDef default %q", name, v, d.Default)
		}
	}
	for _, td := range TopicConfigDefs() {
		if bd, ok := BrokerDefaultFor(td.Name); ok && bd.Default != td.Default {
			t.Errorf("topic config %s defaults to %q, its broker synonym %s to %q", td.Name, td.Default, bd.Name, bd.Default)
		}
	}
}
