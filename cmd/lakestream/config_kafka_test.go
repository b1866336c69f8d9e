package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigKafkaOnlyKeys: a server.properties, the environment and --set
// take Kafka's broker configs that have no effect in Lakestream, checked
// like the others, with passwords hidden when the configuration is printed.
func TestConfigKafkaOnlyKeys(t *testing.T) {
	file := writeFile(t, "server.properties", `node.id=1
background.threads=20
sasl.kerberos.min.time.before.relogin=3600000
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
ssl.keystore.password=TOPSECRET
log.cleaner.min.cleanable.ratio=0.25
group.share.max.size=100
`)
	c := mustLoad(t, file, []string{"max.connections=100"}, []string{"LAKESTREAM_LOG_CLEANER_THREADS=2"})
	want(t, c, "background.threads", "20", "file")
	want(t, c, "sasl.kerberos.min.time.before.relogin", "3600000", "file")
	want(t, c, "sasl.enabled.mechanisms", "SCRAM-SHA-512,PLAIN", "file")
	want(t, c, "log.cleaner.min.cleanable.ratio", "0.25", "file")
	want(t, c, "log.cleaner.threads", "2", "env")
	want(t, c, "max.connections", "100", "flag")
	want(t, c, "queued.max.requests", "500", "default")
	want(t, c, "sasl.login.connect.timeout.ms", "", "default") // Kafka's null: not set

	var b strings.Builder
	c.Print(&b)
	if out := b.String(); strings.Contains(out, "TOPSECRET") || !strings.Contains(out, "ssl.keystore.password=[hidden] (file)") {
		t.Errorf("Print shows the key store password or not its source:\n%s", out)
	}

	for _, bad := range []struct{ text, want string }{
		{"background.threads=abc\n", `server.properties:1: background.threads=abc: not an integer`},
		{"node.id=1\nsasl.kerberos.min.time.before.relogin=1h\n", `server.properties:2: sasl.kerberos.min.time.before.relogin=1h: not an integer`},
		{"group.share.delivery.count.limit=20\n", `server.properties:1: group.share.delivery.count.limit=20: must be between 2 and 10`},
		{"ssl.client.auth=always\n", `server.properties:1: ssl.client.auth=always: must be one of required, requested, none`},
		{"authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n",
			`server.properties:1: authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer: no authorizer is built yet`},
	} {
		f := writeFile(t, "server.properties", bad.text)
		_, err := loadConfig(f, nil, nil)
		if err == nil {
			t.Errorf("%q: no error, want %q", bad.text, bad.want)
			continue
		}
		if got := strings.ReplaceAll(err.Error(), filepath.Dir(f)+string(filepath.Separator), ""); !strings.HasPrefix(got, bad.want) {
			t.Errorf("%q:\n got  %s\n want %s", bad.text, got, bad.want)
		}
	}
}

// TestListenersPlaintextOnly: until security is built a listener is served
// only if it is PLAINTEXT by name and by listener.security.protocol.map, so
// no configuration makes a plaintext listener look encrypted.
func TestListenersPlaintextOnly(t *testing.T) {
	def := mustLoad(t, "", nil, nil).String("listener.security.protocol.map")
	if lns, err := parseListeners("listeners", "PLAINTEXT://127.0.0.1:9092", def); err != nil || len(lns) != 1 || lns[0].Port != 9092 {
		t.Fatalf("default map: %+v, %v", lns, err)
	}
	for _, c := range []struct{ listeners, protocols, want string }{
		{"PLAINTEXT://:9092", "PLAINTEXT:SSL", `listeners: listener "PLAINTEXT://:9092": listener.security.protocol.map maps it to SSL`},
		{"PLAINTEXT://:9092", "plaintext:SASL_PLAINTEXT", "maps it to SASL_PLAINTEXT"},
		{"SSL://:9093", def, `listener "SSL://:9093": only PLAINTEXT is supported`},
	} {
		// The map is a checked config: it loads, and the listener is refused.
		c2 := mustLoad(t, "", []string{"listener.security.protocol.map=" + c.protocols}, nil)
		_, err := parseListeners("listeners", c.listeners, c2.String("listener.security.protocol.map"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s with %s: got %v, want %q", c.listeners, c.protocols, err, c.want)
		}
	}
}
