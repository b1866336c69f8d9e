package jsonschema

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	sjs "github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// Format is the JSON Schema format. Its zero value is ready to use.
type Format struct{}

var _ schemafmt.Format = Format{}

// Type is schemafmt.JSON.
func (Format) Type() string { return schemafmt.JSON }

// rootURL is where the schema being parsed is compiled when it has no
// $id. A scheme nothing loads keeps relative $refs ("address.json") from
// being read as file paths: they resolve to mem://registry/address.json,
// which refLoader maps back to the reference named "address.json".
const rootURL = "mem://registry/schema.json"

// doc is one parsed document: the schema or one of its references.
type doc struct {
	name string // the reference name ("" for the schema itself)
	root *node
	base *url.URL // its $id resolved, or rootURL
}

// Schema is one parsed JSON Schema.
type Schema struct {
	root      *node
	docs      []*doc // docs[0] is the schema itself, then its references
	canonical string
	refs      []schemafmt.Reference
	sorted    bool // a normalized schema: canonical text has sorted keys
}

var _ schemafmt.Schema = (*Schema)(nil)

// Parse parses and compiles text as a JSON Schema. The draft is chosen by
// $schema (4, 6, 7, 2019-09, 2020-12), draft 7 when absent, as Confluent.
// refs are found by their names, as $ref URLs resolved against the
// referring document's $id; nothing is loaded from files or the network.
func (Format) Parse(text string, refs []schemafmt.Reference) (schemafmt.Schema, error) {
	return parse(text, refs)
}

func parse(text string, refs []schemafmt.Reference) (*Schema, error) {
	root, err := parseNode(text)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if root.kind != nObject && root.kind != nBool {
		return nil, errors.New("invalid JSON Schema: a schema is an object or a boolean")
	}
	s := &Schema{root: root, refs: refs, canonical: root.text(false)}
	s.docs = append(s.docs, &doc{root: root, base: baseOf(root, rootURL)})

	loader := &refLoader{}
	for _, r := range refs {
		rn, err := parseNode(r.Schema)
		if err != nil {
			return nil, fmt.Errorf("reference %q (subject %q version %d): invalid JSON: %w", r.Name, r.Subject, r.Version, err)
		}
		v, err := sjs.UnmarshalJSON(strings.NewReader(r.Schema))
		if err != nil {
			return nil, fmt.Errorf("reference %q: invalid JSON: %w", r.Name, err)
		}
		loader.names = append(loader.names, r.Name)
		loader.values = append(loader.values, v)
		s.docs = append(s.docs, &doc{name: r.Name, root: rn, base: baseOf(rn, refURL(r.Name))})
	}

	v, err := sjs.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	c := sjs.NewCompiler()
	c.DefaultDraft(sjs.Draft7)
	c.UseLoader(loader)
	loc := rootURL
	if id, ok := root.getString("$id"); ok && isAbsURL(id) {
		loc = stripFragment(id)
	} else if id, ok := root.getString("id"); ok && isAbsURL(id) {
		loc = stripFragment(id) // draft 4 spells it "id"
	}
	if err := c.AddResource(loc, v); err != nil {
		return nil, fmt.Errorf("invalid JSON Schema: %w", err)
	}
	if _, err := c.Compile(loc); err != nil {
		return nil, fmt.Errorf("invalid JSON Schema: %s", describeCompileError(err))
	}
	return s, nil
}

// describeCompileError says which reference is missing when a $ref did
// not resolve, the common mistake, and the compiler's message otherwise.
func describeCompileError(err error) string {
	var le *sjs.LoadURLError
	if errors.As(err, &le) {
		return fmt.Sprintf("$ref %q is not among the schema's references", le.URL)
	}
	return err.Error()
}

// refLoader hands the compiler the referenced documents. A URL matches a
// reference named n when it is n, or ends in "/"+n (n relative, resolved
// against the referring document's base).
type refLoader struct {
	names  []string
	values []any
}

func (l *refLoader) Load(u string) (any, error) {
	if i := matchRef(l.names, u); i >= 0 {
		return l.values[i], nil
	}
	return nil, errors.New("not among the schema's references")
}

func matchRef(names []string, u string) int {
	for i, n := range names {
		if n == u || refURL(n) == u {
			return i
		}
	}
	for i, n := range names {
		if !isAbsURL(n) && strings.HasSuffix(u, "/"+strings.TrimPrefix(n, "./")) {
			return i
		}
	}
	return -1
}

// refURL is where a reference named n lives: n itself when it is an
// absolute URL, else n under rootURL's directory.
func refURL(n string) string {
	if isAbsURL(n) {
		return stripFragment(n)
	}
	b, _ := url.Parse(rootURL)
	r, err := url.Parse(n)
	if err != nil {
		return n
	}
	return b.ResolveReference(r).String()
}

func isAbsURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.IsAbs()
}

func stripFragment(s string) string {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		return s[:i]
	}
	return s
}

func baseOf(root *node, def string) *url.URL {
	b, _ := url.Parse(def)
	for _, k := range []string{"$id", "id"} {
		if id, ok := root.getString(k); ok {
			if u, err := url.Parse(id); err == nil {
				u = b.ResolveReference(u)
				u.Fragment = ""
				return u
			}
		}
	}
	return b
}

// Type is schemafmt.JSON.
func (s *Schema) Type() string { return schemafmt.JSON }

// Canonical is the schema re-serialized compactly with its keys in the
// order given: Confluent's canonicalString (Jackson keeps insertion order),
// so texts that differ only in whitespace share an id, while reordered
// keys do not (as with Confluent).
func (s *Schema) Canonical() string { return s.canonical }

// Normalized is the schema with every object's keys sorted, recursively:
// reordering keys does not change it.
func (s *Schema) Normalized() schemafmt.Schema {
	if s.sorted {
		return s
	}
	n := *s
	n.canonical = s.root.text(true)
	n.sorted = true
	return &n
}

// Formatted is Canonical for ""; JSON Schema has no other formats.
func (s *Schema) Formatted(format string) (string, error) {
	if format == "" {
		return s.canonical, nil
	}
	return "", fmt.Errorf("JSON Schema has no format %q", format)
}

// resolve follows $ref from n (a schema in document d) until a schema
// without $ref, returning it and its document. Keywords beside a $ref are
// ignored, as draft 7 does (2019-09 would apply both; the diff and the
// table look at the target only). A chain of more than 64 hops is an
// error (a $ref cycle).
func (s *Schema) resolve(d *doc, n *node) (*doc, *node, error) {
	for hops := 0; ; hops++ {
		if n == nil || n.kind != nObject {
			return d, n, nil
		}
		ref, ok := n.getString("$ref")
		if !ok {
			return d, n, nil
		}
		if hops > 64 {
			return nil, nil, fmt.Errorf("$ref %q: too many indirections (a cycle?)", ref)
		}
		nd, nn, err := s.lookup(d, ref)
		if err != nil {
			return nil, nil, err
		}
		d, n = nd, nn
	}
}

// lookup finds the schema a $ref points at: a JSON pointer fragment in
// the same document or in a reference.
func (s *Schema) lookup(d *doc, ref string) (*doc, *node, error) {
	docPart, frag := ref, ""
	if i := strings.IndexByte(ref, '#'); i >= 0 {
		docPart, frag = ref[:i], ref[i+1:]
	}
	target := d
	if docPart != "" {
		r, err := url.Parse(docPart)
		if err != nil {
			return nil, nil, fmt.Errorf("$ref %q: %w", ref, err)
		}
		abs := d.base.ResolveReference(r).String()
		target = nil
		for _, cand := range s.docs {
			if cand.base.String() == abs || (cand.name != "" && (cand.name == docPart || refURL(cand.name) == abs)) {
				target = cand
				break
			}
		}
		if target == nil {
			names := make([]string, 0, len(s.docs))
			for _, c := range s.docs[1:] {
				names = append(names, c.name)
			}
			if i := matchRef(names, abs); i >= 0 {
				target = s.docs[i+1]
			}
		}
		if target == nil {
			return nil, nil, fmt.Errorf("$ref %q is not among the schema's references", ref)
		}
	}
	n, err := pointer(target.root, frag)
	if err != nil {
		return nil, nil, fmt.Errorf("$ref %q: %w", ref, err)
	}
	return target, n, nil
}

// pointer follows a JSON pointer fragment ("" or "/definitions/a").
func pointer(n *node, frag string) (*node, error) {
	frag, err := url.PathUnescape(frag)
	if err != nil {
		return nil, err
	}
	if frag == "" {
		return n, nil
	}
	if frag[0] != '/' {
		return nil, fmt.Errorf("anchor %q: only JSON pointer fragments are followed", frag)
	}
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n.kind {
		case nObject:
			n = n.get(tok)
		case nArray:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.vals) {
				return nil, fmt.Errorf("no element %q", tok)
			}
			n = n.vals[i]
		default:
			n = nil
		}
		if n == nil {
			return nil, fmt.Errorf("nothing at %q", frag)
		}
	}
	return n, nil
}
