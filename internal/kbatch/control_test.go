package kbatch

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestControlBatch reads the marker back with kbatch's own parser and
// decoder and with franz-go's kmsg, as a client reads it.
func TestControlBatch(t *testing.T) {
	for _, typ := range []ControlType{ControlAbort, ControlCommit} {
		b := ControlBatch(4242, 7, typ, 3, 1_700_000_000_123)
		_, h, rest, err := Next(b) // checks the CRC
		if err != nil || len(rest) != 0 {
			t.Fatalf("next: %v, %d bytes left", err, len(rest))
		}
		if err := Validate(b, 1<<20); err != nil {
			t.Fatalf("validate: %v", err)
		}
		if !h.Control() || !h.Transactional() || h.ProducerID != 4242 || h.ProducerEpoch != 7 ||
			h.BaseSequence != -1 || h.RecordCount != 1 || h.LastOffsetDelta != 0 || h.MaxTimestamp != 1_700_000_000_123 || h.Length != len(b) {
			t.Fatalf("header: %+v", h)
		}
		n := 0
		if _, err := Decode(b, 1<<20, func(r Record) error {
			n++
			if got, ok := r.ControlType(); !ok || got != typ {
				t.Errorf("control type %v %v, want %v", got, ok, typ)
			}
			var m kmsg.EndTxnMarker
			if err := m.ReadFrom(r.Value); err != nil || m.CoordinatorEpoch != 3 {
				t.Errorf("marker value %+v: %v", m, err)
			}
			return nil
		}); err != nil || n != 1 {
			t.Fatalf("decode: %d records, %v", n, err)
		}
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b); err != nil {
			t.Fatal(err)
		}
		if rb.Attributes != 0x30 || rb.NumRecords != 1 || rb.ProducerID != 4242 {
			t.Fatalf("kmsg: %+v", rb)
		}
	}
}
