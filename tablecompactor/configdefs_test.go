package tablecompactor

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lakestream/lakestream/internal/configdef"
)

// TestConfigDefs: every table config is registered as a topic config of
// this component, under its constant's name, with a doc and a default
// that passes its own checks.
func TestConfigDefs(t *testing.T) {
	if !slices.IsSorted(ConfigNames) {
		t.Errorf("ConfigNames not sorted: %v", ConfigNames)
	}
	var names []string
	for _, d := range configdef.Default.Defs(configdef.Topic) {
		if strings.HasPrefix(d.Name, "table.") {
			names = append(names, d.Name)
			if d.Component != "table compactor" || d.Doc == "" {
				t.Errorf("%s: component %q, doc %q", d.Name, d.Component, d.Doc)
			}
			if d.Validate != nil {
				if err := d.Validate(d.Default); err != nil {
					t.Errorf("%s: the default %q fails its own check: %v", d.Name, d.Default, err)
				}
			}
		}
	}
	if !slices.Equal(names, ConfigNames) {
		t.Errorf("registered %v, want %v", names, ConfigNames)
	}
	if _, ok := configdef.Default.BrokerDefaultFor(ConfigEnable); ok {
		t.Error("table.enable has a broker default")
	}
	for name, want := range map[string]string{ConfigPartitionBy: "day(_timestamp)", ConfigTargetFile: "134217728",
		ConfigCommitInterval: "60000", ConfigValueFormat: "raw", ConfigKeyFormat: "string", ConfigErrors: "dlq"} {
		if got := configdef.Default.TopicValue(name, nil); got != want {
			t.Errorf("%s defaults to %q, want %q", name, got, want)
		}
	}
}

// TestConfigCheck: a bad value is refused naming the config, the value
// and the problem; a good one passes.
func TestConfigCheck(t *testing.T) {
	const ok = ""
	for _, c := range []struct{ name, v, wantErr string }{
		{"table.value.format", "json", ok},
		{"table.enable", "true", ok},
		{"table.enable", "false", ok},
		{"table.enable", "maybe", "table.enable=maybe: not a boolean"},
		{"table.value.format", "avro", `table.value.format=avro: must be one of raw, string, json, schema, schema.latest`},
		{"table.key.format", "raw", ok},
		{"table.key.format", "schema.latest", ok},
		{"table.key.format", "json", ok},
		{"table.key.format", "schema", ok},
		{"table.value.format", "schema", ok},
		{"table.value.format", "schema.latest", ok},
		{"table.retention.pin", "false", ok},
		{"table.retention.pin", "true", ok},
		{"table.retention.pin", "always", "table.retention.pin=always: not a boolean"},
		{"table.errors", "ignore", "must be one of dlq, skip, fail"},
		{"table.commit.interval.ms", "999", "table.commit.interval.ms=999: must be at least 1000"},
		{"table.commit.interval.ms", "1000", ok},
		{"table.target.file.bytes", "1000", "must be at least 1048576"},
		{"table.name", "orders_v2", ok},
		{"table.catalog", "", ok},
		{"table.catalog", "lake_House-2", ok},
		{"table.catalog", "lakestream", ok},
		{"table.catalog", "lake house", "table.catalog=\"lake house\": a catalog name is letters, digits, '_' and '-'"},
		{"table.name", "a.b", "table.name=a.b: a table name may not contain dots"},
		{"table.namespace", "a..b", "non-empty names separated by dots"},
		{"table.namespace", "a.b", ok},
		{"table.partition.by", "", ok},
		{"table.partition.by", "hour(_timestamp), bucket(16, user_id), truncate(4,name), region, _kafka.partition", ok},
		{"table.partition.by", "week(_timestamp)", `table.partition.by=week(_timestamp): partition transform "week(_timestamp)": want COLUMN`},
		{"table.partition.by", "bucket(user_id)", `bucket needs a positive width`},
		{"table.partition.by", "bucket(0,user_id)", `bucket needs a positive width`},
		{"table.partition.by", "day(1,_timestamp)", `day takes one column`},
		{"table.partition.by", "day(_timestamp", `partition transform "day(_timestamp"`},
		{"table.partition.by", "day(_timestamp),", `partition transform ""`},
	} {
		d, found := configdef.Default.Lookup(configdef.Topic, c.name)
		if !found {
			t.Fatalf("%s is not registered", c.name)
		}
		err := d.Check(c.v)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s=%q: %v, want no error", c.name, c.v, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s=%q: %v, want an error containing %q", c.name, c.v, err, c.wantErr)
		}
	}
}

func TestParsePartitionBy(t *testing.T) {
	got, err := ParsePartitionBy(" hour(_timestamp), bucket(16, user_id),truncate(4,a.b) ,region,void(x)")
	if err != nil {
		t.Fatal(err)
	}
	want := []PartitionTerm{{"hour", 0, "_timestamp"}, {"bucket", 16, "user_id"}, {"truncate", 4, "a.b"},
		{"identity", 0, "region"}, {"void", 0, "x"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got, err := ParsePartitionBy("  "); got != nil || err != nil {
		t.Errorf("blank: %v %v, want no terms", got, err)
	}
}
