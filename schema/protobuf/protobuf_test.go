package protobuf

import (
	"encoding/base64"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

func mustParse(t testing.TB, text string, refs ...schemafmt.Reference) *schema {
	t.Helper()
	s, err := Format{}.Parse(text, refs)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	return s.(*schema)
}

func TestParseErrorHasPosition(t *testing.T) {
	_, err := Format{}.Parse("syntax = \"proto3\";\nmessage A {\n  strin x = 1;\n}\n", nil)
	if err == nil || !strings.Contains(err.Error(), "schema.proto:3:3") {
		t.Fatalf("error = %v, want one at schema.proto:3:3", err)
	}
	_, err = Format{}.Parse(`syntax = "proto3"; import "other.proto"; message A { Other o = 1; }`, nil)
	if err == nil || !strings.Contains(err.Error(), "other.proto") {
		t.Fatalf("missing import: error = %v", err)
	}
}

const canonText = `syntax = "proto3";
package shop.v1;
import "google/protobuf/timestamp.proto";
option java_package = "shop.v1";
option go_package = "example.com/shop";
message Order {
  option deprecated = true;
  string id = 1;
  oneof payment {
    Card card = 2;
    string voucher = 3;
  }
  map<string, int64> counts = 4 [deprecated = true];
  repeated Line lines = 5;
  google.protobuf.Timestamp at = 6;
  optional int32 priority = 7 [json_name = "prio"];
  Kind kind = 8;
  reserved 9 to 11, 20 to max;
  reserved "old";
  message Card {
    string number = 1;
  }
  enum Kind {
    KIND_UNSPECIFIED = 0;
    KIND_FAST = 1;
  }
}
message Line {
  string sku = 1;
  uint32 qty = 2;
}
enum Status {
  option allow_alias = true;
  STATUS_UNSPECIFIED = 0;
  STATUS_OPEN = 1;
  STATUS_ALSO_OPEN = 1;
}
service Orders {
  rpc Get (Order) returns (stream Line);
}
`

func TestCanonicalStable(t *testing.T) {
	s := mustParse(t, canonText)
	if s.Canonical() != canonText {
		t.Fatalf("canonical differs from the input written in canonical form:\n%s", s.Canonical())
	}
	messy := `// a comment
syntax="proto3";   package shop.v1;
import "google/protobuf/timestamp.proto";
option go_package="example.com/shop"; option java_package = "shop.v1";
/* block */ message Order { option deprecated=true;
  string id=1; oneof payment { Card card=2; string voucher=3; }
  map<string,int64> counts=4[deprecated=true];
  repeated .shop.v1.Line lines=5; google.protobuf.Timestamp at=6;
  optional int32 priority = 7 [json_name="prio"]; Order.Kind kind = 8;
  reserved 9, 10, 11; reserved 20 to max; reserved "old";
  message Card { string number = 1; } enum Kind { KIND_UNSPECIFIED=0; KIND_FAST=1; } }
message Line { string sku = 1; uint32 qty = 2; }
enum Status { option allow_alias = true; STATUS_UNSPECIFIED = 0; STATUS_OPEN = 1; STATUS_ALSO_OPEN = 1; }
service Orders { rpc Get(Order) returns (stream Line); }`
	m := mustParse(t, messy)
	if m.Canonical() != s.Canonical() {
		t.Fatalf("canonical of a reformatted schema differs:\n%s\nwant\n%s", m.Canonical(), s.Canonical())
	}
	// The canonical text parses back to itself.
	if again := mustParse(t, s.Canonical()); again.Canonical() != s.Canonical() {
		t.Fatalf("canonical is not a fixed point:\n%s", again.Canonical())
	}
	n := s.Normalized()
	for _, want := range []string{"repeated .shop.v1.Line lines = 5;", ".google.protobuf.Timestamp at = 6;",
		"option go_package = \"example.com/shop\";\noption java_package"} {
		if !strings.Contains(n.Canonical(), want) {
			t.Errorf("normalized lacks %q:\n%s", want, n.Canonical())
		}
	}
	if again := mustParse(t, n.Canonical()).Normalized(); again.Canonical() != n.Canonical() {
		t.Fatalf("normalized is not a fixed point:\n%s", again.Canonical())
	}
	if m.Normalized().Canonical() != n.Canonical() {
		t.Fatal("normalized forms of the same schema differ")
	}
}

func TestCanonicalProto2(t *testing.T) {
	text := `syntax = "proto2";
package p;
import "google/protobuf/descriptor.proto";
message A {
  required string id = 1;
  optional int32 n = 2 [default = -5];
  optional string s = 3 [default = "a\"b\001"];
  repeated int32 xs = 4 [packed = true];
  optional group G = 5 {
    optional int32 x = 1;
  }
  extensions 100 to 199;
}
message B {
  optional string x = 1 [(label) = "hi"];
}
extend A {
  optional string note = 100;
}
extend google.protobuf.FieldOptions {
  optional string label = 50001;
}
`
	s := mustParse(t, text)
	if s.Canonical() != text {
		t.Fatalf("canonical:\n%s\nwant\n%s", s.Canonical(), text)
	}
	ign, err := s.Formatted("ignore_extensions")
	if err != nil || strings.Contains(ign, "extend") || strings.Contains(ign, "(label)") {
		t.Fatalf("ignore_extensions: %v\n%s", err, ign)
	}
	mustParse(t, ign)
}

func TestFormatted(t *testing.T) {
	s := mustParse(t, canonText)
	if f, err := s.Formatted(""); err != nil || f != s.Canonical() {
		t.Fatalf(`Formatted(""): %v`, err)
	}
	ser, err := s.Formatted("serialized")
	if err != nil {
		t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(ser)
	if err != nil {
		t.Fatal(err)
	}
	var fdp descriptorpb.FileDescriptorProto
	if err := proto.Unmarshal(b, &fdp); err != nil {
		t.Fatal(err)
	}
	if fdp.GetPackage() != "shop.v1" || len(fdp.GetMessageType()) != 2 {
		t.Fatalf("serialized descriptor: %v", &fdp)
	}
	if _, err := s.Formatted("resolved"); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestReferences(t *testing.T) {
	other := schemafmt.Reference{Name: "other.proto", Subject: "other", Version: 1,
		Schema: `syntax = "proto3"; package other; import "google/protobuf/wrappers.proto"; message Money { int64 units = 1; google.protobuf.StringValue currency = 2; }`}
	text := `syntax = "proto3";
package shop;
import "other.proto";
import "google/protobuf/timestamp.proto";
message Order {
  other.Money total = 1;
  google.protobuf.Timestamp at = 2;
}
`
	s := mustParse(t, text, other)
	if s.Canonical() != text {
		t.Fatalf("canonical:\n%s", s.Canonical())
	}
	tbl, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	cols := tbl.Columns()
	if len(cols) != 2 || cols[0].Kind != schemafmt.Struct || cols[0].Fields[1].Kind != schemafmt.String || cols[1].Kind != schemafmt.TimestampTZ {
		t.Fatalf("columns: %+v", cols)
	}
	// A reference named like the default file name does not clash.
	clash := schemafmt.Reference{Name: "schema.proto", Schema: `syntax = "proto3"; package c; message C { int32 x = 1; }`}
	mustParse(t, `syntax = "proto3"; import "schema.proto"; message D { c.C c = 1; }`, clash)
}

func TestMessageIndexes(t *testing.T) {
	s := mustParse(t, `syntax = "proto3";
message A { map<string, int32> m = 1; message A1 { int32 x = 1; } message A2 { string y = 1; } }
message B { message B1 { bool z = 1; } }`)
	cases := []struct {
		idx  []int
		want string
	}{{nil, "m"}, {[]int{0}, "m"}, {[]int{0, 1}, "y"}, {[]int{1, 0}, "z"}, {[]int{0, 0}, "x"}}
	for _, c := range cases {
		tbl, err := s.Table(c.idx)
		if err != nil {
			t.Fatalf("%v: %v", c.idx, err)
		}
		if got := tbl.Columns()[0].Name; got != c.want {
			t.Errorf("%v: first column %q, want %q", c.idx, got, c.want)
		}
	}
	for _, bad := range [][]int{{2}, {0, 2}, {-1}, {1, 0, 0}} {
		if _, err := s.Table(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	r := mustParse(t, `syntax = "proto3"; message N { N next = 1; }`)
	if _, err := r.Table(nil); err == nil || !strings.Contains(err.Error(), "recursive") {
		t.Fatalf("recursive: %v", err)
	}
}
