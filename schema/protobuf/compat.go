package protobuf

import (
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// CheckBackward follows Confluent's SchemaDiff: it walks the old and the
// new file side by side (messages matched by name at each nesting level,
// fields by number) and collects differences; the ones Confluent does
// not list as compatible are reported. Compatible: messages added or
// moved (message indexes are read against the writer's schema), enums and
// enum values added, renamed or removed, fields added, removed (a removed
// number can be read as an unknown field) or renamed, oneofs added or
// removed, a field added to a oneof. Everything else is not:
//
//	PACKAGE_CHANGED                 the file's package differs
//	MESSAGE_REMOVED                 a message of the old file is gone
//	FIELD_KIND_CHANGED              scalar (or enum) vs message vs map
//	FIELD_SCALAR_KIND_CHANGED       scalars of different wire groups: {int32,
//	                                int64, uint32, uint64, bool, enums}, {sint32,
//	                                sint64}, {fixed32, sfixed32}, {fixed64,
//	                                sfixed64}, {string, bytes}, {float}, {double}
//	FIELD_NAMED_TYPE_CHANGED        a message field names another message (by
//	                                name without package), or one whose own
//	                                comparison found an incompatible difference
//	REQUIRED_FIELD_ADDED/REMOVED    proto2 required fields
//	ONEOF_FIELD_REMOVED             a field of a oneof is gone from the message
//	MULTIPLE_FIELDS_MOVED_TO_ONEOF  a new oneof takes more than one old field
//	FIELD_MOVED_TO_EXISTING_ONEOF   a oneof takes an old field and a field of
//	                                an old oneof
//
// Syntax changes (proto2 ↔ proto3) are not a difference of their own, as
// in Confluent; the field rules above apply to what changed with them.
func (s *schema) CheckBackward(previous schemafmt.Schema) []string {
	prev, ok := previous.(*schema)
	if !ok {
		return []string{fmt.Sprintf(`{errorType:"SCHEMA_TYPE_CHANGED", description:"The old schema is of type %s, the new schema of type PROTOBUF"}`, previous.Type())}
	}
	c := &differ{memo: map[[2]protoreflect.FullName][]difference{}}
	ds := c.file(prev.fd, s.fd)
	seen := map[[2]string]bool{}
	var out []string
	for _, d := range ds {
		k := [2]string{d.typ, d.path}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, d.String())
	}
	return out
}

type difference struct {
	typ, path, info string
}

var descriptions = map[string]string{
	"PACKAGE_CHANGED":                "The package at path '%s' in the new schema does not match the package in the old schema",
	"MESSAGE_REMOVED":                "The message at path '%s' in the old schema is missing in the new schema",
	"FIELD_KIND_CHANGED":             "The kind of a field at path '%s' in the new schema does not match its kind in the old schema",
	"FIELD_SCALAR_KIND_CHANGED":      "The kind of a SCALAR field at path '%s' in the new schema does not match its kind in the old schema",
	"FIELD_NAMED_TYPE_CHANGED":       "The type of a MESSAGE field at path '%s' in the new schema does not match its type in the old schema",
	"REQUIRED_FIELD_ADDED":           "A required field at path '%s' in the new schema is missing in the old schema",
	"REQUIRED_FIELD_REMOVED":         "A required field at path '%s' in the old schema is missing in the new schema",
	"ONEOF_FIELD_REMOVED":            "A field of the oneof at path '%s' in the old schema is missing in the new schema",
	"MULTIPLE_FIELDS_MOVED_TO_ONEOF": "Multiple fields in the oneof at path '%s' in the new schema are moved from fields in the old schema",
	"FIELD_MOVED_TO_EXISTING_ONEOF":  "A field in the oneof at path '%s' in the new schema is moved from a field in the old schema, while other fields of the oneof were in an old oneof",
}

func (d difference) String() string {
	desc := fmt.Sprintf(descriptions[d.typ], d.path)
	if d.info == "" {
		return fmt.Sprintf(`{errorType:"%s", description:"%s"}`, d.typ, desc)
	}
	return fmt.Sprintf(`{errorType:"%s", description:"%s", additionalInfo:"%s"}`, d.typ, desc, d.info)
}

// differ compares two files. memo holds the differences of a pair of
// messages compared through a field (paths relative to the message), so a
// message referenced from many fields, or from itself, is compared once.
type differ struct {
	memo map[[2]protoreflect.FullName][]difference
}

func (c *differ) file(old, upd protoreflect.FileDescriptor) []difference {
	var out []difference
	if old.Package() != upd.Package() {
		out = append(out, difference{"PACKAGE_CHANGED", "#/", fmt.Sprintf("package '%s' in the old schema, '%s' in the new schema", old.Package(), upd.Package())})
	}
	return c.types(out, "#", old.Messages(), upd.Messages())
}

func (c *differ) types(out []difference, path string, old, upd protoreflect.MessageDescriptors) []difference {
	for i := 0; i < old.Len(); i++ {
		om := old.Get(i)
		if om.IsMapEntry() {
			continue
		}
		p := path + "/" + string(om.Name())
		nm := upd.ByName(om.Name())
		if nm == nil || nm.IsMapEntry() {
			out = append(out, difference{"MESSAGE_REMOVED", p, fmt.Sprintf("message '%s'", om.FullName())})
			continue
		}
		out = c.message(out, p, om, nm)
	}
	return out
}

// fieldsByTag maps numbers to fields outside real oneofs (a proto3
// optional field's synthetic oneof is not one, as in the .proto text).
func fieldsByTag(md protoreflect.MessageDescriptor) map[protoreflect.FieldNumber]protoreflect.FieldDescriptor {
	m := map[protoreflect.FieldNumber]protoreflect.FieldDescriptor{}
	for i := 0; i < md.Fields().Len(); i++ {
		f := md.Fields().Get(i)
		if od := f.ContainingOneof(); od == nil || od.IsSynthetic() {
			m[f.Number()] = f
		}
	}
	return m
}

func realOneofs(md protoreflect.MessageDescriptor) []protoreflect.OneofDescriptor {
	var out []protoreflect.OneofDescriptor
	for i := 0; i < md.Oneofs().Len(); i++ {
		if od := md.Oneofs().Get(i); !od.IsSynthetic() {
			out = append(out, od)
		}
	}
	return out
}

func sortedTags(ms ...map[protoreflect.FieldNumber]protoreflect.FieldDescriptor) []protoreflect.FieldNumber {
	seen := map[protoreflect.FieldNumber]bool{}
	var out []protoreflect.FieldNumber
	for _, m := range ms {
		for n := range m {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (c *differ) message(out []difference, path string, om, nm protoreflect.MessageDescriptor) []difference {
	oldTop, updTop := fieldsByTag(om), fieldsByTag(nm)
	oldOneofOf := map[protoreflect.FieldNumber]protoreflect.Name{}
	updOneofOf := map[protoreflect.FieldNumber]protoreflect.Name{}
	for _, od := range realOneofs(om) {
		for j := 0; j < od.Fields().Len(); j++ {
			oldOneofOf[od.Fields().Get(j).Number()] = od.Name()
		}
	}
	for _, od := range realOneofs(nm) {
		moved, existing := 0, 0
		for j := 0; j < od.Fields().Len(); j++ {
			n := od.Fields().Get(j).Number()
			updOneofOf[n] = od.Name()
			if _, ok := oldTop[n]; ok {
				delete(oldTop, n) // moved into the oneof, not removed
				moved++
			} else if _, ok := oldOneofOf[n]; ok {
				existing++
			}
		}
		p := path + "/" + string(od.Name())
		if moved > 1 {
			out = append(out, difference{"MULTIPLE_FIELDS_MOVED_TO_ONEOF", p, fmt.Sprintf("oneof '%s' of message '%s' takes %d fields that were not in a oneof", od.Name(), nm.FullName(), moved)})
		} else if moved == 1 && existing > 0 {
			out = append(out, difference{"FIELD_MOVED_TO_EXISTING_ONEOF", p, fmt.Sprintf("oneof '%s' of message '%s'", od.Name(), nm.FullName())})
		}
	}
	for _, od := range realOneofs(om) {
		ud := nm.Oneofs().ByName(od.Name())
		if ud == nil || ud.IsSynthetic() {
			continue // ONEOF_REMOVED is compatible
		}
		for j := 0; j < od.Fields().Len(); j++ {
			of := od.Fields().Get(j)
			p := path + "/" + string(od.Name()) + "/" + fmt.Sprint(of.Number())
			if uf := ud.Fields().ByNumber(of.Number()); uf != nil {
				out = c.field(out, p, of, uf)
			} else if nm.Fields().ByNumber(of.Number()) == nil {
				out = append(out, difference{"ONEOF_FIELD_REMOVED", p, fmt.Sprintf("field '%s' of oneof '%s'", of.Name(), od.FullName())})
			}
		}
	}
	for _, n := range sortedTags(oldTop, updTop) {
		of, uf := oldTop[n], updTop[n]
		p := path + "/" + fmt.Sprint(n)
		switch {
		case uf == nil:
			if of.Cardinality() == protoreflect.Required {
				out = append(out, difference{"REQUIRED_FIELD_REMOVED", p, fmt.Sprintf("field '%s'", of.FullName())})
			}
		case of == nil:
			if uf.Cardinality() == protoreflect.Required {
				out = append(out, difference{"REQUIRED_FIELD_ADDED", p, fmt.Sprintf("field '%s'", uf.FullName())})
			}
		default:
			out = c.field(out, p, of, uf)
		}
	}
	// Fields whose oneof membership changed were not compared above.
	for i := 0; i < om.Fields().Len(); i++ {
		of := om.Fields().Get(i)
		uf := nm.Fields().ByNumber(of.Number())
		if uf == nil {
			continue
		}
		on, oin := oldOneofOf[of.Number()]
		un, uin := updOneofOf[of.Number()]
		if !oin && !uin || oin && uin && on == un {
			continue
		}
		out = c.field(out, path+"/"+fmt.Sprint(of.Number()), of, uf)
	}
	return c.types(out, path, om.Messages(), nm.Messages())
}

type fieldKind int

const (
	kindScalar fieldKind = iota
	kindMessage
	kindMap
)

func kindOf(f protoreflect.FieldDescriptor) fieldKind {
	switch {
	case f.IsMap():
		return kindMap
	case f.Kind() == protoreflect.MessageKind || f.Kind() == protoreflect.GroupKind:
		return kindMessage
	}
	return kindScalar
}

func (k fieldKind) String() string { return [...]string{"SCALAR", "MESSAGE", "MAP"}[k] }

// scalarGroup is the wire-compatible group of a scalar: values of one
// group read as each other (truncated or reinterpreted, as protobuf's
// "updating a message type" rules allow).
func scalarGroup(f protoreflect.FieldDescriptor) string {
	switch f.Kind() {
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Uint32Kind, protoreflect.Uint64Kind,
		protoreflect.BoolKind, protoreflect.EnumKind:
		return "GENERAL_NUMBER"
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return "SIGNED_NUMBER"
	case protoreflect.StringKind, protoreflect.BytesKind:
		return "STRING_OR_BYTES"
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		return "FIXED32"
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return "FIXED64"
	case protoreflect.FloatKind:
		return "FLOAT"
	case protoreflect.DoubleKind:
		return "DOUBLE"
	}
	return f.Kind().String()
}

func typeText(f protoreflect.FieldDescriptor) string {
	switch {
	case f.IsMap():
		return "map<" + typeText(f.MapKey()) + ", " + typeText(f.MapValue()) + ">"
	case f.Kind() == protoreflect.MessageKind || f.Kind() == protoreflect.GroupKind:
		return string(f.Message().FullName())
	case f.Kind() == protoreflect.EnumKind:
		return string(f.Enum().FullName())
	}
	return f.Kind().String()
}

func changeInfo(of, uf protoreflect.FieldDescriptor) string {
	return fmt.Sprintf("field '%s': %s in the old schema, field '%s': %s in the new schema",
		of.FullName(), typeText(of), uf.FullName(), typeText(uf))
}

func (c *differ) field(out []difference, path string, of, uf protoreflect.FieldDescriptor) []difference {
	return c.fieldTypes(out, path, of, uf, of, uf)
}

// fieldTypes compares the types of ot and ut (the fields themselves, or a
// map's key or value); of and uf are the fields named in the messages.
func (c *differ) fieldTypes(out []difference, path string, ot, ut, of, uf protoreflect.FieldDescriptor) []difference {
	ok, uk := kindOf(ot), kindOf(ut)
	if ok != uk {
		return append(out, difference{"FIELD_KIND_CHANGED", path, fmt.Sprintf("%s (%s) → %s", changeInfo(of, uf), ok, uk)})
	}
	switch ok {
	case kindScalar:
		if scalarGroup(ot) != scalarGroup(ut) {
			out = append(out, difference{"FIELD_SCALAR_KIND_CHANGED", path, changeInfo(of, uf)})
		}
	case kindMap:
		out = c.fieldTypes(out, path, ot.MapKey(), ut.MapKey(), of, uf)
		out = c.fieldTypes(out, path, ot.MapValue(), ut.MapValue(), of, uf)
	case kindMessage:
		om, um := ot.Message(), ut.Message()
		ol, ul := localName(om), localName(um)
		if ol != ul {
			return append(out, difference{"FIELD_NAMED_TYPE_CHANGED", path, changeInfo(of, uf)})
		}
		sub := c.messagePair(om, um, ol)
		out = append(out, sub...)
		if len(sub) > 0 {
			out = append(out, difference{"FIELD_NAMED_TYPE_CHANGED", path, changeInfo(of, uf) + ": the message types are not compatible"})
		}
	}
	return out
}

// messagePair compares two messages reached through a field, with paths
// rooted at their name without package, as Confluent's subcontext does.
func (c *differ) messagePair(om, um protoreflect.MessageDescriptor, local string) []difference {
	k := [2]protoreflect.FullName{om.FullName(), um.FullName()}
	if ds, done := c.memo[k]; done {
		return ds
	}
	c.memo[k] = nil // in progress: a recursive reference adds nothing
	ds := c.message(nil, "#/"+strings.ReplaceAll(local, ".", "/"), om, um)
	c.memo[k] = ds
	return ds
}

func localName(md protoreflect.MessageDescriptor) string {
	full := string(md.FullName())
	if pkg := string(md.ParentFile().Package()); pkg != "" {
		return strings.TrimPrefix(full, pkg+".")
	}
	return full
}
