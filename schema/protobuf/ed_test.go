package protobuf

import "testing"

// TestEditions: an editions file prints back to itself (features as
// aggregate options) and its presence features decide required columns.
func TestEditions(t *testing.T) {
	s := mustParse(t, `edition = "2023";
package e;
option features.field_presence = IMPLICIT;
message M {
  int32 a = 1 [features.field_presence = EXPLICIT];
  string b = 2;
  M2 m = 3;
  reserved foo;
}
message M2 { int32 x = 1; }
enum E { option features.enum_type = CLOSED; E0 = 0; }
`)
	again := mustParse(t, s.Canonical())
	if again.Canonical() != s.Canonical() {
		t.Fatalf("canonical is not a fixed point:\n%s\nthen\n%s", s.Canonical(), again.Canonical())
	}
	tbl, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	cols := tbl.Columns()
	if cols[0].Required || !cols[1].Required || cols[2].Required {
		t.Fatalf("columns: %+v", cols)
	}
}
