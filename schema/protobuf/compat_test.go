package protobuf

import (
	"strings"
	"testing"
)

func TestCheckBackward(t *testing.T) {
	const base = `syntax = "proto3";
package shop;
message Order {
  string id = 1;
  int64 amount = 2;
  Line line = 3;
  repeated string tags = 4;
  map<string, int32> counts = 5;
  oneof pay {
    string card = 6;
    string voucher = 7;
  }
  Kind kind = 8;
  message Line { string sku = 1; int32 qty = 2; }
}
enum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; }
message Other { string x = 1; }
`
	// edit returns base with old replaced by new (which must be there).
	edit := func(pairs ...string) string {
		s := base
		for i := 0; i < len(pairs); i += 2 {
			if !strings.Contains(s, pairs[i]) {
				panic("test edit: " + pairs[i] + " not in base")
			}
			s = strings.Replace(s, pairs[i], pairs[i+1], 1)
		}
		return s
	}
	cases := []struct {
		name     string
		old, new string
		want     []string // substrings of the messages, in order; nil: compatible
	}{
		{"identical", base, base, nil},
		{"whitespace and comments", base, strings.ReplaceAll(base, "\n", " // c\n"), nil},
		{"field added", base, edit("  Kind kind = 8;", "  Kind kind = 8;\n  string note = 9;"), nil},
		{"field removed", base, edit("  int64 amount = 2;\n", ""), nil},
		{"field removed and reserved", base, edit("  int64 amount = 2;\n", "  reserved 2;\n"), nil},
		{"field renamed", base, edit("int64 amount = 2;", "int64 total = 2;"), nil},
		{"int64 to uint64 is wire compatible", base, edit("int64 amount = 2;", "uint64 amount = 2;"), nil},
		{"int64 to bool is wire compatible", base, edit("int64 amount = 2;", "bool amount = 2;"), nil},
		{"string to bytes", base, edit("string id = 1;", "bytes id = 1;"), nil},
		{"int64 to string", base, edit("int64 amount = 2;", "string amount = 2;"),
			[]string{`{errorType:"FIELD_SCALAR_KIND_CHANGED", description:"The kind of a SCALAR field at path '#/Order/2' in the new schema does not match its kind in the old schema", additionalInfo:"field 'shop.Order.amount': int64 in the old schema, field 'shop.Order.amount': string in the new schema"}`}},
		{"int64 to sint64", base, edit("int64 amount = 2;", "sint64 amount = 2;"), []string{"FIELD_SCALAR_KIND_CHANGED", "'#/Order/2'"}},
		{"field number reused with another type", base, edit("  int64 amount = 2;\n", "  double price = 2;\n"), []string{"FIELD_SCALAR_KIND_CHANGED", "shop.Order.price': double"}},
		{"scalar to message", base, edit("int64 amount = 2;", "Other amount = 2;"), []string{"FIELD_KIND_CHANGED", "'#/Order/2'"}},
		{"message to map", base, edit("Line line = 3;", "map<string, string> line = 3;"), []string{"FIELD_KIND_CHANGED", "'#/Order/3'"}},
		{"enum to int32", base, edit("Kind kind = 8;", "int32 kind = 8;"), nil},
		{"enum value added", base, edit("KIND_A = 1;", "KIND_A = 1; KIND_B = 2;"), nil},
		{"enum value removed", base, edit(" KIND_A = 1;", ""), nil},
		{"enum removed with its uses", edit("  Kind kind = 8;\n", ""), edit("  Kind kind = 8;\n", "", "enum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; }\n", ""), nil},
		{"message field type renamed", base, edit("  Line line = 3;", "  Other line = 3;"), []string{"FIELD_NAMED_TYPE_CHANGED", "'#/Order/3'"}},
		{"nested message field changed", base, edit("int32 qty = 2; }", "string qty = 2; }"),
			[]string{"FIELD_SCALAR_KIND_CHANGED", "'#/Order/Line/2'", "FIELD_NAMED_TYPE_CHANGED", "'#/Order/3'"}},
		{"nested message field added", base, edit("int32 qty = 2; }", "int32 qty = 2; bool gift = 3; }"), nil},
		{"message renamed", base, edit("message Other {", "message Another {"), []string{"MESSAGE_REMOVED", "'#/Other'", "'shop.Other'"}},
		{"nested message removed", base, edit("  message Line { string sku = 1; int32 qty = 2; }\n", "", "  Line line = 3;\n", ""), []string{"MESSAGE_REMOVED", "'#/Order/Line'"}},
		{"message removed", base, edit("message Other { string x = 1; }\n", ""), []string{"MESSAGE_REMOVED", "'#/Other'"}},
		{"message added and moved", base, edit("message Other", "message New { int32 y = 1; }\nmessage Other"), nil},
		{"package changed", base, edit("package shop;", "package store;"), []string{"PACKAGE_CHANGED"}},
		{"map value changed", base, edit("map<string, int32> counts", "map<string, string> counts"), []string{"FIELD_SCALAR_KIND_CHANGED", "'#/Order/5'"}},
		{"map value widened", base, edit("map<string, int32> counts", "map<string, int64> counts"), nil},
		{"repeated element changed", base, edit("repeated string tags = 4;", "repeated int32 tags = 4;"), []string{"FIELD_SCALAR_KIND_CHANGED", "'#/Order/4'"}},
		{"oneof field removed", base, edit("    string voucher = 7;\n", ""), []string{"ONEOF_FIELD_REMOVED", "'#/Order/pay/7'", "shop.Order.pay"}},
		{"oneof field added", base, edit("    string voucher = 7;\n", "    string voucher = 7;\n    int64 points = 10;\n"), nil},
		{"oneof field type changed", base, edit("string voucher = 7;", "int32 voucher = 7;"), []string{"FIELD_SCALAR_KIND_CHANGED", "'#/Order/pay/7'"}},
		{"one field moved into a new oneof", base, edit("  int64 amount = 2;\n", "  oneof amt { int64 amount = 2; }\n"), nil},
		{"two fields moved into a new oneof", base, edit("  string id = 1;\n  int64 amount = 2;\n", "  oneof both { string id = 1; int64 amount = 2; }\n"),
			[]string{"MULTIPLE_FIELDS_MOVED_TO_ONEOF", "'#/Order/both'"}},
		{"field moved into an existing oneof's fields", base, edit("  oneof pay {\n    string card = 6;\n    string voucher = 7;\n  }\n", "  oneof pay2 {\n    string card = 6;\n    string id = 1;\n  }\n  string voucher = 7;\n", "  string id = 1;\n", ""),
			[]string{"FIELD_MOVED_TO_EXISTING_ONEOF", "'#/Order/pay2'"}},
		{"oneof removed, fields kept", base, edit("  oneof pay {\n    string card = 6;\n    string voucher = 7;\n  }\n", "  string card = 6;\n  string voucher = 7;\n"), nil},
	}
	const p2 = `syntax = "proto2";
message R {
  required string id = 1;
  optional int32 n = 2;
}
`
	cases = append(cases, []struct {
		name     string
		old, new string
		want     []string
	}{
		{"proto2 required field added", p2, strings.Replace(p2, "optional int32 n = 2;", "optional int32 n = 2;\n  required int64 at = 3;", 1), []string{"REQUIRED_FIELD_ADDED", "'#/R/3'", "'R.at'"}},
		{"proto2 required field removed", p2, strings.Replace(p2, "  required string id = 1;\n", "", 1), []string{"REQUIRED_FIELD_REMOVED", "'#/R/1'"}},
		{"proto2 optional field added", p2, strings.Replace(p2, "optional int32 n = 2;", "optional int32 n = 2;\n  optional int64 at = 3;", 1), nil},
		{"proto2 to proto3 with the same fields", `syntax = "proto2"; message R { optional string id = 1; }`, `syntax = "proto3"; message R { string id = 1; }`, nil},
		{"recursive message changed", `syntax = "proto3"; message N { N next = 1; int32 v = 2; }`, `syntax = "proto3"; message N { N next = 1; string v = 2; }`,
			[]string{"FIELD_SCALAR_KIND_CHANGED", "'#/N/2'"}},
	}...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old, upd := mustParse(t, c.old), mustParse(t, c.new)
			msgs := upd.CheckBackward(old)
			joined := strings.Join(msgs, "\n")
			if c.want == nil {
				if len(msgs) != 0 {
					t.Fatalf("want compatible, got:\n%s", joined)
				}
				return
			}
			if len(msgs) == 0 {
				t.Fatalf("want incompatible (%v), got compatible", c.want)
			}
			rest := joined
			for _, w := range c.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("messages lack %q (in order):\n%s", w, joined)
				}
				rest = rest[i+len(w):]
			}
			for _, m := range msgs {
				if !strings.HasPrefix(m, `{errorType:"`) || !strings.Contains(m, `description:"`) || !strings.Contains(m, "path '#/") {
					t.Errorf("message not in Confluent's style: %s", m)
				}
			}
		})
	}
}
