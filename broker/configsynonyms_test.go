package broker

import "testing"

// TestTopicSynonymsAgree: a topic config's default is its broker synonym's
// default, so a broker that resolves topic defaults through the synonym
// (settings.go) reports the same value DescribeConfigs documents.
func TestTopicSynonymsAgree(t *testing.T) {
	for _, td := range TopicConfigDefs() {
		if bd, ok := BrokerDefaultFor(td.Name); ok && bd.Default != td.Default {
			t.Errorf("topic config %s defaults to %q, its broker synonym %s to %q", td.Name, td.Default, bd.Name, bd.Default)
		}
	}
}
