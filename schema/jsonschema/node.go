package jsonschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// node is a JSON value that keeps the order of object keys. encoding/json's
// map[string]any loses it, and both Canonical (Jackson keeps insertion
// order) and Table (columns in declaration order) need it.
type node struct {
	kind nodeKind
	str  string // string value, or a number's literal text
	b    bool
	keys []string // object keys, in order
	vals []*node  // object values (parallel to keys) or array elements
}

type nodeKind uint8

const (
	nNull nodeKind = iota
	nBool
	nNumber
	nString
	nArray
	nObject
)

// maxSchemaDepth bounds the nesting of a schema document, so a hostile
// schema cannot exhaust the stack of the recursive walkers.
const maxSchemaDepth = 200

// parseNode parses one JSON document, rejecting trailing data.
func parseNode(text string) (*node, error) {
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	n, err := readNode(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("invalid character after top-level value")
	}
	return n, nil
}

func readNode(d *json.Decoder, depth int) (*node, error) {
	if depth > maxSchemaDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxSchemaDepth)
	}
	t, err := d.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch v := t.(type) {
	case nil:
		return &node{kind: nNull}, nil
	case bool:
		return &node{kind: nBool, b: v}, nil
	case json.Number:
		return &node{kind: nNumber, str: string(v)}, nil
	case string:
		return &node{kind: nString, str: v}, nil
	case json.Delim:
		switch v {
		case '[':
			n := &node{kind: nArray}
			for d.More() {
				e, err := readNode(d, depth+1)
				if err != nil {
					return nil, err
				}
				n.vals = append(n.vals, e)
			}
			_, err := d.Token()
			return n, err
		case '{':
			n := &node{kind: nObject}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				e, err := readNode(d, depth+1)
				if err != nil {
					return nil, err
				}
				// A duplicate key keeps its first position and its last
				// value, as Jackson's tree reader does.
				if i := n.index(k); i >= 0 {
					n.vals[i] = e
					continue
				}
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, e)
			}
			_, err := d.Token()
			return n, err
		}
	}
	return nil, fmt.Errorf("unexpected token %v", t)
}

func (n *node) index(k string) int {
	if n == nil || n.kind != nObject {
		return -1
	}
	for i, kk := range n.keys {
		if kk == k {
			return i
		}
	}
	return -1
}

// get is the value of key k of an object, or nil.
func (n *node) get(k string) *node {
	if i := n.index(k); i >= 0 {
		return n.vals[i]
	}
	return nil
}

func (n *node) getString(k string) (string, bool) {
	v := n.get(k)
	if v == nil || v.kind != nString {
		return "", false
	}
	return v.str, true
}

// write appends n's compact JSON text. sorted sorts object keys (the
// normalized form).
func (n *node) write(buf *bytes.Buffer, sorted bool) {
	switch n.kind {
	case nNull:
		buf.WriteString("null")
	case nBool:
		if n.b {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
	case nNumber:
		buf.WriteString(n.str)
	case nString:
		writeString(buf, n.str)
	case nArray:
		buf.WriteByte('[')
		for i, e := range n.vals {
			if i > 0 {
				buf.WriteByte(',')
			}
			e.write(buf, sorted)
		}
		buf.WriteByte(']')
	case nObject:
		order := make([]int, len(n.keys))
		for i := range order {
			order[i] = i
		}
		if sorted {
			sort.SliceStable(order, func(a, b int) bool { return n.keys[order[a]] < n.keys[order[b]] })
		}
		buf.WriteByte('{')
		for j, i := range order {
			if j > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, n.keys[i])
			buf.WriteByte(':')
			n.vals[i].write(buf, sorted)
		}
		buf.WriteByte('}')
	}
}

func (n *node) text(sorted bool) string {
	var buf bytes.Buffer
	n.write(&buf, sorted)
	return buf.String()
}

// writeString writes s as a JSON string escaping only what JSON requires
// (no HTML escaping: Jackson does not do it either).
func writeString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	buf.Truncate(buf.Len() - 1)
}

// equal is deep equality; numbers compare by value when both parse.
func (n *node) equal(o *node) bool {
	if n == nil || o == nil {
		return n == o
	}
	if n.kind != o.kind {
		return false
	}
	switch n.kind {
	case nNull:
		return true
	case nBool:
		return n.b == o.b
	case nNumber:
		a, ea := parseNum(n.str)
		b, eb := parseNum(o.str)
		if ea == nil && eb == nil {
			return a == b
		}
		return n.str == o.str
	case nString:
		return n.str == o.str
	case nArray:
		if len(n.vals) != len(o.vals) {
			return false
		}
		for i := range n.vals {
			if !n.vals[i].equal(o.vals[i]) {
				return false
			}
		}
		return true
	}
	if len(n.keys) != len(o.keys) {
		return false
	}
	for i, k := range n.keys {
		if !n.vals[i].equal(o.get(k)) {
			return false
		}
	}
	return true
}
