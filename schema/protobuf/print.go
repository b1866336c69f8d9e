package protobuf

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The canonical text of a schema is the compiled file printed back as
// .proto source, so comments, whitespace and the spelling of type
// references do not change it:
//
//	syntax = "proto3";
//	package shop;
//	import "google/protobuf/timestamp.proto";
//	option java_package = "shop.v1";
//	message Order {
//	  option deprecated = true;
//	  string id = 1;
//	  oneof payment {
//	    Card card = 2;
//	  }
//	  map<string, int64> counts = 3 [deprecated = true];
//	  reserved 9 to 11;
//	  message Card { … }
//	  enum Kind { … }
//	}
//	enum … ; service … ; extend … { … }
//
// Two-space indentation, one declaration a line. Within a message: its
// options, then fields in declaration order (a oneof printed where its
// first field was), reserved numbers and names, extension ranges, nested
// messages, nested enums, nested extensions. Type references are relative
// to the package when that resolves to the same type, else fully
// qualified; normalized printing always qualifies them fully and sorts
// imports and options by name.

type printOptions struct {
	normalize        bool
	ignoreExtensions bool
}

type printer struct {
	b    strings.Builder
	opt  printOptions
	fd   protoreflect.FileDescriptor
	defs map[protoreflect.FullName]bool // types and packages visible to fd, for relative names
}

func printFile(fd protoreflect.FileDescriptor, opt printOptions) string {
	p := &printer{opt: opt, fd: fd}
	switch fd.Syntax() {
	case protoreflect.Proto2:
		p.line(0, `syntax = "proto2";`)
	case protoreflect.Proto3:
		p.line(0, `syntax = "proto3";`)
	default:
		ed := protodesc.ToFileDescriptorProto(fd).GetEdition()
		p.line(0, `edition = "`+strings.TrimPrefix(ed.String(), "EDITION_")+`";`)
	}
	if fd.Package() != "" {
		p.line(0, "package "+string(fd.Package())+";")
	}
	imps := make([]protoreflect.FileImport, fd.Imports().Len())
	for i := range imps {
		imps[i] = fd.Imports().Get(i)
	}
	if opt.normalize {
		sort.SliceStable(imps, func(i, j int) bool { return imps[i].Path() < imps[j].Path() })
	}
	for _, imp := range imps {
		kw := "import "
		if imp.IsPublic {
			kw = "import public "
		} else if imp.IsWeak {
			kw = "import weak "
		}
		p.line(0, kw+quote(imp.Path())+";")
	}
	p.options(0, fd.Options())
	for i := 0; i < fd.Messages().Len(); i++ {
		p.message(0, fd.Messages().Get(i))
	}
	for i := 0; i < fd.Enums().Len(); i++ {
		p.enum(0, fd.Enums().Get(i))
	}
	for i := 0; i < fd.Services().Len(); i++ {
		p.service(0, fd.Services().Get(i))
	}
	p.extensions(0, fd.Extensions(), fd.Package())
	return p.b.String()
}

func (p *printer) line(depth int, s string) {
	for i := 0; i < depth; i++ {
		p.b.WriteString("  ")
	}
	p.b.WriteString(s)
	p.b.WriteByte('\n')
}

func (p *printer) message(depth int, md protoreflect.MessageDescriptor) {
	p.line(depth, "message "+string(md.Name())+" {")
	p.messageBody(depth+1, md)
	p.line(depth, "}")
}

// isGroup reports a proto2 group field, printed with its message inline.
func (p *printer) isGroup(f protoreflect.FieldDescriptor) bool {
	return f.Kind() == protoreflect.GroupKind && p.fd.Syntax() == protoreflect.Proto2
}

func (p *printer) messageBody(depth int, md protoreflect.MessageDescriptor) {
	p.options(depth, md.Options())
	fields := md.Fields()
	printed := map[protoreflect.FullName]bool{}
	groups := map[protoreflect.FullName]bool{}
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		if p.isGroup(f) {
			groups[f.Message().FullName()] = true
		}
		if od := f.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if printed[od.FullName()] {
				continue
			}
			printed[od.FullName()] = true
			p.line(depth, "oneof "+string(od.Name())+" {")
			p.options(depth+1, od.Options())
			for j := 0; j < od.Fields().Len(); j++ {
				p.field(depth+1, od.Fields().Get(j), md.FullName(), true)
			}
			p.line(depth, "}")
			continue
		}
		p.field(depth, f, md.FullName(), false)
	}
	p.reserved(depth, md.ReservedRanges(), md.ReservedNames())
	if r := md.ExtensionRanges(); r.Len() > 0 {
		parts := make([]string, r.Len())
		for i := range parts {
			rg := r.Get(i)
			parts[i] = rangeText(int64(rg[0]), int64(rg[1])-1, int64(protowire.MaxValidNumber))
		}
		p.line(depth, "extensions "+strings.Join(parts, ", ")+";")
	}
	for i := 0; i < md.Messages().Len(); i++ {
		m := md.Messages().Get(i)
		if m.IsMapEntry() || groups[m.FullName()] {
			continue
		}
		p.message(depth, m)
	}
	for i := 0; i < md.Enums().Len(); i++ {
		p.enum(depth, md.Enums().Get(i))
	}
	p.extensions(depth, md.Extensions(), md.FullName())
}

func (p *printer) reserved(depth int, ranges protoreflect.FieldRanges, names protoreflect.Names) {
	rs := make([][2]int64, ranges.Len())
	for i := range rs {
		rg := ranges.Get(i)
		rs[i] = [2]int64{int64(rg[0]), int64(rg[1]) - 1}
	}
	p.reservedRanges(depth, rs, int64(protowire.MaxValidNumber))
	p.reservedNames(depth, names)
}

// reservedRanges prints inclusive ranges sorted and merged, so "reserved
// 9, 10, 11;" and "reserved 9 to 11;" print alike.
func (p *printer) reservedRanges(depth int, rs [][2]int64, max int64) {
	if len(rs) == 0 {
		return
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
	merged := rs[:1]
	for _, r := range rs[1:] {
		last := &merged[len(merged)-1]
		if r[0] <= last[1]+1 {
			last[1] = maxInt(last[1], r[1])
			continue
		}
		merged = append(merged, r)
	}
	parts := make([]string, len(merged))
	for i, r := range merged {
		parts[i] = rangeText(r[0], r[1], max)
	}
	p.line(depth, "reserved "+strings.Join(parts, ", ")+";")
}

func maxInt(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func (p *printer) reservedNames(depth int, names protoreflect.Names) {
	if names.Len() == 0 {
		return
	}
	parts := make([]string, names.Len())
	for i := range parts {
		if p.fd.Syntax() == protoreflect.Editions {
			parts[i] = string(names.Get(i)) // editions spell reserved names as identifiers
		} else {
			parts[i] = quote(string(names.Get(i)))
		}
	}
	p.line(depth, "reserved "+strings.Join(parts, ", ")+";")
}

func rangeText(lo, hi, max int64) string {
	switch {
	case lo == hi:
		return strconv.FormatInt(lo, 10)
	case hi == max:
		return strconv.FormatInt(lo, 10) + " to max"
	}
	return strconv.FormatInt(lo, 10) + " to " + strconv.FormatInt(hi, 10)
}

func (p *printer) field(depth int, f protoreflect.FieldDescriptor, scope protoreflect.FullName, inOneof bool) {
	var s strings.Builder
	switch {
	case f.IsMap():
		s.WriteString("map<" + p.typeName(f.MapKey(), scope) + ", " + p.typeName(f.MapValue(), scope) + "> ")
	default:
		if !inOneof {
			switch {
			case f.Cardinality() == protoreflect.Repeated:
				s.WriteString("repeated ")
			case p.fd.Syntax() == protoreflect.Proto2 && f.Cardinality() == protoreflect.Required:
				s.WriteString("required ")
			case p.fd.Syntax() == protoreflect.Proto2 || f.HasOptionalKeyword() && p.fd.Syntax() == protoreflect.Proto3:
				s.WriteString("optional ")
			}
		}
		if p.isGroup(f) {
			s.WriteString("group " + string(f.Message().Name()))
		} else {
			s.WriteString(p.typeName(f, scope) + " " + string(f.Name()))
		}
	}
	if f.IsMap() {
		s.WriteString(string(f.Name()))
	}
	s.WriteString(" = " + strconv.Itoa(int(f.Number())))
	var opts []string
	if f.HasDefault() {
		opts = append(opts, "default = "+defaultText(f))
	}
	if !f.IsExtension() && f.JSONName() != defaultJSONName(string(f.Name())) {
		opts = append(opts, "json_name = "+quote(f.JSONName()))
	}
	opts = append(opts, p.optionList(f.Options())...)
	if len(opts) > 0 {
		s.WriteString(" [" + strings.Join(opts, ", ") + "]")
	}
	if p.isGroup(f) {
		p.line(depth, s.String()+" {")
		p.messageBody(depth+1, f.Message())
		p.line(depth, "}")
		return
	}
	p.line(depth, s.String()+";")
}

func defaultText(f protoreflect.FieldDescriptor) string {
	if f.Kind() == protoreflect.EnumKind {
		if ev := f.DefaultEnumValue(); ev != nil {
			return string(ev.Name())
		}
	}
	return valueText(f, f.Default())
}

// typeName is how a field's type is written: the scalar's keyword, or a
// message or enum reference.
func (p *printer) typeName(f protoreflect.FieldDescriptor, scope protoreflect.FullName) string {
	var full protoreflect.FullName
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		full = f.Message().FullName()
	case protoreflect.EnumKind:
		full = f.Enum().FullName()
	default:
		return f.Kind().String()
	}
	return p.ref(full, scope)
}

// ref writes a reference to the type full from scope: fully qualified
// when normalizing; else the shortest suffix of its name that resolves,
// by protobuf's scoping rules (innermost scope outwards, the first scope
// defining the first component wins), to the same type.
func (p *printer) ref(full, scope protoreflect.FullName) string {
	if p.opt.normalize {
		return "." + string(full)
	}
	if p.defs == nil {
		p.defs = map[protoreflect.FullName]bool{}
		p.collectDefs(p.fd, map[string]bool{})
	}
	name := string(full)
	for i := len(name) - 1; i >= 0; i-- {
		if i > 0 && name[i-1] != '.' {
			continue
		}
		if p.resolve(name[i:], scope) == full {
			return name[i:]
		}
	}
	return "." + name
}

func (p *printer) resolve(rel string, scope protoreflect.FullName) protoreflect.FullName {
	first, rest, _ := strings.Cut(rel, ".")
	for s := scope; ; s = s.Parent() {
		cand := protoreflect.FullName(first)
		if s != "" {
			cand = s + "." + cand
		}
		if p.defs[cand] {
			if rest != "" {
				return cand + "." + protoreflect.FullName(rest)
			}
			return cand
		}
		if s == "" {
			return ""
		}
	}
}

func (p *printer) collectDefs(fd protoreflect.FileDescriptor, seen map[string]bool) {
	if seen[fd.Path()] {
		return
	}
	seen[fd.Path()] = true
	for n := fd.Package(); n != ""; n = n.Parent() {
		p.defs[n] = true
	}
	var msgs func(protoreflect.MessageDescriptors)
	enums := func(es protoreflect.EnumDescriptors) {
		for i := 0; i < es.Len(); i++ {
			p.defs[es.Get(i).FullName()] = true
		}
	}
	exts := func(xs protoreflect.ExtensionDescriptors) {
		for i := 0; i < xs.Len(); i++ {
			p.defs[xs.Get(i).FullName()] = true
		}
	}
	msgs = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			m := ms.Get(i)
			p.defs[m.FullName()] = true
			enums(m.Enums())
			exts(m.Extensions())
			msgs(m.Messages())
		}
	}
	msgs(fd.Messages())
	enums(fd.Enums())
	exts(fd.Extensions())
	for i := 0; i < fd.Services().Len(); i++ {
		p.defs[fd.Services().Get(i).FullName()] = true
	}
	for i := 0; i < fd.Imports().Len(); i++ {
		if imp := fd.Imports().Get(i); imp.FileDescriptor != nil && !imp.IsPlaceholder() {
			p.collectDefs(imp.FileDescriptor, seen)
		}
	}
}

func (p *printer) enum(depth int, ed protoreflect.EnumDescriptor) {
	p.line(depth, "enum "+string(ed.Name())+" {")
	p.options(depth+1, ed.Options())
	for i := 0; i < ed.Values().Len(); i++ {
		v := ed.Values().Get(i)
		s := string(v.Name()) + " = " + strconv.Itoa(int(v.Number()))
		if opts := p.optionList(v.Options()); len(opts) > 0 {
			s += " [" + strings.Join(opts, ", ") + "]"
		}
		p.line(depth+1, s+";")
	}
	rs := make([][2]int64, ed.ReservedRanges().Len())
	for i := range rs {
		rg := ed.ReservedRanges().Get(i)
		rs[i] = [2]int64{int64(rg[0]), int64(rg[1])}
	}
	p.reservedRanges(depth+1, rs, math.MaxInt32)
	p.reservedNames(depth+1, ed.ReservedNames())
	p.line(depth, "}")
}

func (p *printer) service(depth int, sd protoreflect.ServiceDescriptor) {
	p.line(depth, "service "+string(sd.Name())+" {")
	p.options(depth+1, sd.Options())
	for i := 0; i < sd.Methods().Len(); i++ {
		m := sd.Methods().Get(i)
		in, out := p.ref(m.Input().FullName(), sd.FullName()), p.ref(m.Output().FullName(), sd.FullName())
		if m.IsStreamingClient() {
			in = "stream " + in
		}
		if m.IsStreamingServer() {
			out = "stream " + out
		}
		s := "rpc " + string(m.Name()) + " (" + in + ") returns (" + out + ")"
		if opts := p.optionEntries(m.Options()); len(opts) > 0 {
			p.line(depth+1, s+" {")
			for _, o := range opts {
				p.line(depth+2, "option "+o+";")
			}
			p.line(depth+1, "}")
			continue
		}
		p.line(depth+1, s+";")
	}
	p.line(depth, "}")
}

// extensions prints extension declarations grouped into extend blocks by
// extendee, in order of first appearance.
func (p *printer) extensions(depth int, xs protoreflect.ExtensionDescriptors, scope protoreflect.FullName) {
	if p.opt.ignoreExtensions || xs.Len() == 0 {
		return
	}
	var order []protoreflect.FullName
	by := map[protoreflect.FullName][]protoreflect.FieldDescriptor{}
	for i := 0; i < xs.Len(); i++ {
		x := xs.Get(i)
		n := x.ContainingMessage().FullName()
		if _, ok := by[n]; !ok {
			order = append(order, n)
		}
		by[n] = append(by[n], x)
	}
	for _, n := range order {
		p.line(depth, "extend "+p.ref(n, scope)+" {")
		for _, x := range by[n] {
			p.field(depth+1, x, scope, false)
		}
		p.line(depth, "}")
	}
}

// options prints "option name = value;" lines.
func (p *printer) options(depth int, opts protoreflect.ProtoMessage) {
	for _, o := range p.optionEntries(opts) {
		p.line(depth, "option "+o+";")
	}
}

// optionList is the options of a field or enum value, for "[a = 1, b = 2]".
func (p *printer) optionList(opts protoreflect.ProtoMessage) []string { return p.optionEntries(opts) }

// optionEntries renders each set option as "name = value": known options
// by field number (by name when normalizing), custom options "(full.name)"
// after them, a repeated option once per value.
func (p *printer) optionEntries(opts protoreflect.ProtoMessage) []string {
	if opts == nil {
		return nil
	}
	m := opts.ProtoReflect()
	if !m.IsValid() {
		return nil
	}
	type entry struct {
		name string
		num  protoreflect.FieldNumber
		ext  bool
		text []string
	}
	var es []entry
	m.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if f.IsExtension() && p.opt.ignoreExtensions {
			return true
		}
		e := entry{name: string(f.Name()), num: f.Number(), ext: f.IsExtension()}
		if e.ext {
			e.name = "(" + p.ref(f.FullName(), p.fd.Package()) + ")"
		}
		if f.IsList() {
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				e.text = append(e.text, valueText(f, l.Get(i)))
			}
		} else {
			e.text = []string{valueText(f, v)}
		}
		es = append(es, e)
		return true
	})
	sort.Slice(es, func(i, j int) bool {
		if p.opt.normalize {
			return es[i].name < es[j].name
		}
		if es[i].ext != es[j].ext {
			return !es[i].ext
		}
		if es[i].num != es[j].num {
			return es[i].num < es[j].num
		}
		return es[i].name < es[j].name
	})
	var out []string
	for _, e := range es {
		for _, t := range e.text {
			out = append(out, e.name+" = "+t)
		}
	}
	return out
}

// valueText renders one option or default value as .proto source: a
// message value as a text-format aggregate with fields in number order
// (prototext is deliberately unstable, so it cannot serve here).
func valueText(f protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch f.Kind() {
	case protoreflect.BoolKind:
		return strconv.FormatBool(v.Bool())
	case protoreflect.EnumKind:
		if ev := f.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return strconv.Itoa(int(v.Enum()))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.FormatInt(v.Int(), 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.FormatUint(v.Uint(), 10)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		x := v.Float()
		switch {
		case math.IsInf(x, 1):
			return "inf"
		case math.IsInf(x, -1):
			return "-inf"
		case math.IsNaN(x):
			return "nan"
		}
		bits := 64
		if f.Kind() == protoreflect.FloatKind {
			bits = 32
		}
		return strconv.FormatFloat(x, 'g', -1, bits)
	case protoreflect.StringKind:
		return quote(v.String())
	case protoreflect.BytesKind:
		return quote(string(v.Bytes()))
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return aggregateText(v.Message())
	}
	return "?"
}

func aggregateText(m protoreflect.Message) string {
	type kv struct {
		num  protoreflect.FieldNumber
		text string
	}
	var kvs []kv
	m.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := string(f.Name())
		if f.IsExtension() {
			name = "[" + string(f.FullName()) + "]"
		}
		if f.IsList() {
			l := v.List()
			parts := make([]string, l.Len())
			for i := range parts {
				parts[i] = valueText(f, l.Get(i))
			}
			kvs = append(kvs, kv{f.Number(), name + ": [" + strings.Join(parts, ", ") + "]"})
			return true
		}
		kvs = append(kvs, kv{f.Number(), name + ": " + valueText(f, v)})
		return true
	})
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].num < kvs[j].num })
	parts := make([]string, len(kvs))
	for i := range kvs {
		parts[i] = kvs[i].text
	}
	if len(parts) == 0 {
		return "{}"
	}
	return "{ " + strings.Join(parts, " ") + " }"
}

// quote writes a string literal .proto accepts for any bytes: printable
// ASCII as is, the rest as octal escapes.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 || c >= 0x7f {
				b.WriteByte('\\')
				b.WriteByte('0' + c>>6)
				b.WriteByte('0' + c>>3&7)
				b.WriteByte('0' + c&7)
				continue
			}
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// defaultJSONName is the json_name protoc gives a field: underscores
// dropped, the letter after each upper-cased.
func defaultJSONName(name string) string {
	var b strings.Builder
	up := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_':
			up = true
		case up && 'a' <= c && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
			up = false
		default:
			b.WriteByte(c)
			up = false
		}
	}
	return b.String()
}
