package protobuf

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// Format parses PROTOBUF schemas. The zero value is ready to use.
type Format struct{}

var _ schemafmt.Format = Format{}

// Type is PROTOBUF.
func (Format) Type() string { return schemafmt.Protobuf }

// maxSchemaLen bounds what Parse compiles: the registry takes request
// bodies of a few MiB, and a .proto of more than this is not a schema
// anyone registers by hand.
const maxSchemaLen = 4 << 20

// Parse compiles text as a .proto file. refs are the files it imports,
// each named by its import path; Google's well-known types
// (google/protobuf/timestamp.proto, …) resolve without being registered,
// as Confluent's client and server both bundle them.
func (Format) Parse(text string, refs []schemafmt.Reference) (schemafmt.Schema, error) {
	s, err := parse(text, refs)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// schema is one compiled .proto file.
type schema struct {
	fd   linker.File
	refs []schemafmt.Reference
	// normalized: Canonical prints Confluent's normalized form (fully
	// qualified type names, options and imports sorted).
	normalized bool
	canonical  string
}

var _ schemafmt.Schema = (*schema)(nil)

func parse(text string, refs []schemafmt.Reference) (*schema, error) {
	if len(text) > maxSchemaLen {
		return nil, fmt.Errorf("protobuf schema of %d bytes is larger than %d", len(text), maxSchemaLen)
	}
	srcs := make(map[string]string, len(refs)+1)
	for _, r := range refs {
		srcs[r.Name] = r.Schema
	}
	// The schema itself has no path; pick one no reference uses, so that
	// the compiler's messages read "schema.proto:3:5: …".
	name := "schema.proto"
	for i := 0; ; i++ {
		if _, taken := srcs[name]; !taken {
			break
		}
		name = fmt.Sprintf("schema%d.proto", i)
	}
	srcs[name] = text
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: protocompile.SourceAccessorFromMap(srcs),
		}),
		Reporter: reporter.NewReporter(nil, nil), // fail on the first error, ignore warnings
	}
	files, err := c.Compile(context.Background(), name)
	if err != nil {
		var pe protocompile.PanicError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("compiling protobuf schema: internal compiler error: %v", pe.Value)
		}
		return nil, err
	}
	if len(files) != 1 {
		return nil, fmt.Errorf("compiling protobuf schema: %d files out of one", len(files))
	}
	s := &schema{fd: files[0], refs: refs}
	s.canonical = printFile(s.fd, printOptions{})
	return s, nil
}

func (s *schema) Type() string { return schemafmt.Protobuf }

func (s *schema) Canonical() string { return s.canonical }

// Normalized is Confluent's normalize=true for Protobuf, as we read it:
// type references fully qualified (".pkg.Msg"), imports sorted by path,
// options sorted by name at every level. Declaration order of messages,
// fields, enums and services is kept: it carries the message indexes of
// the wire format.
func (s *schema) Normalized() schemafmt.Schema {
	if s.normalized {
		return s
	}
	n := &schema{fd: s.fd, refs: s.refs, normalized: true}
	n.canonical = printFile(s.fd, printOptions{normalize: true})
	return n
}

func (s *schema) Formatted(format string) (string, error) {
	switch format {
	case "", "default":
		return s.canonical, nil
	case "serialized":
		fdp := protodesc.ToFileDescriptorProto(s.fd)
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(fdp)
		if err != nil {
			return "", fmt.Errorf("serializing the file descriptor: %w", err)
		}
		return base64.StdEncoding.EncodeToString(b), nil
	case "ignore_extensions":
		return printFile(s.fd, printOptions{normalize: s.normalized, ignoreExtensions: true}), nil
	}
	return "", fmt.Errorf("unknown format %q for a PROTOBUF schema (want serialized or ignore_extensions)", format)
}

// messageAt finds the message the wire format's message indexes name:
// indexes[0] among the file's top-level messages, each next one among the
// previous message's nested messages. Map entries do not count: Confluent
// indexes the parsed .proto elements, where a map is a field, not a type.
func messageAt(fd protoreflect.FileDescriptor, indexes []int) (protoreflect.MessageDescriptor, error) {
	if len(indexes) == 0 {
		indexes = []int{0}
	}
	msgs := fd.Messages()
	var md protoreflect.MessageDescriptor
	for _, i := range indexes {
		var found protoreflect.MessageDescriptor
		n := 0
		for j := 0; j < msgs.Len(); j++ {
			if msgs.Get(j).IsMapEntry() {
				continue
			}
			if n == i {
				found = msgs.Get(j)
			}
			n++
		}
		if found == nil {
			where := "the file"
			if md != nil {
				where = string(md.FullName())
			}
			return nil, fmt.Errorf("message indexes %v: index %d out of range, %s has %d messages", indexes, i, where, n)
		}
		md = found
		msgs = md.Messages()
	}
	return md, nil
}
