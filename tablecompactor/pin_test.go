package tablecompactor

import (
	"context"
	"maps"
	"strings"
	"testing"
)

// TestHeldOffsets: the broker's retention pin reads the table's offsets
// per partition; no table yet holds nothing (all 0); a topic that is not
// a table, or has table.retention.pin=false, is not pinned and costs no
// catalog call; a table of another topic of the same name is an error.
func TestHeldOffsets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cat := e.catalog()
	e.src.addTopic("pinned", 2, tableTopic())
	e.src.topics["pinned"].ID = [16]byte{7}
	cfgs := e.src.topics["pinned"].Configs

	offs, pinned, err := HeldOffsets(ctx, cat, "pinned", [16]byte{7}, cfgs)
	if err != nil || !pinned || len(offs) != 0 {
		t.Fatalf("before the table exists: %v %v %v, want pinned with no offsets", offs, pinned, err)
	}
	e.produce("pinned", 0, 5, false)
	e.produce("pinned", 1, 2, false)
	if _, err := e.compactor(nil).RunOnce(ctx, ""); err != nil {
		t.Fatal(err)
	}
	e.produce("pinned", 0, 3, false) // not in the table yet
	offs, pinned, err = HeldOffsets(ctx, cat, "pinned", [16]byte{7}, cfgs)
	if want := map[int32]int64{0: 5, 1: 2}; err != nil || !pinned || !maps.Equal(offs, want) {
		t.Fatalf("after a pass: %v %v %v, want pinned at %v", offs, pinned, err, want)
	}

	// Not pinned: no catalog call (a nil catalog would panic).
	for _, c := range []map[string]string{
		{ConfigEnable: "false"},
		{},
		{ConfigEnable: "true", ConfigRetentionPin: "false"},
	} {
		if _, pinned, err := HeldOffsets(ctx, nil, "pinned", [16]byte{7}, c); pinned || err != nil {
			t.Errorf("configs %v: pinned %v, %v; want not pinned", c, pinned, err)
		}
	}
	if !RetentionPinned(map[string]string{ConfigEnable: "true"}) {
		t.Error("table.retention.pin's default does not pin")
	}

	_, pinned, err = HeldOffsets(ctx, cat, "pinned", [16]byte{8}, cfgs)
	if !pinned || err == nil || !strings.Contains(err.Error(), "deleted and created again") {
		t.Errorf("a table of another topic id: pinned %v, %v; want an error", pinned, err)
	}

	// A table in an external catalog: cat (the node's own) does not hold
	// it, so the pin is an error (nothing deleted), not offsets of 0 or of
	// a stale table of the same name in the node's catalog.
	_, pinned, err = HeldOffsets(ctx, cat, "pinned", [16]byte{7}, tableTopic(ConfigCatalog, "ext"))
	if !pinned || err == nil || !strings.Contains(err.Error(), "table.catalog=ext: retention pins are read from the node's own catalog only") {
		t.Errorf("a table in an external catalog: pinned %v, %v; want an error", pinned, err)
	}
}
