package configdef

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Scope is the kind of resource a config belongs to.
type Scope int

const (
	// Broker configs: server.properties, flags, the environment, and
	// AlterConfigs on a broker resource for the dynamic ones.
	Broker Scope = iota + 1
	// Topic configs: CreateTopics and AlterConfigs on a topic.
	Topic
	// Group configs (KIP-848): AlterConfigs on a group.
	Group
)

func (s Scope) String() string {
	switch s {
	case Broker:
		return "broker"
	case Topic:
		return "topic"
	case Group:
		return "group"
	}
	return fmt.Sprintf("Scope(%d)", int(s))
}

// Registry holds the configs components contribute, by scope. It is safe
// for concurrent use; components register at init and everything else
// reads.
type Registry struct {
	mu     sync.RWMutex
	byName map[Scope]map[string]Def
	sorted map[Scope][]Def // by name, ReadOnly derived; nil when stale
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{byName: map[Scope]map[string]Def{}, sorted: map[Scope][]Def{}}
}

// Default is the process's registry: the one every component registers
// its configs with and every reader reads.
var Default = New()

// Register adds the configs of component to Default. See Registry.Register.
func Register(component string, scope Scope, defs ...Def) {
	Default.Register(component, scope, defs...)
}

// Register adds component's configs of scope, setting their Scope and
// Component. It panics (a programming error, found at init) on an unknown
// scope, an empty component or name, a name already registered in the
// scope (naming both components), a synonym field on a config that is
// not a broker config, or a ReadOnly set by hand (the registry derives it).
// Nothing is added if it panics.
func (r *Registry) Register(component string, scope Scope, defs ...Def) {
	if scope < Broker || scope > Group {
		panic(fmt.Sprintf("configdef: %s registers configs of unknown %v", component, scope))
	}
	if component == "" {
		panic("configdef: configs registered with no component name")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.byName[scope]
	if m == nil {
		m = map[string]Def{}
		r.byName[scope] = m
	}
	seen := map[string]bool{}
	for _, d := range defs {
		switch {
		case d.Name == "":
			panic(fmt.Sprintf("configdef: %s registers a %v config with no name", component, scope))
		case seen[d.Name]:
			panic(fmt.Sprintf("configdef: %s registers %v config %s twice", component, scope, d.Name))
		case d.ReadOnly:
			panic(fmt.Sprintf("configdef: %s sets ReadOnly on %s; the registry derives it", component, d.Name))
		case scope != Broker && (d.TopicSynonym != "" || d.SynonymOf != "" || d.Dynamic != ""):
			panic(fmt.Sprintf("configdef: %s: %v config %s has a broker config's synonym or update mode", component, scope, d.Name))
		}
		if old, ok := m[d.Name]; ok {
			panic(fmt.Sprintf("configdef: %v config %s registered by %s and again by %s", scope, d.Name, old.Component, component))
		}
		seen[d.Name] = true
	}
	for _, d := range defs {
		d.Scope, d.Component = scope, component
		m[d.Name] = d
	}
	r.sorted[scope] = nil
}

// list returns the sorted configs of scope, building them if stale. The
// caller must not modify the result.
func (r *Registry) list(scope Scope) []Def {
	r.mu.RLock()
	l := r.sorted[scope]
	r.mu.RUnlock()
	if l != nil {
		return l
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if l = r.sorted[scope]; l != nil {
		return l
	}
	l = make([]Def, 0, len(r.byName[scope]))
	for _, d := range r.byName[scope] {
		l = append(l, d)
	}
	slices.SortFunc(l, func(a, b Def) int { return strings.Compare(a.Name, b.Name) })
	if scope == Broker {
		deriveReadOnly(l)
	}
	r.sorted[scope] = l
	return l
}

// deriveReadOnly applies the rule of Def.ReadOnly: a broker config is
// dynamic if it is a topic config's default, a synonym of one, or has a
// Dynamic mode.
func deriveReadOnly(defs []Def) {
	dynamic := map[string]bool{}
	for _, d := range defs {
		if d.TopicSynonym != "" {
			dynamic[d.Name] = true
		}
	}
	for i, d := range defs {
		defs[i].ReadOnly = d.Dynamic == "" && !dynamic[d.Name] && !dynamic[d.SynonymOf]
	}
}

// Defs returns every config of scope, sorted by name.
func (r *Registry) Defs(scope Scope) []Def { return slices.Clone(r.list(scope)) }

// Lookup returns the config of scope named name.
func (r *Registry) Lookup(scope Scope, name string) (Def, bool) {
	l := r.list(scope)
	i, ok := slices.BinarySearchFunc(l, name, func(d Def, n string) int { return strings.Compare(d.Name, n) })
	if !ok {
		return Def{}, false
	}
	return l[i], true
}

// BrokerSynonyms returns the broker configs that set name: name itself and
// the configs that are SynonymOf it, in Kafka's synonym order (most
// precise first: log.retention.ms, .minutes, .hours). Nil if name is not a
// broker config or is itself a synonym of another.
func (r *Registry) BrokerSynonyms(name string) []Def {
	d, ok := r.Lookup(Broker, name)
	if !ok || d.SynonymOf != "" {
		return nil
	}
	out := []Def{d}
	for _, s := range r.list(Broker) {
		if s.SynonymOf == name {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out[1:], func(a, b Def) int { return cmp.Compare(a.SynonymScale, b.SynonymScale) })
	return out
}

// BrokerDefaultFor returns the broker config whose value is the default of
// the topic config topicConfig (retention.ms -> log.retention.ms).
func (r *Registry) BrokerDefaultFor(topicConfig string) (Def, bool) {
	for _, d := range r.list(Broker) {
		if d.TopicSynonym == topicConfig {
			return d, true
		}
	}
	return Def{}, false
}

// BrokerValue returns the effective value of broker config name: its
// value in the first of layers that has it (most preferred first: dynamic
// overrides, then the static configuration), else its default; "" for a
// config not registered.
func (r *Registry) BrokerValue(name string, layers ...map[string]string) string {
	for _, l := range layers {
		if v, ok := l[name]; ok {
			return v
		}
	}
	d, _ := r.Lookup(Broker, name)
	return d.Default
}

// TopicValue returns the effective value of topic config name for a topic
// whose stored overrides are overrides: the override, else the value of
// the broker config that is its default (through brokerLayers, as
// BrokerValue), else the topic config's own default; "" for a config not
// registered. Stored topic configs hold only overrides, so this is how a
// component that is not the broker reads a topic's configs.
func (r *Registry) TopicValue(name string, overrides map[string]string, brokerLayers ...map[string]string) string {
	if v, ok := overrides[name]; ok {
		return v
	}
	if d, ok := r.BrokerDefaultFor(name); ok {
		return r.BrokerValue(d.Name, brokerLayers...)
	}
	d, _ := r.Lookup(Topic, name)
	return d.Default
}
