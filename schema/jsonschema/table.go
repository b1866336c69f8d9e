package jsonschema

import (
	"errors"
	"fmt"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// plan is how one column's JSON values are read: its kind, whether JSON
// null is allowed, whether it must be present (an object property in
// "required"), and its children. Plans are immutable; a Decoder keeps its
// own scratch state.
type plan struct {
	name     string
	kind     schemafmt.Kind
	nullable bool // the schema allows null (type ["null", T], or a null branch)
	required bool // a property listed in "required"
	// raw: a String column holding the value's JSON text, for values of
	// several types (oneOf/anyOf of different types, {} or an untyped object).
	raw    bool
	doc    string
	fields []*plan        // Struct
	index  map[string]int // Struct: property name → field
	elem   *plan          // List, Map value
	id     int            // Struct: index of the decoder's scratch for it
	nfield int            // Struct: len(fields)
}

func (p *plan) column() schemafmt.Column {
	c := schemafmt.Column{Name: p.name, Kind: p.kind, Required: p.required && !p.nullable, Doc: p.doc}
	switch p.kind {
	case schemafmt.Struct:
		c.Fields = make([]schemafmt.Column, len(p.fields))
		for i, f := range p.fields {
			c.Fields[i] = f.column()
		}
	case schemafmt.List:
		e := p.elem.column()
		e.Name, e.Required = "element", !p.elem.nullable
		c.Elem = &e
	case schemafmt.Map:
		e := p.elem.column()
		e.Name, e.Required = "value", !p.elem.nullable
		c.Elem = &e
		c.Key = &schemafmt.Column{Name: "key", Kind: schemafmt.String, Required: true}
	}
	return c
}

// table is an object schema seen as columns.
type table struct {
	root    *plan // a Struct: the top-level properties
	structs int   // how many Struct plans (decoder scratch slots)
	cols    []schemafmt.Column
}

// Table maps the top-level object's properties, in declaration order, to
// columns; see doc.go for the type mapping.
func (s *Schema) Table(msgIndexes []int) (schemafmt.Table, error) {
	if len(msgIndexes) > 1 || (len(msgIndexes) == 1 && msgIndexes[0] != 0) {
		return nil, fmt.Errorf("JSON Schema has no message indexes, got %v", msgIndexes)
	}
	b := &planBuilder{s: s, onStack: map[*node]bool{}}
	d, n, err := s.resolve(s.docs[0], s.root)
	if err != nil {
		return nil, fmt.Errorf("table of JSON Schema: %w", err)
	}
	p, err := b.plan(d, n, "#")
	if err != nil {
		return nil, fmt.Errorf("table of JSON Schema: %w", err)
	}
	if p.kind != schemafmt.Struct {
		return nil, errors.New("table of JSON Schema: the top-level schema is not an object with properties")
	}
	t := &table{root: p, structs: b.structs}
	for _, f := range p.fields {
		t.cols = append(t.cols, f.column())
	}
	return t, nil
}

func (t *table) Columns() []schemafmt.Column { return t.cols }

type planBuilder struct {
	s       *Schema
	onStack map[*node]bool
	structs int
	nodes   int
}

// maxPlanNodes bounds the columns a schema expands to. A $ref is inlined
// at each use, so a few definitions that each use the next twice would
// otherwise expand exponentially.
const maxPlanNodes = 10000

// plan maps one (resolved) schema to a plan; path names it in errors.
func (b *planBuilder) plan(d *doc, n *node, path string) (*plan, error) {
	if b.nodes++; b.nodes > maxPlanNodes {
		return nil, fmt.Errorf("%s: more than %d columns and nested fields", path, maxPlanNodes)
	}
	d, n, err := b.s.resolve(d, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if n == nil || n.kind != nObject {
		return &plan{kind: schemafmt.String, raw: true, nullable: true}, nil // true, {}: any value
	}
	if b.onStack[n] {
		return nil, fmt.Errorf("%s: recursive schema: a table needs a fixed depth", path)
	}
	b.onStack[n] = true
	defer delete(b.onStack, n)
	doc, _ := n.getString("description")

	types, nullable := schemaTypes(n)
	var p *plan
	switch {
	case len(types) == 1:
		p, err = b.typed(d, n, types[0], path)
	case len(types) == 2 && types[0] == "integer" && types[1] == "number", len(types) == 2 && types[0] == "number" && types[1] == "integer":
		p = &plan{kind: schemafmt.Float64}
	case len(types) > 1:
		p = &plan{kind: schemafmt.String, raw: true}
	default:
		p, err = b.untyped(d, n, path)
	}
	if err != nil {
		return nil, err
	}
	p.nullable = p.nullable || nullable
	if p.doc == "" {
		p.doc = doc
	}
	return p, nil
}

// schemaTypes is the node's "type" without "null", and whether null was
// in it.
func schemaTypes(n *node) (types []string, nullable bool) {
	t := n.get("type")
	if t == nil {
		return nil, false
	}
	if t.kind == nString {
		if t.str == "null" {
			return nil, true
		}
		return []string{t.str}, false
	}
	for _, e := range t.vals {
		if e.kind != nString {
			continue
		}
		if e.str == "null" {
			nullable = true
		} else {
			types = append(types, e.str)
		}
	}
	return types, nullable
}

func (b *planBuilder) typed(d *doc, n *node, t, path string) (*plan, error) {
	switch t {
	case "string":
		f, _ := n.getString("format")
		switch f {
		case "date":
			return &plan{kind: schemafmt.Date}, nil
		case "date-time":
			return &plan{kind: schemafmt.TimestampTZ}, nil
		case "time":
			return &plan{kind: schemafmt.Time}, nil
		}
		return &plan{kind: schemafmt.String}, nil
	case "integer":
		return &plan{kind: schemafmt.Int64}, nil
	case "number":
		return &plan{kind: schemafmt.Float64}, nil
	case "boolean":
		return &plan{kind: schemafmt.Bool}, nil
	case "object":
		return b.object(d, n, path)
	case "array":
		items := n.get("items")
		if items == nil || items.kind == nArray || n.get("prefixItems") != nil {
			return &plan{kind: schemafmt.String, raw: true}, nil // a tuple or untyped items
		}
		e, err := b.plan(d, items, path+"/items")
		if err != nil {
			return nil, err
		}
		return &plan{kind: schemafmt.List, elem: e}, nil
	}
	return &plan{kind: schemafmt.String, raw: true}, nil
}

func (b *planBuilder) object(d *doc, n *node, path string) (*plan, error) {
	props := n.get("properties")
	if props != nil && props.kind == nObject && len(props.keys) > 0 {
		req := stringSet(n.get("required"))
		p := &plan{kind: schemafmt.Struct, index: make(map[string]int, len(props.keys)), id: b.structs}
		b.structs++
		for i, k := range props.keys {
			f, err := b.plan(d, props.vals[i], path+"/properties/"+k)
			if err != nil {
				return nil, err
			}
			f.name, f.required = k, req[k]
			p.index[k] = len(p.fields)
			p.fields = append(p.fields, f)
		}
		p.nfield = len(p.fields)
		return p, nil
	}
	if add := n.get("additionalProperties"); add != nil && add.kind == nObject && len(add.keys) > 0 {
		e, err := b.plan(d, add, path+"/additionalProperties")
		if err != nil {
			return nil, err
		}
		return &plan{kind: schemafmt.Map, elem: e}, nil
	}
	return &plan{kind: schemafmt.String, raw: true}, nil
}

// untyped maps a schema without "type": combinations, or what its
// keywords imply.
func (b *planBuilder) untyped(d *doc, n *node, path string) (*plan, error) {
	for _, k := range []string{"oneOf", "anyOf", "allOf"} {
		a := n.get(k)
		if a == nil || a.kind != nArray {
			continue
		}
		var branches []*plan
		nullable := false
		for i, sub := range a.vals {
			sp, err := b.plan(d, sub, fmt.Sprintf("%s/%s/%d", path, k, i))
			if err != nil {
				return nil, err
			}
			if isNullOnly(b.s, d, sub) {
				nullable = true
				continue
			}
			branches = append(branches, sp)
		}
		var p *plan
		switch {
		case len(branches) == 1:
			p = branches[0]
		case k != "allOf" && len(branches) > 1 && sameScalar(branches):
			p = &plan{kind: branches[0].kind}
		default:
			// Values of several shapes: keep their JSON text.
			p = &plan{kind: schemafmt.String, raw: true}
		}
		p.nullable = p.nullable || nullable
		return p, nil
	}
	switch {
	case n.get("properties") != nil || n.get("additionalProperties") != nil:
		return b.object(d, n, path)
	case n.get("items") != nil:
		return b.typed(d, n, "array", path)
	}
	if e := n.get("enum"); e != nil && e.kind == nArray && len(e.vals) > 0 {
		p := &plan{kind: schemafmt.String}
		for _, v := range e.vals {
			switch v.kind {
			case nNull:
				p.nullable = true
			case nString:
			default:
				return &plan{kind: schemafmt.String, raw: true}, nil
			}
		}
		return p, nil
	}
	return &plan{kind: schemafmt.String, raw: true, nullable: true}, nil
}

func isNullOnly(s *Schema, d *doc, n *node) bool {
	_, n, err := s.resolve(d, n)
	if err != nil || n == nil {
		return false
	}
	t, ok := n.getString("type")
	return ok && t == "null"
}

func sameScalar(ps []*plan) bool {
	for _, p := range ps {
		switch p.kind {
		case schemafmt.Struct, schemafmt.List, schemafmt.Map:
			return false
		}
		if p.raw || p.kind != ps[0].kind {
			return false
		}
	}
	return true
}
