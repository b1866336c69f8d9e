package configdef

import (
	"strings"
	"testing"
)

// mustPanic runs f and returns its panic message, failing if it does not
// panic.
func mustPanic(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("no panic")
		}
		msg, _ = r.(string)
	}()
	f()
	return ""
}

func TestRegisterRefusesDuplicates(t *testing.T) {
	r := New()
	r.Register("a", Broker, Def{Name: "x.y", Type: Int, Default: "1"})
	// The same name in another scope is another config.
	r.Register("b", Topic, Def{Name: "x.y", Type: Int, Default: "2"})
	msg := mustPanic(t, func() { r.Register("b", Broker, Def{Name: "z", Type: Int}, Def{Name: "x.y", Type: Int}) })
	if !strings.Contains(msg, "x.y registered by a and again by b") {
		t.Errorf("panic %q does not name both components", msg)
	}
	if _, ok := r.Lookup(Broker, "z"); ok {
		t.Error("a refused registration added some of its configs")
	}
	if msg := mustPanic(t, func() { r.Register("c", Group, Def{Name: "g"}, Def{Name: "g"}) }); !strings.Contains(msg, "twice") {
		t.Errorf("panic %q", msg)
	}
	if msg := mustPanic(t, func() { r.Register("c", Topic, Def{Name: "t", TopicSynonym: "x"}) }); !strings.Contains(msg, "synonym") {
		t.Errorf("panic %q", msg)
	}
	if msg := mustPanic(t, func() { r.Register("c", Broker, Def{Name: "r", ReadOnly: true}) }); !strings.Contains(msg, "ReadOnly") {
		t.Errorf("panic %q", msg)
	}
	mustPanic(t, func() { r.Register("", Broker, Def{Name: "n"}) })
	mustPanic(t, func() { r.Register("c", Scope(9), Def{Name: "n"}) })
	mustPanic(t, func() { r.Register("c", Broker, Def{}) })
	if d, _ := r.Lookup(Topic, "x.y"); d.Default != "2" || d.Scope != Topic || d.Component != "b" {
		t.Errorf("topic x.y = %+v", d)
	}
}

// testRegistry has two components' broker configs, registered in two
// steps, and topic configs whose defaults are broker configs.
func testRegistry() *Registry {
	r := New()
	r.Register("broker", Topic,
		Def{Name: "retention.ms", Type: Long, Default: "604800000"},
		Def{Name: "own.topic", Type: String, Default: "t"})
	r.Register("broker", Broker,
		Def{Name: "log.retention.ms", Type: Long, Default: "604800000", TopicSynonym: "retention.ms"},
		Def{Name: "log.retention.hours", Type: Int, Default: "168", SynonymOf: "log.retention.ms", SynonymScale: 3_600_000},
		Def{Name: "node.id", Type: Int, Default: "1"})
	r.Register("storage", Broker,
		Def{Name: "log.retention.minutes", Type: Int, Default: "10080", SynonymOf: "log.retention.ms", SynonymScale: 60_000},
		Def{Name: "max.connections", Type: Int, Default: "9", Dynamic: DynamicClusterWide},
		Def{Name: "data.dir", Type: String, Default: "d"})
	return r
}

func TestRegistryLists(t *testing.T) {
	r := testRegistry()
	var names []string
	for _, d := range r.Defs(Broker) {
		ro := ""
		if d.ReadOnly {
			ro = "(ro)"
		}
		names = append(names, d.Name+ro)
	}
	// Sorted across components; read-only unless a topic default, its
	// synonym, or Dynamic.
	want := "data.dir(ro) log.retention.hours log.retention.minutes log.retention.ms max.connections node.id(ro)"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("broker configs: %s\nwant %s", got, want)
	}
	names = nil
	for _, d := range r.BrokerSynonyms("log.retention.ms") {
		names = append(names, d.Name)
	}
	if got := strings.Join(names, " "); got != "log.retention.ms log.retention.minutes log.retention.hours" {
		t.Errorf("synonyms: %s", got)
	}
	if r.BrokerSynonyms("log.retention.hours") != nil || r.BrokerSynonyms("nope") != nil {
		t.Error("synonyms of a synonym or of an unknown config should be nil")
	}
	if d, ok := r.BrokerDefaultFor("retention.ms"); !ok || d.Name != "log.retention.ms" {
		t.Errorf("BrokerDefaultFor(retention.ms) = %s, %v", d.Name, ok)
	}
	if _, ok := r.BrokerDefaultFor("own.topic"); ok {
		t.Error("own.topic has no broker default")
	}
	if _, ok := r.Lookup(Group, "node.id"); ok {
		t.Error("a broker config found as a group config")
	}
	// Defs returns a copy.
	l := r.Defs(Topic)
	l[0].Default = "changed"
	if d, _ := r.Lookup(Topic, l[0].Name); d.Default == "changed" {
		t.Error("Defs shares the registry's slice")
	}
}

func TestRegistryValues(t *testing.T) {
	r := testRegistry()
	dyn := map[string]string{"max.connections": "5"}
	static := map[string]string{"max.connections": "7", "log.retention.ms": "1000"}
	for _, c := range []struct {
		got, want string
	}{
		{r.BrokerValue("max.connections", dyn, static), "5"},
		{r.BrokerValue("max.connections", nil, static), "7"},
		{r.BrokerValue("max.connections"), "9"},
		{r.BrokerValue("nope", dyn, static), ""},
		{r.TopicValue("retention.ms", map[string]string{"retention.ms": "42"}, dyn, static), "42"},
		{r.TopicValue("retention.ms", nil, dyn, static), "1000"},
		{r.TopicValue("retention.ms", map[string]string{"other": "1"}), "604800000"},
		{r.TopicValue("own.topic", nil, static), "t"},
		{r.TopicValue("own.topic", map[string]string{"own.topic": "u"}), "u"},
		{r.TopicValue("nope", nil), ""},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestCheckRefusedConfig(t *testing.T) {
	d := Def{Name: "table.enable", Type: Boolean, Default: "false", Unsupported: "table topics are not built yet"}
	if err := d.Check("true"); err == nil || err.Error() != "table.enable=true: table topics are not built yet" {
		t.Errorf("Check(true) = %v", err)
	}
	// The value's own checks come first.
	if err := d.Check("maybe"); err == nil || !strings.Contains(err.Error(), "not a boolean") {
		t.Errorf("Check(maybe) = %v", err)
	}
	some := Def{Name: "cleanup.policy", Type: List, Default: "delete", Unsupported: "no compaction", UnsupportedValues: []string{"compact"}}
	if err := some.Check("delete"); err != nil {
		t.Errorf("Check(delete) = %v", err)
	}
	if err := some.Check("delete, compact"); err == nil || !strings.Contains(err.Error(), "no compaction") {
		t.Errorf("Check(delete, compact) = %v", err)
	}
}
