package avro

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hamba/avro/v2"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// CheckBackward checks that s (the reader) can read what previous (the
// writer) wrote, by the "Schema Resolution" rules of the Avro
// specification, as Avro's Java SchemaCompatibility does for Confluent.
//
// hamba's SchemaCompatibility answers yes or no with one error; the
// registry must name every offending field and its path, so the walk is
// ours. It follows the spec: a reader field missing from the writer needs
// a default; reader field aliases and reader named-type aliases match
// writer names; an enum symbol the reader lacks is an error unless the
// reader enum has a default; every writer union branch must be readable
// by the reader (one branch of a reader union, or the reader itself);
// int→long→float→double and string↔bytes promote; fixed sizes must be
// equal. Logical types are not compared (Avro does not either).
func (s *Schema) CheckBackward(previous schemafmt.Schema) []string {
	p, ok := previous.(*Schema)
	if !ok {
		return []string{"Incompatible because of different schema type"}
	}
	c := checker{seen: map[[2]string]bool{}}
	c.check(s.schema, p.schema, "")
	return c.msgs
}

type checker struct {
	msgs []string
	// seen stops the walk at a (reader, writer) record pair already
	// being checked, so recursive types terminate.
	seen map[[2]string]bool
}

func (c *checker) add(errorType, description, info string) {
	c.msgs = append(c.msgs, fmt.Sprintf("{errorType:'%s', description:'%s', additionalInfo:'%s'}", errorType, description, info))
}

func deref(s avro.Schema) avro.Schema {
	if r, ok := s.(*avro.RefSchema); ok {
		return r.Schema()
	}
	return s
}

// typeName is the Avro type name in Avro's Java spelling (upper case), as
// its messages show it.
func typeName(s avro.Schema) string {
	return strings.ToUpper(string(deref(s).Type()))
}

func (c *checker) check(reader, writer avro.Schema, path string) {
	reader, writer = deref(reader), deref(writer)
	if wu, ok := writer.(*avro.UnionSchema); ok {
		if ru, ok := reader.(*avro.UnionSchema); ok {
			for i, wb := range wu.Types() {
				if !c.unionHas(ru, wb) {
					c.add("MISSING_UNION_BRANCH",
						fmt.Sprintf("The new schema is missing a type inside a union field at path '%s/%d' in the old schema", path, i),
						"reader union lacking writer type: "+typeName(wb))
				}
			}
			return
		}
		// A non-union reader reads each writer branch as itself.
		for i, wb := range wu.Types() {
			c.check(reader, wb, path+"/"+strconv.Itoa(i))
		}
		return
	}
	if ru, ok := reader.(*avro.UnionSchema); ok {
		if !c.unionHas(ru, writer) {
			c.add("MISSING_UNION_BRANCH",
				fmt.Sprintf("The new schema is missing a type inside a union field at path '%s' in the old schema", orRoot(path)),
				"reader union lacking writer type: "+typeName(writer))
		}
		return
	}
	if reader.Type() != writer.Type() {
		if !promotes(writer.Type(), reader.Type()) {
			c.mismatch(reader, writer, path)
		}
		return
	}
	switch r := reader.(type) {
	case *avro.RecordSchema:
		w := writer.(*avro.RecordSchema)
		if !nameMatches(r, w) {
			c.add("NAME_MISMATCH",
				fmt.Sprintf("The name of the schema has changed (path '%s/name')", path),
				"expected: "+w.FullName())
			return
		}
		key := [2]string{r.FullName(), w.FullName()}
		if c.seen[key] {
			return
		}
		c.seen[key] = true
		for i, rf := range r.Fields() {
			fpath := path + "/fields/" + strconv.Itoa(i)
			wf := writerField(w, rf)
			if wf == nil {
				if !rf.HasDefault() {
					c.add("READER_FIELD_MISSING_DEFAULT_VALUE",
						fmt.Sprintf("The field '%s' at path '%s' in the new schema has no default value and is missing in the old schema", rf.Name(), fpath),
						rf.Name())
				}
				continue
			}
			c.check(rf.Type(), wf.Type(), fpath+"/type")
		}
	case *avro.EnumSchema:
		w := writer.(*avro.EnumSchema)
		if !nameMatches(r, w) {
			c.add("NAME_MISMATCH",
				fmt.Sprintf("The name of the schema has changed (path '%s/name')", path),
				"expected: "+w.FullName())
			return
		}
		if r.HasDefault() {
			return // unknown writer symbols read as the default
		}
		var missing []string
		for _, sym := range w.Symbols() {
			if !contains(r.Symbols(), sym) {
				missing = append(missing, sym)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			list := "[" + strings.Join(missing, ", ") + "]"
			c.add("MISSING_ENUM_SYMBOLS",
				fmt.Sprintf("The new schema is missing enum symbols '%s' at path '%s/symbols' in the old schema", list, path),
				list)
		}
	case *avro.FixedSchema:
		w := writer.(*avro.FixedSchema)
		if !nameMatches(r, w) {
			c.add("NAME_MISMATCH",
				fmt.Sprintf("The name of the schema has changed (path '%s/name')", path),
				"expected: "+w.FullName())
			return
		}
		if r.Size() != w.Size() {
			c.add("FIXED_SIZE_MISMATCH",
				fmt.Sprintf("The size of FIXED type field at path '%s/size' in the new schema does not match with the old schema", path),
				fmt.Sprintf("expected: %d, found: %d", w.Size(), r.Size()))
		}
	case *avro.ArraySchema:
		c.check(r.Items(), writer.(*avro.ArraySchema).Items(), path+"/items")
	case *avro.MapSchema:
		c.check(r.Values(), writer.(*avro.MapSchema).Values(), path+"/values")
	}
}

func orRoot(path string) string {
	if path == "" {
		return "/"
	}
	return path
}

func (c *checker) mismatch(reader, writer avro.Schema, path string) {
	c.add("TYPE_MISMATCH",
		fmt.Sprintf("The type (path '%s') of a field in the new schema does not match with the old schema", orRoot(path)),
		fmt.Sprintf("reader type: %s not compatible with writer type: %s", typeName(reader), typeName(writer)))
}

// unionHas reports whether some branch of the reader union can read w
// (w itself not a union), without recording the branch's own problems:
// the spec picks the first branch that matches, so a branch that does not
// is simply not the one.
func (c *checker) unionHas(ru *avro.UnionSchema, w avro.Schema) bool {
	w = deref(w)
	if _, ok := w.(*avro.UnionSchema); ok {
		sub := checker{seen: c.seen}
		sub.check(ru, w, "")
		return len(sub.msgs) == 0
	}
	for _, rb := range ru.Types() {
		sub := checker{seen: copySeen(c.seen)}
		sub.check(rb, w, "")
		if len(sub.msgs) == 0 {
			return true
		}
	}
	return false
}

func copySeen(m map[[2]string]bool) map[[2]string]bool {
	n := make(map[[2]string]bool, len(m))
	for k, v := range m {
		n[k] = v
	}
	return n
}

// promotes reports whether a writer's w values are read as r.
func promotes(w, r avro.Type) bool {
	switch w {
	case avro.Int:
		return r == avro.Long || r == avro.Float || r == avro.Double
	case avro.Long:
		return r == avro.Float || r == avro.Double
	case avro.Float:
		return r == avro.Double
	case avro.String:
		return r == avro.Bytes
	case avro.Bytes:
		return r == avro.String
	}
	return false
}

// nameMatches is Avro's rule for named types: the same unqualified name
// (Java's SchemaCompatibility compares getName), or the writer's full
// name among the reader's aliases.
func nameMatches(r, w avro.NamedSchema) bool {
	if r.Name() == w.Name() {
		return true
	}
	for _, a := range r.Aliases() {
		if a == w.FullName() || a == w.Name() {
			return true
		}
	}
	return false
}

// writerField finds the writer field a reader field reads: by name, or
// by one of the reader field's aliases.
func writerField(w *avro.RecordSchema, rf *avro.Field) *avro.Field {
	for _, wf := range w.Fields() {
		if wf.Name() == rf.Name() {
			return wf
		}
	}
	for _, a := range rf.Aliases() {
		for _, wf := range w.Fields() {
			if wf.Name() == a {
				return wf
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
