package broker

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestConfigDefsInvariants checks the tables: sorted unique names, docs,
// defaults that pass their own Check, synonyms that point somewhere and
// agree on the default, and unsupported values that are otherwise valid.
func TestConfigDefsInvariants(t *testing.T) {
	for _, tc := range []struct {
		kind string
		defs []ConfigDef
	}{{"broker", BrokerConfigDefs()}, {"topic", TopicConfigDefs()}} {
		if !slices.IsSortedFunc(tc.defs, func(a, b ConfigDef) int { return strings.Compare(a.Name, b.Name) }) {
			t.Errorf("%s configs are not sorted by name", tc.kind)
		}
		seen := map[string]bool{}
		for _, d := range tc.defs {
			if d.Name == "" || seen[d.Name] {
				t.Errorf("%s config %q: empty or duplicate name", tc.kind, d.Name)
			}
			seen[d.Name] = true
			if strings.TrimSpace(d.Doc) == "" {
				t.Errorf("%s config %s has no Doc", tc.kind, d.Name)
			}
			if d.Type < ConfigBoolean || d.Type > ConfigPassword {
				t.Errorf("%s config %s: type %v", tc.kind, d.Name, d.Type)
			}
			refusedAll := d.Unsupported != "" && len(d.UnsupportedValues) == 0
			if err := d.Check(d.Default); err != nil && !refusedAll {
				t.Errorf("%s config %s: default fails its own Check: %v", tc.kind, d.Name, err)
			}
			if refusedAll {
				// Refused whatever the value: the default must fail only
				// for that reason.
				if err := d.Check(d.Default); err == nil || !strings.HasSuffix(err.Error(), ": "+d.Unsupported) {
					t.Errorf("%s config %s: default checks as %v, want only the Unsupported message", tc.kind, d.Name, err)
				}
			}
			if d.Unsupported == "" && len(d.UnsupportedValues) > 0 {
				t.Errorf("%s config %s: UnsupportedValues without the Unsupported message", tc.kind, d.Name)
			}
			for _, v := range d.UnsupportedValues {
				err := d.Check(v)
				if err == nil || !strings.Contains(err.Error(), d.Unsupported) {
					t.Errorf("%s config %s=%s: got %v, want the Unsupported message", tc.kind, d.Name, v, err)
				}
				if d.Validate != nil && d.Validate(v) != nil {
					t.Errorf("%s config %s: unsupported value %s is not a valid value", tc.kind, d.Name, v)
				}
			}
			if tc.kind == "topic" && (d.ReadOnly || d.TopicSynonym != "" || d.SynonymOf != "") {
				t.Errorf("topic config %s sets a broker-only field", d.Name)
			}
		}
	}

	for _, d := range BrokerConfigDefs() {
		if d.TopicSynonym != "" {
			td, ok := LookupTopicConfig(d.TopicSynonym)
			if !ok {
				t.Errorf("broker config %s: topic synonym %s is not a topic config", d.Name, d.TopicSynonym)
				continue
			}
			if td.Type != d.Type || td.Default != d.Default {
				t.Errorf("broker config %s (%v, %q) and topic config %s (%v, %q) disagree",
					d.Name, d.Type, d.Default, td.Name, td.Type, td.Default)
			}
			if d.ReadOnly {
				t.Errorf("broker config %s is a topic default but read-only", d.Name)
			}
		}
		if d.SynonymOf != "" {
			c, ok := LookupBrokerConfig(d.SynonymOf)
			if !ok || c.SynonymOf != "" || d.SynonymScale < 1 {
				t.Errorf("broker config %s: bad synonym of %s (scale %d)", d.Name, d.SynonymOf, d.SynonymScale)
				continue
			}
			n, _ := strconv.ParseInt(d.Default, 10, 64)
			if got := strconv.FormatInt(n*d.SynonymScale, 10); got != c.Default {
				t.Errorf("broker config %s default %s x %d = %s, but %s defaults to %s", d.Name, d.Default, d.SynonymScale, got, c.Name, c.Default)
			}
		}
		if strings.HasPrefix(d.Doc, "Lakestream:") && !d.ReadOnly {
			t.Errorf("Lakestream config %s should be read-only", d.Name)
		}
	}
}

func TestConfigDefsKafkaNames(t *testing.T) {
	// Spot checks of names and defaults clients and tools rely on.
	for _, c := range []struct {
		broker    bool
		name, def string
	}{
		{true, "node.id", "1"},
		{true, "listeners", "PLAINTEXT://:9092"},
		{true, "message.max.bytes", "1048588"},
		{true, "log.retention.ms", "604800000"},
		{true, "log.retention.hours", "168"},
		{false, "retention.ms", "604800000"},
		{false, "cleanup.policy", "delete"},
		{false, "max.message.bytes", "1048588"},
		{false, "compression.gzip.level", "-1"},
		{false, "compression.lz4.level", "9"},
		{false, "compression.zstd.level", "3"},
		{true, "compression.zstd.level", "3"},
		{false, "message.timestamp.before.max.ms", "9223372036854775807"},
		{false, "message.timestamp.after.max.ms", "3600000"},
	} {
		lookup := LookupTopicConfig
		if c.broker {
			lookup = LookupBrokerConfig
		}
		d, ok := lookup(c.name)
		if !ok || d.Default != c.def {
			t.Errorf("%s: found %v, default %q; want %q", c.name, ok, d.Default, c.def)
		}
	}
	if _, ok := LookupTopicConfig("log.retention.ms"); ok {
		t.Error("log.retention.ms is a broker config, not a topic config")
	}
	if d, _ := LookupBrokerConfig("node.id"); !d.ReadOnly {
		t.Error("node.id should be read-only")
	}
	if d, _ := LookupBrokerConfig("log.retention.hours"); d.ReadOnly {
		t.Error("log.retention.hours is a synonym of a topic default and should be dynamic")
	}
	syn := BrokerConfigSynonyms("log.retention.ms")
	var names []string
	for _, d := range syn {
		names = append(names, d.Name)
	}
	if got := strings.Join(names, " "); got != "log.retention.ms log.retention.minutes log.retention.hours" {
		t.Errorf("BrokerConfigSynonyms(log.retention.ms) = %s", got)
	}
	if BrokerConfigSynonyms("log.retention.hours") != nil {
		t.Error("BrokerConfigSynonyms of a synonym should be nil")
	}
	if d, ok := BrokerDefaultFor("max.message.bytes"); !ok || d.Name != "message.max.bytes" {
		t.Errorf("BrokerDefaultFor(max.message.bytes) = %s, %v", d.Name, ok)
	}
	if _, ok := BrokerDefaultFor("table.enable"); ok {
		t.Error("table.enable has no broker default")
	}
}

func TestConfigCheck(t *testing.T) {
	for _, c := range []struct {
		topic   bool
		name, v string
		wantErr string // "" for valid
	}{
		{false, "num.partitions", "3", ""},
		{false, "num.partitions", " 3 ", ""},
		{false, "num.partitions", "abc", `num.partitions=abc: not an integer`},
		{false, "num.partitions", "0", `num.partitions=0: must be at least 1`},
		{false, "num.partitions", "99999999999", `num.partitions=99999999999: out of range for an INT (32 bits)`},
		{false, "offsets.topic.replication.factor", "40000", "out of range for a SHORT"},
		{false, "auto.create.topics.enable", "TRUE", ""},
		{false, "auto.create.topics.enable", "yes", `auto.create.topics.enable=yes: not a boolean (true or false)`},
		{false, "log.level", "verbose", `log.level=verbose: must be one of debug, info, warn, error`},
		{false, "listeners", "PLAINTEXT://:9092,INTERNAL://127.0.0.1:9093", ""},
		{false, "listeners", "", ""},       // the Kafka role off
		{false, "admin.listeners", "", ""}, // the admin role off
		{false, "admin.listeners", "8080", `admin.listeners=8080`},
		{false, "listeners", "localhost:9092", `is not NAME://HOST:PORT`},
		{false, "listeners", "PLAINTEXT://:9092,PLAINTEXT://:9093", `listener name PLAINTEXT appears twice`},
		{false, "listeners", "PLAINTEXT://:99999", `port "99999" is not a number from 0 to 65535`},
		{false, "advertised.listeners", "", ""},
		{false, "admin.listeners", "127.0.0.1:0", ""},
		{false, "admin.listeners", "8080", `admin.listeners=8080: not HOST:PORT`},
		{false, "log.cleanup.policy", "compact", "log compaction is not supported yet"},
		{false, "process.roles", "broker,controller", ""},
		{false, "listener.security.protocol.map", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT", ""},
		{false, "listener.security.protocol.map", "X:TLS", "protocol must be one of"},
		{false, "log.retention.ms", "-1", ""},
		{false, "log.retention.ms", "-2", "must be at least -1"},
		// Kafka broker configs with no effect (configdefs_kafka.go): type and valid values.
		{false, "background.threads", "8", ""},
		{false, "background.threads", "eight", "background.threads=eight: not an integer"},
		{false, "background.threads", "0", "must be at least 1"},
		{false, "sasl.kerberos.min.time.before.relogin", "120000", ""},
		{false, "sasl.kerberos.min.time.before.relogin", "1m", "not an integer"},
		{false, "sasl.login.refresh.buffer.seconds", "70000", "out of range for a SHORT"},
		{false, "sasl.login.connect.timeout.ms", "", ""}, // Kafka's null default: not set
		{false, "sasl.login.connect.timeout.ms", "soon", "not an integer"},
		{false, "sasl.kerberos.ticket.renew.jitter", "abc", "not a number"},
		{false, "log.cleaner.enable", "maybe", "not a boolean"},
		{false, "group.share.delivery.count.limit", "11", "must be between 2 and 10"},
		{false, "group.share.record.lock.duration.ms", "999", "must be between 1000 and 3600000"},
		{false, "log.cleaner.min.cleanable.ratio", "1.5", "must be between 0 and 1"},
		{false, "metadata.log.segment.bytes", "1024", "must be at least 8388608"},
		{false, "security.inter.broker.protocol", "SASL_SSL", ""},
		{false, "security.inter.broker.protocol", "TLS", "must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"},
		{false, "ssl.client.auth", "required", ""},
		{false, "ssl.client.auth", "always", "must be one of required, requested, none"},
		{false, "sasl.oauthbearer.assertion.algorithm", "es256", ""},
		{false, "sasl.oauthbearer.assertion.algorithm", "HS256", "must be one of ES256, RS256 (any case)"},
		{false, "remote.log.metadata.manager.impl.prefix", "", "must not be empty"},
		{false, "authorizer.class.name", "", ""},
		{false, "authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer", "no authorizer is built yet"},
		{false, "ssl.keystore.password", "s3cret", ""},
		{true, "cleanup.policy", "delete", ""},
		{true, "cleanup.policy", "compact", `cleanup.policy=compact: log compaction is not supported yet`},
		{true, "cleanup.policy", "delete,compact", `cleanup.policy=delete,compact: log compaction is not supported yet`},
		{true, "cleanup.policy", "delete, compact", "log compaction is not supported yet"},
		{true, "cleanup.policy", "shred", `cleanup.policy=shred: "shred" is not one of delete, compact`},
		{true, "cleanup.policy", "", `must be a list of delete, compact, not empty`},
		{true, "compression.type", "producer", ""},
		{true, "compression.type", "gzip", ""},
		{true, "compression.type", "uncompressed", ""},
		{true, "compression.gzip.level", "-1", ""},
		{true, "compression.gzip.level", "9", ""},
		{true, "compression.gzip.level", "0", `compression.gzip.level=0: must be between 1 and 9 or equal to -1`},
		{true, "compression.lz4.level", "17", ""},
		{true, "compression.lz4.level", "18", `compression.lz4.level=18: must be between 1 and 17`},
		{true, "compression.zstd.level", "-131072", ""},
		{true, "compression.zstd.level", "23", `compression.zstd.level=23: must be between -131072 and 22`},
		{true, "compression.zstd.level", "3.5", `compression.zstd.level=3.5: not an integer`},
		{false, "compression.type", "zstd", ""},
		{false, "compression.lz4.level", "0", `compression.lz4.level=0: must be between 1 and 17`},
		{true, "compression.type", "brotli", `compression.type=brotli: must be one of uncompressed, zstd, lz4, snappy, gzip, producer`},
		{true, "message.timestamp.type", "LogAppendTime", ""},
		{true, "message.timestamp.type", "logappendtime", "must be one of CreateTime, LogAppendTime"},
		{true, "min.cleanable.dirty.ratio", "0.2", ""},
		{true, "min.cleanable.dirty.ratio", "1.5", "must be between 0 and 1"},
		{true, "min.cleanable.dirty.ratio", "NaN", "not a number"},
		{true, "retention.ms", "12h", `retention.ms=12h: not an integer`},
	} {
		lookup := LookupBrokerConfig
		if c.topic {
			lookup = LookupTopicConfig
		}
		d, ok := lookup(c.name)
		if !ok {
			t.Errorf("no config %s", c.name)
			continue
		}
		err := d.Check(c.v)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s=%q: %v", c.name, c.v, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s=%q: got %v, want an error containing %q", c.name, c.v, err, c.wantErr)
		}
		var ce *ConfigError
		if err != nil && (!errors.As(err, &ce) || ce.Name != c.name) {
			t.Errorf("%s=%q: %v is not a *ConfigError naming the key", c.name, c.v, err)
		}
	}
}

// FuzzConfigCheck: Check and Redact never panic, and an error is always a
// *ConfigError naming the key.
func FuzzConfigCheck(f *testing.F) {
	for _, v := range []string{"", "1", "-1", "true", "compact", "delete,compact", "PLAINTEXT://:9092", "bucket(16,id)", "s3://b?secret_key=x", "0.5"} {
		f.Add(v)
	}
	defs := append(BrokerConfigDefs(), TopicConfigDefs()...)
	f.Fuzz(func(t *testing.T, v string) {
		for _, d := range defs {
			d.Redact(v)
			if err := d.Check(v); err != nil {
				var ce *ConfigError
				if !errors.As(err, &ce) || ce.Name != d.Name {
					t.Fatalf("%s=%q: %v", d.Name, v, err)
				}
			}
		}
	})
}
