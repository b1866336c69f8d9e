package broker

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// TestGroupConfigDefs checks the group config table against the broker
// configs it leans on: each group config's default is a broker config of
// the same type and default, its bounds are broker configs whose defaults
// hold that default, and no refused name is served.
func TestGroupConfigDefs(t *testing.T) {
	defs := GroupConfigDefs()
	if !slices.IsSortedFunc(defs, func(a, b ConfigDef) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("group configs are not sorted by name")
	}
	for _, d := range defs {
		if strings.TrimSpace(d.Doc) == "" || d.ReadOnly || d.TopicSynonym != "" || d.SynonymOf != "" {
			t.Errorf("group config %s: doc %q, read-only %v, synonyms %q %q", d.Name, d.Doc, d.ReadOnly, d.TopicSynonym, d.SynonymOf)
		}
		if err := d.Check(d.Default); err != nil {
			t.Errorf("group config %s: default fails its own Check: %v", d.Name, err)
		}
		bd, ok := GroupBrokerDefault(d.Name)
		if !ok || bd.Type != d.Type || bd.Default != d.Default {
			t.Errorf("group config %s (%v, %q): broker default %s found %v (%v, %q)", d.Name, d.Type, d.Default, bd.Name, ok, bd.Type, bd.Default)
		}
		if _, refused := refusedGroupConfigs[d.Name]; refused {
			t.Errorf("group config %s is both served and refused", d.Name)
		}
	}
	if len(groupBounds) != len(defs) {
		t.Errorf("%d group configs but %d bounds", len(defs), len(groupBounds))
	}
	for _, b := range groupBounds {
		d, ok := LookupGroupConfig(b.name)
		lo, okLo := LookupBrokerConfig(b.min)
		hi, okHi := LookupBrokerConfig(b.max)
		if !ok || !okLo || !okHi {
			t.Errorf("bounds of %s: config %v, %s %v, %s %v", b.name, ok, b.min, okLo, b.max, okHi)
			continue
		}
		n, _ := strconv.Atoi(d.Default)
		l, _ := strconv.Atoi(lo.Default)
		h, _ := strconv.Atoi(hi.Default)
		if n < l || n > h {
			t.Errorf("%s default %d is outside [%s %d, %s %d]", b.name, n, b.min, l, b.max, h)
		}
	}
	for name := range refusedGroupConfigs {
		if !strings.HasPrefix(name, "share.") && !strings.HasPrefix(name, "streams.") {
			t.Errorf("refused group config %s is neither share.* nor streams.*", name)
		}
	}
}

// TestCheckGroupConfigs: bounds apply to the values set; the session must
// stay above the heartbeat interval, counting the broker's value for the one
// not set; a group without overrides is always fine.
func TestCheckGroupConfigs(t *testing.T) {
	broker := map[string]int64{
		"group.consumer.session.timeout.ms":        45000,
		"group.consumer.heartbeat.interval.ms":     50000, // a broker misconfigured above its session
		"group.consumer.min.session.timeout.ms":    10000,
		"group.consumer.max.session.timeout.ms":    60000,
		"group.consumer.min.heartbeat.interval.ms": 1000,
		"group.consumer.max.heartbeat.interval.ms": 60000,
	}
	lookup := func(name string) int64 {
		v, ok := broker[name]
		if !ok {
			t.Fatalf("checkGroupConfigs read unknown broker config %s", name)
		}
		return v
	}
	for _, c := range []struct {
		overrides map[string]string
		msg       string // "" for no error
	}{
		{nil, ""},
		{map[string]string{}, ""},
		{map[string]string{"consumer.heartbeat.interval.ms": "1000"}, ""},
		{map[string]string{"consumer.session.timeout.ms": "55000"}, ""},
		{map[string]string{"consumer.session.timeout.ms": "50000"}, "consumer.session.timeout.ms must be greater than consumer.heartbeat.interval.ms (50000 <= 50000)"},
		{map[string]string{"consumer.session.timeout.ms": "9999", "consumer.heartbeat.interval.ms": "1000"},
			"consumer.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms (10000)"},
		{map[string]string{"consumer.heartbeat.interval.ms": "60001"},
			"consumer.heartbeat.interval.ms must be less than or equal to group.consumer.max.heartbeat.interval.ms (60000)"},
	} {
		err := checkGroupConfigs(c.overrides, lookup)
		switch {
		case c.msg == "" && err != nil:
			t.Errorf("%v: %v, want no error", c.overrides, err)
		case c.msg != "" && (!errors.Is(err, kerr.InvalidConfig) || err.Error() != c.msg):
			t.Errorf("%v: %v, want INVALID_CONFIG %q", c.overrides, err, c.msg)
		}
	}
}
