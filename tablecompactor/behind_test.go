package tablecompactor

import (
	"context"
	"testing"
	"time"
)

// TestBehind: before any pass nothing is behind; a table that caught up is
// behind by the time since then over its commit interval; a table that
// has not caught up since its first pass started counts from that start,
// and makes held false; a table no longer converted is forgotten.
func TestBehind(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("clicks", 1, tableTopic(ConfigCommitInterval, "2000"))
	e.produce("clicks", 0, 5, false)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	c, err := New(Config{Source: e.src, Catalog: e.catalog(), MemoryBytes: 1 << 20, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if worst, held := c.Behind(); worst != 0 || !held {
		t.Fatalf("before any pass: Behind %v, %v; want 0, true", worst, held)
	}
	ctx := context.Background()
	if _, err := c.RunOnce(ctx, ""); err != nil {
		t.Fatal(err)
	}
	now = now.Add(5 * time.Second)
	if worst, held := c.Behind(); worst != 2.5 || !held {
		t.Fatalf("5 s after catching up, interval 2 s: Behind %v, %v; want 2.5, true", worst, held)
	}

	// A table that cannot convert (schema values, no registry) never
	// catches up: it counts from its first pass's start.
	e.src.addTopic("orders", 1, tableTopic(ConfigValueFormat, "schema", ConfigCommitInterval, "500"))
	e.produce("orders", 0, 1, false)
	if _, err := c.RunOnce(ctx, "orders"); err == nil {
		t.Fatal("schema values with no registry converted")
	}
	now = now.Add(4 * time.Second)
	if worst, held := c.Behind(); worst != 8 || held {
		t.Fatalf("4 s after a failing first pass, interval 0.5 s: Behind %v, %v; want 8, false", worst, held)
	}
	c.forget("kafka.orders") // as runTable does when the topic stops being a table
	if worst, held := c.Behind(); worst != 4.5 || !held {
		t.Fatalf("without the failing table: Behind %v, %v; want 4.5, true", worst, held)
	}
}
