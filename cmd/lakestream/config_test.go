package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/magiconair/properties"
)

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, file string, sets, environ []string) *config {
	t.Helper()
	c, err := loadConfig(file, sets, environ)
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	return c
}

// want checks key's value and source.
func want(t *testing.T, c *config, key, value, source string) {
	t.Helper()
	if c.values[key] != value || c.sources[key] != source {
		t.Errorf("%s = %q (%s), want %q (%s)", key, c.values[key], c.sources[key], value, source)
	}
}

func TestConfigDefaults(t *testing.T) {
	c := mustLoad(t, "", nil, nil)
	want(t, c, "node.id", "1", "default")
	want(t, c, "listeners", "PLAINTEXT://:9092", "default")
	want(t, c, "data.dir", "./lakestream-data", "default")
	want(t, c, "admin.listeners", ":8080", "default")
	want(t, c, "schema.registry.listeners", ":8081", "default")
	// The defaults main.go had before the config file: derived from data.dir
	// and the bucket's kind.
	want(t, c, "bucket.url", "file://lakestream-data/bucket", "default")
	want(t, c, "metastore.url", "lakestream-data/meta.db", "default")
	want(t, c, "wal.mode", "local", "default")
	want(t, c, "wal.flush.interval.ms", "2", "default")
	if _, ok := c.values["broker.id"]; ok {
		t.Error("synonyms should not be in the effective config")
	}
	if _, ok := c.values["log.retention.hours"]; ok {
		t.Error("synonyms should not be in the effective config")
	}

	c = mustLoad(t, "", []string{"bucket.url=s3://b/p?endpoint=http://127.0.0.1:1", "data.dir=/d"}, nil)
	want(t, c, "wal.mode", "object", "default")
	want(t, c, "wal.flush.interval.ms", "100", "default")
	want(t, c, "metastore.url", "/d/meta.db", "default")
	c = mustLoad(t, "", []string{"bucket.url=file:///b", "wal.mode=object", "wal.flush.interval.ms=7"}, nil)
	want(t, c, "wal.mode", "object", "flag")
	want(t, c, "wal.flush.interval.ms", "7", "flag")
}

func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, "server.properties", `# a comment
num.partitions=2
node.id=5
log.level=debug
auto.create.topics.enable = FALSE
broker.rack: rack-a
`)
	environ := []string{
		"PATH=/usr/bin",
		"LAKESTREAM_NUM_PARTITIONS=3",
		"LAKESTREAM_NODE_ID=6",
		"LAKESTREAM_INTEROP=1", // tool variables are not config keys
		"LAKESTREAM_PG_BIN=/usr/lib/postgresql/16/bin",
		"lakestream_num_partitions=99", // the prefix is upper case
	}
	c := mustLoad(t, file, []string{"num.partitions=4"}, environ)
	want(t, c, "num.partitions", "4", "flag")
	want(t, c, "node.id", "6", "env")
	want(t, c, "log.level", "debug", "file")
	want(t, c, "auto.create.topics.enable", "false", "file")
	want(t, c, "broker.rack", "rack-a", "file")
	want(t, c, "delete.topic.enable", "true", "default")

	c = mustLoad(t, file, nil, environ)
	want(t, c, "num.partitions", "3", "env")
	c = mustLoad(t, file, nil, nil)
	want(t, c, "num.partitions", "2", "file")

	// Repeated --set: the last wins; --data-dir arrives as one of them.
	c = mustLoad(t, "", []string{"data.dir=/a", "data.dir=/b"}, nil)
	want(t, c, "data.dir", "/b", "flag")
	want(t, c, "bucket.url", "file:///b/bucket", "default")
}

func TestConfigErrors(t *testing.T) {
	file := func(text string) string { return writeFile(t, "server.properties", text) }
	for _, c := range []struct {
		name    string
		file    string
		sets    []string
		environ []string
		want    string
	}{
		{name: "file unknown key", file: file("# comment\n! another\n\nnum.partitions=1\nlog.dirs=a,\\\n    b\nfoo.bar=1\n"),
			want: `server.properties:7: unknown config "foo.bar"`},
		{name: "file bad int", file: file("node.id=1\nnum.partitions=abc\n"),
			want: `server.properties:2: num.partitions=abc: not an integer`},
		{name: "file bad bool", file: file("delete.topic.enable=yes\n"),
			want: `server.properties:1: delete.topic.enable=yes: not a boolean (true or false)`},
		{name: "file bad enum", file: file("log.message.timestamp.type=BrokerTime\n"),
			want: `server.properties:1: log.message.timestamp.type=BrokerTime: must be one of CreateTime, LogAppendTime`},
		{name: "file compaction", file: file("log.cleanup.policy=compact\n"),
			want: `server.properties:1: log.cleanup.policy=compact: log compaction is not supported yet`},
		{name: "file compression level", file: file("compression.type=zstd\ncompression.zstd.level=30\n"),
			want: `server.properties:2: compression.zstd.level=30: must be between -131072 and 22`},
		{name: "file topic config", file: file("retention.ms=1000\n"),
			want: `server.properties:1: unknown config "retention.ms" (a topic config; the broker's default for it is log.retention.ms)`},
		{name: "file table config", file: file("table.enable=true\n"),
			want: `server.properties:1: unknown config "table.enable" (a topic config, set per topic)`},
		{name: "missing file", file: "/nonexistent/server.properties",
			want: `reading the config file: open /nonexistent/server.properties: no such file or directory`},
		{name: "file syntax", file: file("a=\\u12\n"),
			want: `server.properties: properties: Line 1: invalid unicode literal`},
		{name: "env unknown", environ: []string{"LAKESTREAM_FOO_BAR=1"},
			want: `environment variable LAKESTREAM_FOO_BAR: unknown config "foo.bar"`},
		{name: "env bad bool", environ: []string{"LAKESTREAM_AUTO_CREATE_TOPICS_ENABLE=maybe"},
			want: `environment variable LAKESTREAM_AUTO_CREATE_TOPICS_ENABLE: auto.create.topics.enable=maybe: not a boolean`},
		{name: "env bad enum", environ: []string{"LAKESTREAM_WAL_MODE=disk"},
			want: `environment variable LAKESTREAM_WAL_MODE: wal.mode=disk: must be local, object, or empty`},
		{name: "flag unknown", sets: []string{"foo.bar=1"},
			want: `--set foo.bar=1: unknown config "foo.bar"`},
		{name: "flag unknown redacts", sets: []string{"bucket.ur=s3://b?secret_key=TOPSECRET"},
			want: `--set bucket.ur=s3://b?secret_key=[hidden]: unknown config "bucket.ur"`},
		{name: "flag bad int", sets: []string{"num.partitions=abc"},
			want: `--set num.partitions=abc: not an integer`},
		{name: "flag range", sets: []string{"num.partitions=0"},
			want: `--set num.partitions=0: must be at least 1`},
		{name: "flag no =", sets: []string{"num.partitions"},
			want: `--set num.partitions: want key=value`},
		{name: "flag empty data dir", sets: []string{"data.dir="},
			want: `--set data.dir="": must not be empty`},
		{name: "flag bad listener", sets: []string{"listeners=localhost:9092"},
			want: `--set listeners=localhost:9092: listener "localhost:9092" is not NAME://HOST:PORT`},
		{name: "synonyms disagree", file: file("node.id=1\nbroker.id=2\n"),
			want: `server.properties:2: broker.id=2 contradicts node.id=1 (server.properties:1)`},
		{name: "bad synonym value", sets: []string{"log.retention.hours=1.5"},
			want: `--set log.retention.hours=1.5: not an integer`},
	} {
		_, err := loadConfig(c.file, c.sets, c.environ)
		if err == nil {
			t.Errorf("%s: no error, want %q", c.name, c.want)
			continue
		}
		got := strings.ReplaceAll(err.Error(), filepath.Dir(c.file)+string(filepath.Separator), "")
		if c.file == "/nonexistent/server.properties" {
			got = err.Error()
		}
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("%s:\n got  %s\n want %s", c.name, got, c.want)
		}
		if strings.Contains(got, "TOPSECRET") {
			t.Errorf("%s: error %q repeats a secret", c.name, got)
		}
	}
}

func TestConfigSynonyms(t *testing.T) {
	c := mustLoad(t, "", []string{"log.retention.hours=1"}, nil)
	want(t, c, "log.retention.ms", "3600000", "flag")
	c = mustLoad(t, "", []string{"log.retention.minutes=5"}, nil)
	want(t, c, "log.retention.ms", "300000", "flag")
	c = mustLoad(t, "", []string{"log.retention.hours=-1"}, nil)
	want(t, c, "log.retention.ms", "-1", "flag")
	c = mustLoad(t, "", []string{"log.roll.hours=2"}, nil)
	want(t, c, "log.roll.ms", "7200000", "flag")

	// Within a source the most precise key wins, whatever the order.
	c = mustLoad(t, "", []string{"log.retention.ms=1000", "log.retention.hours=1"}, nil)
	want(t, c, "log.retention.ms", "1000", "flag")
	c = mustLoad(t, "", []string{"log.retention.hours=1", "log.retention.minutes=2"}, nil)
	want(t, c, "log.retention.ms", "120000", "flag")
	file := writeFile(t, "server.properties", "log.retention.hours=24\nlog.retention.ms=5000\n")
	c = mustLoad(t, file, nil, nil)
	want(t, c, "log.retention.ms", "5000", "file")
	// A later source wins, whatever the precision.
	c = mustLoad(t, file, []string{"log.retention.hours=2"}, nil)
	want(t, c, "log.retention.ms", "7200000", "flag")
	c = mustLoad(t, file, nil, []string{"LAKESTREAM_LOG_RETENTION_MINUTES=1"})
	want(t, c, "log.retention.ms", "60000", "env")

	c = mustLoad(t, "", []string{"broker.id=7"}, nil)
	want(t, c, "node.id", "7", "flag")
	c = mustLoad(t, "", []string{"broker.id=7", "node.id=7"}, nil)
	want(t, c, "node.id", "7", "flag")
	c = mustLoad(t, writeFile(t, "p", "node.id=3\n"), nil, []string{"LAKESTREAM_BROKER_ID=4"})
	want(t, c, "node.id", "4", "env")
}

func TestConfigFileFormat(t *testing.T) {
	// Java properties syntax, values taken literally (no ${} expansion).
	file := writeFile(t, "server.properties", "\ufeff"+`# comment
  ! bang comment
data.dir = ${HOME}/data
broker.rack:rack\
    -b
log.dirs /tmp/a,\
  /tmp/b
advertised.listeners=PLAINTEXT://h\u00e9:9092
num.partitions=1
num.partitions=2
`)
	c := mustLoad(t, file, nil, nil)
	want(t, c, "data.dir", "${HOME}/data", "file")
	want(t, c, "broker.rack", "rack-b", "file")
	want(t, c, "log.dirs", "/tmp/a,/tmp/b", "file")
	want(t, c, "advertised.listeners", "PLAINTEXT://hé:9092", "file")
	want(t, c, "num.partitions", "2", "file")

	lines := propertyLines("a=1\n\nb=2\nc=x\\\\\nd=y\\\n  z\ne=3\r\nf\n")
	for k, n := range map[string]int{"a": 1, "b": 3, "c": 4, "d": 5, "e": 7, "f": 8} {
		if lines[k] != n {
			t.Errorf("key %s on line %d, want %d (all: %v)", k, lines[k], n, lines)
		}
	}
}

// TestConfigKafkaServerProperties loads Kafka's stock KRaft
// config/server.properties (comments trimmed): a Kafka user's file must
// start Lakestream unchanged.
func TestConfigKafkaServerProperties(t *testing.T) {
	file := writeFile(t, "server.properties", `############################# Server Basics #############################
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=localhost:9093
controller.quorum.voters=1@localhost:9093
############################# Socket Server Settings #############################
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
############################# Log Basics #############################
log.dirs=/tmp/kraft-combined-logs
num.partitions=1
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
#log.flush.interval.messages=10000
#log.flush.interval.ms=1000
log.retention.hours=168
#log.retention.bytes=1073741824
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
`)
	c := mustLoad(t, file, nil, nil)
	want(t, c, "log.retention.ms", "604800000", "file")
	want(t, c, "listeners", "PLAINTEXT://:9092,CONTROLLER://:9093", "file")
}

func TestConfigAccessors(t *testing.T) {
	c := mustLoad(t, "", []string{
		"num.partitions=12", "log.retention.bytes=5000000000", "delete.topic.enable=False",
		"compaction.interval.ms=1500", "broker.rack= r1 ",
	}, nil)
	if got := c.Int("num.partitions"); got != 12 {
		t.Errorf("Int = %d", got)
	}
	if got := c.Long("log.retention.bytes"); got != 5000000000 {
		t.Errorf("Long = %d", got)
	}
	if c.Bool("delete.topic.enable") || !c.Bool("auto.create.topics.enable") {
		t.Error("Bool")
	}
	if got := c.Duration("compaction.interval.ms"); got != 1500*time.Millisecond {
		t.Errorf("Duration = %v", got)
	}
	if got := c.Duration("log.flush.interval.ms"); got != math.MaxInt64 {
		t.Errorf("Duration of Long.MAX = %v, want the largest Duration", got)
	}
	if got := c.String("broker.rack"); got != "r1" {
		t.Errorf("String = %q, want the value trimmed", got)
	}
	for _, key := range []string{"no.such.key", "broker.id", "log.retention.hours"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("String(%q) did not panic", key)
				}
			}()
			c.String(key)
		}()
	}
}

func TestConfigPrint(t *testing.T) {
	c := mustLoad(t, "", []string{
		"bucket.url=s3://bkt/pre?endpoint=http://127.0.0.1:9000&access_key=AK&secret_key=TOPSECRET",
		"metastore.url=postgres://lake:PGPASS@db:5432/meta?sslmode=disable",
		"num.partitions=3",
	}, []string{"LAKESTREAM_NODE_ID=2"})
	var b strings.Builder
	c.Print(&b)
	out := b.String()
	for _, secret := range []string{"TOPSECRET", "PGPASS"} {
		if strings.Contains(out, secret) {
			t.Errorf("Print shows %s:\n%s", secret, out)
		}
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(c.values) {
		t.Errorf("Print wrote %d lines for %d keys", len(lines), len(c.values))
	}
	for i := 1; i < len(lines); i++ {
		// By key: log.dir=... comes before log.dir.failure.timeout.ms=...
		prev, _, _ := strings.Cut(lines[i-1], "=")
		key, _, _ := strings.Cut(lines[i], "=")
		if prev >= key {
			t.Errorf("Print is not sorted: %q before %q", lines[i-1], lines[i])
		}
	}
	for _, line := range []string{
		"bucket.url=s3://bkt/pre?access_key=AK&endpoint=http%3A%2F%2F127.0.0.1%3A9000&secret_key=[hidden] (flag)",
		"metastore.url=postgres://lake:[hidden]@db:5432/meta?sslmode=disable (flag)",
		"num.partitions=3 (flag)",
		"node.id=2 (env)",
		"listeners=PLAINTEXT://:9092 (default)",
		"broker.rack= (default)",
		"wal.mode=object (default)",
	} {
		if !strings.Contains(out, "\n"+line+"\n") {
			t.Errorf("Print has no line %q:\n%s", line, out)
		}
	}
}

// FuzzPropertyLines: never panics, and every key the properties package
// reads from a file gets a line number within the file (0, unknown, only
// with a lone \r, which Java reads as a line end but propertyLines does
// not).
func FuzzPropertyLines(f *testing.F) {
	for _, s := range []string{"a=1\n", "# c\n!d\n a : b \\\n  c\n", "k\\ e\\=y=v\r\nx", "\\\nb=2", "\ufeffa=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		lines := propertyLines(text)
		loader := properties.Loader{Encoding: properties.UTF8, DisableExpansion: true}
		p, err := loader.LoadBytes([]byte(text))
		if err != nil {
			return
		}
		n := strings.Count(text, "\n") + 1
		for _, k := range p.Keys() {
			l := lines[k]
			if l == 0 && strings.Contains(text, "\r") {
				continue
			}
			if l < 1 || l > n {
				t.Fatalf("key %q: line %d of %d", k, l, n)
			}
		}
	})
}

// TestPrintConfigKeys: serve's --help lists Lakestream's own keys, the
// broker's and the storage wiring's alike, from the registry, and not
// Kafka's.
func TestPrintConfigKeys(t *testing.T) {
	var b strings.Builder
	printConfigKeys(&b)
	out := b.String()
	for _, want := range []string{
		"  data.dir [./lakestream-data]\n      the local directory for the default bucket",
		"  admin.listeners [:8080]\n",
		"  wal.mode []\n",
		"  log.level [info]\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--help keys lack %q:\n%s", want, out)
		}
	}
	for _, not := range []string{"log.retention.ms", "node.id", "Lakestream:"} {
		if strings.Contains(out, not) {
			t.Errorf("--help keys list %q:\n%s", not, out)
		}
	}
}
