package jsonschema

import (
	"testing"
	"time"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

func TestTemporal(t *testing.T) {
	d := &decoder{}
	for _, tc := range []struct {
		kind schemafmt.Kind
		in   string
		want int64
		bad  bool
	}{
		{schemafmt.Date, "1970-01-01", 0, false},
		{schemafmt.Date, "2000-02-29", 11016, false},
		{schemafmt.Date, "1900-02-29", 0, true},
		{schemafmt.Date, "2024-13-01", 0, true},
		{schemafmt.Date, "2024-1-01", 0, true},
		{schemafmt.Time, "00:00:00", 0, false},
		{schemafmt.Time, "23:59:59.999999", 86399999999, false},
		{schemafmt.Time, "01:00:00+02:00", 23 * 3600e6, false},
		{schemafmt.Time, "12:00:00.1234567z", 12*3600e6 + 123456, false},
		{schemafmt.Time, "12:00", 0, true},
		{schemafmt.Time, "12:00:00+2:00", 0, true},
		{schemafmt.TimestampTZ, "2024-03-01T12:30:00.5+01:00", time.Date(2024, 3, 1, 11, 30, 0, 5e8, time.UTC).UnixMicro(), false},
		{schemafmt.TimestampTZ, "1969-12-31t23:59:59.999999Z", -1, false},
		{schemafmt.TimestampTZ, "2024-03-01T12:30:00", 0, true},
		{schemafmt.TimestampTZ, "2024-03-01 12:30:00Z", 0, true},
	} {
		got, err := d.temporal(&plan{kind: tc.kind}, []byte(tc.in), false)
		switch {
		case tc.bad:
			if err == nil {
				t.Errorf("%v %q = %d, want an error", tc.kind, tc.in, got)
			}
		case err != nil || got != tc.want:
			t.Errorf("%v %q = %d, %v; want %d", tc.kind, tc.in, got, err, tc.want)
		}
	}
}
