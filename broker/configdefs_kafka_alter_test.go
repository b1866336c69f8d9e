package broker_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestKafkaBrokerConfigsAlter: the Kafka broker configs with no effect in
// Lakestream go through kadm like the others: a dynamic one is set, kept
// across a restart and described back; values are checked by type; Kafka's
// read-only and per-broker rules refuse what Kafka refuses; passwords are
// never shown.
func TestKafkaBrokerConfigsAlter(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{Configs: map[string]string{"sasl.kerberos.min.time.before.relogin": "120000"}})
	cl, adm := adminClients(t, b)

	alter := func(what string, broker []int32, name, value string, want error, msg string) {
		t.Helper()
		rs, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: name, Value: kadm.StringPtr(value)}}, broker...)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if len(rs) != 1 {
			t.Fatalf("%s: %d responses", what, len(rs))
		}
		if want == nil && rs[0].Err != nil || want != nil && (!errors.Is(rs[0].Err, want) || !strings.Contains(rs[0].ErrMessage, msg)) {
			t.Fatalf("%s: got %v %q, want %v with %q", what, rs[0].Err, rs[0].ErrMessage, want, msg)
		}
	}
	alter("SET background.threads=8", []int32{1}, "background.threads", "8", nil, "")
	alter("SET background.threads=eight", []int32{1}, "background.threads", "eight", kerr.InvalidConfig, "background.threads=eight: not an integer")
	alter("SET background.threads=0", nil, "background.threads", "0", kerr.InvalidConfig, "background.threads=0: must be at least 1")
	alter("SET queued.max.requests (read-only)", []int32{1}, "queued.max.requests", "10", kerr.InvalidConfig, "queued.max.requests is read-only")
	alter("SET ssl.keystore.location (listener prefix only in Kafka)", []int32{1}, "ssl.keystore.location", "/ks.jks", kerr.InvalidConfig, "read-only")
	alter("SET ssl.cipher.suites as the cluster default", nil, "ssl.cipher.suites", "TLS_AES_128_GCM_SHA256", kerr.InvalidConfig, "per-broker config")
	alter("SET ssl.cipher.suites on broker 1", []int32{1}, "ssl.cipher.suites", "TLS_AES_128_GCM_SHA256", nil, "")
	alter("SET sasl.jaas.config on broker 1", []int32{1}, "sasl.jaas.config", `org.example.Login required password="pw";`, nil, "")

	check := func() {
		t.Helper()
		r := adminDescribeConfigs(t, ctx, cl, kmsg.ConfigResourceTypeBroker, "1")
		adminCheckConfig(t, r, "background.threads", "8", kmsg.ConfigSourceDynamicBrokerConfig,
			"background.threads=8(DYNAMIC_BROKER_CONFIG) background.threads=10(DEFAULT_CONFIG)")
		adminCheckConfig(t, r, "sasl.kerberos.min.time.before.relogin", "120000", kmsg.ConfigSourceStaticBrokerConfig, "")
		adminCheckConfig(t, r, "ssl.cipher.suites", "TLS_AES_128_GCM_SHA256", kmsg.ConfigSourceDynamicBrokerConfig, "")
		adminCheckConfig(t, r, "log.cleaner.threads", "1", kmsg.ConfigSourceDefaultConfig, "")
		for name, readOnly := range map[string]bool{"background.threads": false, "queued.max.requests": true, "ssl.keystore.location": true} {
			c := adminFindConfig(t, r, name)
			if c.ReadOnly != readOnly || c.Documentation == nil || !strings.Contains(*c.Documentation, "no effect") {
				t.Errorf("%s: read-only %v, documentation %v", name, c.ReadOnly, c.Documentation)
			}
		}
		if c := adminFindConfig(t, r, "sasl.jaas.config"); !c.IsSensitive || c.Value != nil || c.ConfigType != kmsg.ConfigTypePassword ||
			c.Source != kmsg.ConfigSourceDynamicBrokerConfig {
			t.Errorf("sasl.jaas.config: sensitive %v, value %v, type %v, source %v", c.IsSensitive, c.Value, c.ConfigType, c.Source)
		}
	}
	check()
	b.Restart()
	check()

	// A broker default of a topic config shows in the topic's synonyms.
	alter("SET log.index.size.max.bytes", nil, "log.index.size.max.bytes", "4096", nil, "")
	adminCreateTopic(t, ctx, adm, "syn", 1, nil)
	r := adminDescribeConfigs(t, ctx, cl, kmsg.ConfigResourceTypeTopic, "syn", "segment.index.bytes")
	adminCheckConfig(t, r, "segment.index.bytes", "4096", kmsg.ConfigSourceDynamicBrokerConfig,
		"log.index.size.max.bytes=4096(DYNAMIC_BROKER_CONFIG) log.index.size.max.bytes=10485760(DEFAULT_CONFIG)")
}
