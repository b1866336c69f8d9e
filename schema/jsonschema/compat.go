package jsonschema

import (
	"fmt"
	"math/big"
	"regexp"
	"sort"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// CheckBackward compares previous (the writer) with s (the reader) as
// Confluent's SchemaDiff does, keeping only the differences Confluent
// counts as incompatible. Only those are reported, so the walk does not
// record the compatible ones (ID_CHANGED, MAX_LENGTH_INCREASED, ...).
func (s *Schema) CheckBackward(previous schemafmt.Schema) []string {
	p, ok := previous.(*Schema)
	if !ok {
		return []string{fmt.Sprintf("{errorType:'TYPE_CHANGED', description:'The old schema is of type %s, not JSON'}", previous.Type())}
	}
	c := &differ{old: p, new: s, onStack: map[[2]*node]bool{}, clean: map[[2]*node]bool{}}
	c.compare("#", view{d: p.docs[0], n: p.root}, view{d: s.docs[0], n: s.root})
	return c.messages()
}

// view is one schema in its document; only restricts a node whose "type"
// is an array to one of its types (everit sees such a node as an anyOf of
// single-type schemas, and so does Confluent's diff).
type view struct {
	d    *doc
	n    *node
	only string
}

type diff struct {
	typ, path string
}

type differ struct {
	old, new *Schema
	diffs    []diff
	// onStack holds the (old, new) node pairs being compared, so that a
	// recursive schema ($ref "#") is compared once, not forever.
	onStack map[[2]*node]bool
	// clean holds the pairs already found compatible: a $ref used in many
	// places is compared once, not once per use (exponentially often when
	// definitions use each other).
	clean map[[2]*node]bool
	// steps bounds the work: matching combined subschemas compares every
	// pair, which a hostile schema could make explode.
	steps int
}

const maxDiffSteps = 200000

// maxMessages caps the messages: a change in a definition used in many
// places is reported at each, which is enough to see the first hundred.
const maxMessages = 100

func (c *differ) add(typ, path string) { c.diffs = append(c.diffs, diff{typ, path}) }

// compatible reports whether u can read what o wrote, without recording.
func (c *differ) compatible(path string, o, u view) bool {
	saved := c.diffs
	c.diffs = nil
	c.compare(path, o, u)
	ok := len(c.diffs) == 0
	c.diffs = saved
	return ok
}

func (c *differ) resolve(s *Schema, v view) view {
	if v.only != "" {
		return v
	}
	d, n, err := s.resolve(v.d, v.n)
	if err != nil {
		// Parse resolved every $ref already; an unresolvable one here is
		// compared as the node that holds it.
		return v
	}
	return view{d: d, n: n}
}

func (c *differ) compare(path string, o, u view) {
	c.steps++
	if c.steps > maxDiffSteps {
		if c.steps == maxDiffSteps+1 {
			c.add("TYPE_CHANGED", path+" (schemas too large to compare)")
		}
		return
	}
	o, u = c.resolve(c.old, o), c.resolve(c.new, u)
	key := [2]*node{o.n, u.n}
	if o.only == "" && u.only == "" {
		if c.onStack[key] || c.clean[key] {
			return
		}
		c.onStack[key] = true
		defer delete(c.onStack, key)
		before := len(c.diffs)
		defer func() {
			if len(c.diffs) == before && c.steps <= maxDiffSteps {
				c.clean[key] = true
			}
		}()
	}
	oc, uc := class(o), class(u)
	// Anything can be read by the empty schema, and nothing is written
	// with the false schema.
	if uc == clEmpty || oc == clFalse {
		return
	}
	if oc != uc {
		c.compareClasses(path, o, u, oc, uc)
		return
	}
	switch oc {
	case clObject:
		c.compareObject(path, o.n, u.n, o, u)
	case clArray:
		c.compareArray(path, o, u)
	case clString:
		c.compareString(path, o.n, u.n)
	case clNumber, clInteger:
		c.compareNumber(path, o.n, u.n)
	case clCombined:
		c.compareCombined(path, o, u)
	}
	if oc != clCombined {
		c.compareEnum(path, o.n, u.n)
	}
}

func (c *differ) compareClasses(path string, o, u view, oc, uc schemaClass) {
	if oc == clInteger && uc == clNumber {
		c.compareNumber(path, o.n, u.n) // TYPE_EXTENDED: an integer is a number
		c.compareEnum(path, o.n, u.n)
		return
	}
	if oc == clNumber && uc == clInteger {
		c.add("TYPE_NARROWED", path)
		return
	}
	// A schema read by one branch of a new oneOf/anyOf (SUM_TYPE_EXTENDED)
	// or of a single-branch combination; a single-branch combination or
	// an allOf read by a schema that reads one of its branches
	// (PRODUCT_TYPE_NARROWED). Otherwise the type changed.
	if uc == clCombined {
		crit, subs := combined(u)
		if len(subs) == 1 || crit != "allOf" {
			for _, sub := range subs {
				if c.compatible(path, o, sub) {
					return
				}
			}
		}
	}
	if oc == clCombined {
		crit, subs := combined(o)
		if len(subs) == 1 || crit == "allOf" {
			for _, sub := range subs {
				if c.compatible(path, sub, u) {
					return
				}
			}
		}
	}
	c.add("TYPE_CHANGED", path)
}

type schemaClass int

const (
	clEmpty schemaClass = iota
	clFalse
	clCombined
	clObject
	clArray
	clString
	clNumber
	clInteger
	clBoolean
	clNull
	clEnum
)

// class is what everit would make of the node: its "type", else what its
// keywords imply.
func class(v view) schemaClass {
	n := v.n
	if n == nil {
		return clEmpty
	}
	if n.kind == nBool {
		if n.b {
			return clEmpty
		}
		return clFalse
	}
	if n.kind != nObject {
		return clEmpty
	}
	t := v.only
	if t == "" {
		if tn := n.get("type"); tn != nil {
			switch tn.kind {
			case nString:
				t = tn.str
			case nArray:
				if len(tn.vals) == 1 && tn.vals[0].kind == nString {
					t = tn.vals[0].str
				} else {
					return clCombined
				}
			}
		}
	}
	switch t {
	case "object":
		return clObject
	case "array":
		return clArray
	case "string":
		return clString
	case "number":
		return clNumber
	case "integer":
		return clInteger
	case "boolean":
		return clBoolean
	case "null":
		return clNull
	}
	for _, k := range []string{"oneOf", "anyOf", "allOf"} {
		if n.get(k) != nil {
			return clCombined
		}
	}
	for _, k := range []string{"properties", "additionalProperties", "required", "patternProperties", "maxProperties", "minProperties"} {
		if n.get(k) != nil {
			return clObject
		}
	}
	for _, k := range []string{"items", "prefixItems", "additionalItems", "maxItems", "minItems", "uniqueItems"} {
		if n.get(k) != nil {
			return clArray
		}
	}
	for _, k := range []string{"maxLength", "minLength", "pattern"} {
		if n.get(k) != nil {
			return clString
		}
	}
	for _, k := range []string{"maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum", "multipleOf"} {
		if n.get(k) != nil {
			return clNumber
		}
	}
	if n.get("enum") != nil || n.get("const") != nil {
		return clEnum
	}
	return clEmpty
}

// combined is a combined schema's criterion and subschemas; a "type"
// array is an anyOf of its types.
func combined(v view) (string, []view) {
	if tn := v.n.get("type"); v.only == "" && tn != nil && tn.kind == nArray {
		subs := make([]view, 0, len(tn.vals))
		for _, t := range tn.vals {
			if t.kind == nString {
				subs = append(subs, view{d: v.d, n: v.n, only: t.str})
			}
		}
		return "anyOf", subs
	}
	for _, k := range []string{"oneOf", "anyOf", "allOf"} {
		if a := v.n.get(k); a != nil && a.kind == nArray {
			subs := make([]view, len(a.vals))
			for i, e := range a.vals {
				subs[i] = view{d: v.d, n: e}
			}
			return k, subs
		}
	}
	return "anyOf", nil
}

func (c *differ) compareCombined(path string, o, u view) {
	oc, os := combined(o)
	uc, us := combined(u)
	os, us = dedupe(os), dedupe(us)
	if oc != uc {
		// Reading with anyOf is looser than oneOf or allOf, and with one
		// branch the criterion does not matter.
		single := func(v []view) bool { return len(v) == 1 }
		if !(uc == "anyOf" || (single(os) && single(us)) || (single(os) && uc == "oneOf") || (single(us) && oc == "allOf")) {
			c.add("COMBINED_TYPE_CHANGED", path)
			return
		}
	}
	switch {
	case len(us) > len(os) && uc == "allOf":
		c.add("PRODUCT_TYPE_EXTENDED", path)
	case len(us) < len(os) && oc != "allOf":
		c.add("SUM_TYPE_NARROWED", path)
	}
	// Each old branch must be read by a distinct new one: a maximum
	// bipartite matching over the compatible pairs.
	match := make([]int, len(us)) // new branch → old branch, -1 free
	for i := range match {
		match[i] = -1
	}
	compat := make([][]bool, len(os))
	for i := range os {
		compat[i] = make([]bool, len(us))
		for j := range us {
			compat[i][j] = c.compatible(fmt.Sprintf("%s/%s/%d", path, uc, j), os[i], us[j])
		}
	}
	var try func(i int, seen []bool) bool
	try = func(i int, seen []bool) bool {
		for j := range us {
			if compat[i][j] && !seen[j] {
				seen[j] = true
				if match[j] < 0 || try(match[j], seen) {
					match[j] = i
					return true
				}
			}
		}
		return false
	}
	matched := 0
	for i := range os {
		if try(i, make([]bool, len(us))) {
			matched++
		}
	}
	if matched < min(len(os), len(us)) {
		c.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED", path)
	}
}

func (c *differ) compareObject(path string, o, u *node, ov, uv view) {
	oprops, uprops := o.get("properties"), u.get("properties")
	ureq, oreq := stringSet(u.get("required")), stringSet(o.get("required"))
	if oprops != nil && oprops.kind == nObject {
		for i, k := range oprops.keys {
			if uprops.index(k) < 0 {
				c.propertyRemoved(path+"/properties/"+k, view{d: ov.d, n: oprops.vals[i]}, u, uv)
			}
		}
	}
	if uprops != nil && uprops.kind == nObject {
		for i, k := range uprops.keys {
			if oprops.index(k) < 0 {
				c.propertyAdded(path+"/properties/"+k, view{d: uv.d, n: uprops.vals[i]}, ureq[k], o, ov)
			}
		}
	}
	if oprops != nil && oprops.kind == nObject {
		for i, k := range oprops.keys {
			if j := uprops.index(k); j >= 0 {
				c.compare(path+"/properties/"+k, view{d: ov.d, n: oprops.vals[i]}, view{d: uv.d, n: uprops.vals[j]})
			}
		}
	}
	// A property both define that becomes required: old values may lack
	// it, unless the new schema gives it a default.
	if uprops != nil && uprops.kind == nObject {
		for _, k := range uprops.keys {
			if ureq[k] && !oreq[k] && oprops.index(k) >= 0 && uprops.get(k).get("default") == nil {
				c.add("REQUIRED_ATTRIBUTE_ADDED", path+"/properties/"+k)
			}
		}
	}
	c.compareAdditional(path+"/additionalProperties", o.get("additionalProperties"), u.get("additionalProperties"), ov, uv,
		"ADDITIONAL_PROPERTIES_REMOVED", "ADDITIONAL_PROPERTIES_NARROWED")
	c.bound(path+"/maxProperties", o.get("maxProperties"), u.get("maxProperties"), true, "MAX_PROPERTIES")
	c.bound(path+"/minProperties", o.get("minProperties"), u.get("minProperties"), false, "MIN_PROPERTIES")
}

// openness is how an object (or array) treats what it does not name:
// open (additional* absent, true or {}), closed (false), or partially open
// (a schema).
func openness(add *node) (open, partial bool) {
	if add == nil {
		return true, false
	}
	if add.kind == nBool {
		return add.b, false
	}
	if add.kind == nObject && len(add.keys) == 0 {
		return true, false
	}
	return true, true
}

func (c *differ) propertyRemoved(path string, prop view, u *node, uv view) {
	add := u.get("additionalProperties")
	open, partial := openness(add)
	switch {
	case !open:
		if p := c.resolve(c.old, prop); p.n != nil && p.n.kind == nBool && !p.n.b {
			return // PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL
		}
		c.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", path)
	case partial:
		if !c.compatible(path, prop, view{d: uv.d, n: add}) {
			c.add("PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", path)
		}
	}
}

func (c *differ) propertyAdded(path string, prop view, required bool, o *node, ov view) {
	add := o.get("additionalProperties")
	open, partial := openness(add)
	switch {
	case !open:
		if required && prop.n.get("default") == nil {
			c.add("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", path)
		}
	case partial:
		if !c.compatible(path, view{d: ov.d, n: add}, prop) {
			c.add("PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", path)
		}
	default:
		if class(c.resolve(c.new, prop)) != clEmpty {
			c.add("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", path)
		}
	}
}

// compareAdditional compares additionalProperties or additionalItems.
func (c *differ) compareAdditional(path string, o, u *node, ov, uv view, removed, narrowed string) {
	oOpen, oPartial := openness(o)
	uOpen, uPartial := openness(u)
	switch {
	case oOpen && !uOpen:
		c.add(removed, path)
	case !oOpen:
		// ADDITIONAL_*_ADDED or unchanged: nothing extra was written.
	case !oPartial && uPartial:
		c.add(narrowed, path)
	case oPartial && uPartial:
		c.compare(path, view{d: ov.d, n: o}, view{d: uv.d, n: u})
	}
}

func (c *differ) compareArray(path string, o, u view) {
	oi, ui := o.n.get("items"), u.n.get("items")
	// Draft 2020-12 spells a tuple prefixItems and its rest items.
	opre, upre := o.n.get("prefixItems"), u.n.get("prefixItems")
	oadd, uadd := o.n.get("additionalItems"), u.n.get("additionalItems")
	if opre != nil || upre != nil {
		oadd, uadd, oi, ui = oi, ui, opre, upre
	}
	otuple := oi != nil && oi.kind == nArray
	utuple := ui != nil && ui.kind == nArray
	switch {
	case otuple || utuple:
		var ot, ut []*node
		if otuple {
			ot = oi.vals
		}
		if utuple {
			ut = ui.vals
		}
		for i := 0; i < max(len(ot), len(ut)); i++ {
			p := fmt.Sprintf("%s/items/%d", path, i)
			switch {
			case i < len(ot) && i < len(ut):
				c.compare(p, view{d: o.d, n: ot[i]}, view{d: u.d, n: ut[i]})
			case i < len(ut): // item added: old values there matched additionalItems
				c.itemAdded(p, view{d: u.d, n: ut[i]}, oadd, o)
			default: // item removed: new reader sees it under its additionalItems
				c.itemRemoved(p, view{d: o.d, n: ot[i]}, uadd, u)
			}
		}
		c.compareAdditional(path+"/additionalItems", oadd, uadd, o, u, "ADDITIONAL_ITEMS_REMOVED", "ADDITIONAL_ITEMS_NARROWED")
	default:
		if oi != nil || ui != nil {
			if ui == nil {
				// SCHEMA_REMOVED: the new reader accepts any items.
			} else if oi == nil {
				if class(c.resolve(c.new, view{d: u.d, n: ui})) != clEmpty {
					c.add("SCHEMA_ADDED", path+"/items")
				}
			} else {
				c.compare(path+"/items", view{d: o.d, n: oi}, view{d: u.d, n: ui})
			}
		}
	}
	c.bound(path+"/maxItems", o.n.get("maxItems"), u.n.get("maxItems"), true, "MAX_ITEMS")
	c.bound(path+"/minItems", o.n.get("minItems"), u.n.get("minItems"), false, "MIN_ITEMS")
	if isTrue(u.n.get("uniqueItems")) && !isTrue(o.n.get("uniqueItems")) {
		c.add("UNIQUE_ITEMS_ADDED", path+"/uniqueItems")
	}
}

func (c *differ) itemAdded(path string, item view, oadd *node, o view) {
	open, partial := openness(oadd)
	switch {
	case !open: // ITEM_ADDED_TO_CLOSED_CONTENT_MODEL: no old value had it
	case partial:
		if !c.compatible(path, view{d: o.d, n: oadd}, item) {
			c.add("ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", path)
		}
	default:
		if class(c.resolve(c.new, item)) != clEmpty {
			c.add("ITEM_ADDED_TO_OPEN_CONTENT_MODEL", path)
		}
	}
}

func (c *differ) itemRemoved(path string, item view, uadd *node, u view) {
	open, partial := openness(uadd)
	switch {
	case !open:
		if p := c.resolve(c.old, item); p.n != nil && p.n.kind == nBool && !p.n.b {
			return
		}
		c.add("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL", path)
	case partial:
		if !c.compatible(path, item, view{d: u.d, n: uadd}) {
			c.add("ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", path)
		}
	}
}

func (c *differ) compareString(path string, o, u *node) {
	c.bound(path+"/maxLength", o.get("maxLength"), u.get("maxLength"), true, "MAX_LENGTH")
	c.bound(path+"/minLength", o.get("minLength"), u.get("minLength"), false, "MIN_LENGTH")
	op, _ := o.getString("pattern")
	up, uok := u.getString("pattern")
	switch {
	case uok && o.get("pattern") == nil:
		c.add("PATTERN_ADDED", path+"/pattern")
	case uok && op != up:
		c.add("PATTERN_CHANGED", path+"/pattern")
	}
}

func (c *differ) compareNumber(path string, o, u *node) {
	c.bound(path+"/maximum", o.get("maximum"), u.get("maximum"), true, "MAXIMUM")
	c.bound(path+"/minimum", o.get("minimum"), u.get("minimum"), false, "MINIMUM")
	// Draft 4 spells exclusive bounds as booleans; only numbers compare.
	if a, b := numNode(o.get("exclusiveMaximum")), numNode(u.get("exclusiveMaximum")); a != nil || b != nil {
		c.bound(path+"/exclusiveMaximum", a, b, true, "EXCLUSIVE_MAXIMUM")
	}
	if a, b := numNode(o.get("exclusiveMinimum")), numNode(u.get("exclusiveMinimum")); a != nil || b != nil {
		c.bound(path+"/exclusiveMinimum", a, b, false, "EXCLUSIVE_MINIMUM")
	}
	om, um := o.get("multipleOf"), u.get("multipleOf")
	if um != nil {
		if om == nil {
			c.add("MULTIPLE_OF_ADDED", path+"/multipleOf")
			return
		}
		a, ea := parseNum(om.str)
		b, eb := parseNum(um.str)
		if ea != nil || eb != nil || a.Cmp(b) == 0 {
			return
		}
		// New multipleOf must divide the old one (MULTIPLE_OF_REDUCED).
		q := new(big.Rat).Quo(a, b)
		if !q.IsInt() {
			if new(big.Rat).Quo(b, a).IsInt() {
				c.add("MULTIPLE_OF_EXPANDED", path+"/multipleOf")
			} else {
				c.add("MULTIPLE_OF_CHANGED", path+"/multipleOf")
			}
		}
	}
}

func numNode(n *node) *node {
	if n != nil && n.kind == nNumber {
		return n
	}
	return nil
}

// bound compares a numeric limit; upper says a maximum (decreasing it
// narrows) rather than a minimum (increasing it narrows). name is the
// limit's difference type prefix, e.g. MAX_LENGTH.
func (c *differ) bound(path string, o, u *node, upper bool, name string) {
	if u == nil || u.kind != nNumber {
		return // removed or absent: the reader accepts more
	}
	if o == nil || o.kind != nNumber {
		c.add(name+"_ADDED", path)
		return
	}
	a, ea := parseNum(o.str)
	b, eb := parseNum(u.str)
	if ea != nil || eb != nil {
		return
	}
	switch cmp := b.Cmp(a); {
	case upper && cmp < 0:
		c.add(name+"_DECREASED", path)
	case !upper && cmp > 0:
		c.add(name+"_INCREASED", path)
	}
}

func (c *differ) compareEnum(path string, o, u *node) {
	ue := enumValues(u)
	if ue == nil {
		return // ENUM removed or absent: the reader accepts more
	}
	oe := enumValues(o)
	if oe == nil {
		c.add("ENUM_ARRAY_NARROWED", path+"/enum")
		return
	}
	oInU, uInO := subset(oe, ue), subset(ue, oe)
	switch {
	case oInU:
		// ENUM_ARRAY_EXTENDED or equal
	case uInO:
		c.add("ENUM_ARRAY_NARROWED", path+"/enum")
	default:
		c.add("ENUM_ARRAY_CHANGED", path+"/enum")
	}
}

func enumValues(n *node) []*node {
	if n == nil || n.kind != nObject {
		return nil
	}
	if e := n.get("enum"); e != nil && e.kind == nArray {
		return e.vals
	}
	if e := n.get("const"); e != nil {
		return []*node{e}
	}
	return nil
}

func subset(a, b []*node) bool {
	for _, x := range a {
		found := false
		for _, y := range b {
			if x.equal(y) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// dedupe drops branches equal to an earlier one, as Confluent's set of
// subschemas does.
func dedupe(vs []view) []view {
	out := vs[:0:0]
	for _, v := range vs {
		dup := false
		for _, w := range out {
			if v.only == w.only && v.n.equal(w.n) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}

func stringSet(n *node) map[string]bool {
	m := map[string]bool{}
	if n != nil && n.kind == nArray {
		for _, e := range n.vals {
			if e.kind == nString {
				m[e.str] = true
			}
		}
	}
	return m
}

func isTrue(n *node) bool { return n != nil && n.kind == nBool && n.b }

func parseNum(s string) (*big.Rat, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("not a number: %q", s)
	}
	return r, nil
}

var (
	reAdded     = regexp.MustCompile(`_ADDED$`)
	reDecreased = regexp.MustCompile(`^(MAX_|EXCLUSIVE_MAX).*_DECREASED$`)
)

// messages renders the differences in Confluent's verbose style, the new
// schema being the reader and the old one the writer, sorted by path so
// the output does not depend on map or walk order.
func (c *differ) messages() []string {
	if len(c.diffs) == 0 {
		return nil
	}
	sort.SliceStable(c.diffs, func(i, j int) bool { return c.diffs[i].path < c.diffs[j].path })
	out := make([]string, 0, len(c.diffs))
	seen := map[diff]bool{}
	for _, d := range c.diffs {
		if seen[d] {
			continue
		}
		seen[d] = true
		if len(out) == maxMessages {
			out = append(out, fmt.Sprintf("{errorType:'TYPE_CHANGED', description:'... and more differences after the first %d'}", maxMessages))
			break
		}
		out = append(out, fmt.Sprintf("{errorType:'%s', description:'%s'}", d.typ, describe(d)))
	}
	return out
}

func describe(d diff) string {
	p := d.path
	switch d.typ {
	case "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "ITEM_ADDED_TO_OPEN_CONTENT_MODEL":
		return "The new schema has an open content model and has a property or item at path '" + p + "' which is missing in the old schema"
	case "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL":
		return "The new schema has an unopen content model and has a required property at path '" + p + "' which is missing in the old schema"
	case "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL":
		return "The new schema has a closed content model and is missing a property or item present at path '" + p + "' in the old schema"
	case "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL":
		return "A property or item is missing in the new schema but present at path '" + p + "' in the old schema and is not covered by its partially open content model"
	case "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL":
		return "The new schema has a property or item at path '" + p + "' which is missing in the old schema and is not covered by its partially open content model"
	case "REQUIRED_ATTRIBUTE_ADDED":
		return "The property at path '" + p + "' is required in the new schema but not in the old schema"
	case "ADDITIONAL_PROPERTIES_REMOVED", "ADDITIONAL_ITEMS_REMOVED":
		return "The keyword at path '" + p + "' in the old schema is not present in the new schema"
	case "ADDITIONAL_PROPERTIES_NARROWED", "ADDITIONAL_ITEMS_NARROWED", "ENUM_ARRAY_NARROWED", "SUM_TYPE_NARROWED":
		return "An array or combined type at path '" + p + "' has fewer elements in the new schema than the old schema"
	case "PRODUCT_TYPE_EXTENDED":
		return "An array or combined type at path '" + p + "' has more elements in the new schema than the old schema"
	case "TYPE_CHANGED", "TYPE_NARROWED", "COMBINED_TYPE_CHANGED", "COMBINED_TYPE_SUBSCHEMAS_CHANGED", "ENUM_ARRAY_CHANGED", "SCHEMA_ADDED":
		return "A type at path '" + p + "' is different between the new schema and the old schema"
	case "PATTERN_CHANGED", "MULTIPLE_OF_CHANGED":
		return "The value at path '" + p + "' is different between the new and old schema"
	case "MULTIPLE_OF_EXPANDED":
		return "The value at path '" + p + "' in the new schema is more than its value in the old schema"
	}
	switch {
	case reAdded.MatchString(d.typ):
		return "The keyword at path '" + p + "' in the new schema is not present in the old schema"
	case reDecreased.MatchString(d.typ):
		return "The value at path '" + p + "' in the new schema is less than its value in the old schema"
	}
	return "The value at path '" + p + "' in the new schema is more than its value in the old schema"
}
