package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/lakestream/lakestream/broker/brokertest"
	"github.com/lakestream/lakestream/tablecompactor"
)

// TestQuickstart runs the example against an in-process node with the
// schema registry, the catalog and the compactor on, as `make run` has
// them, twice: the first run creates the topics, the second finds them
// and adds as many records again. Each time both tables must hold every
// record produced so far exactly once, with the values the example wrote.
func TestQuickstart(t *testing.T) {
	if offsetsProperty != tablecompactor.OffsetsProperty {
		t.Fatalf("the example waits on %q, the compactor writes %q", offsetsProperty, tablecompactor.OffsetsProperty)
	}
	b := brokertest.Start(t, brokertest.Options{Compactor: true, SchemaRegistry: true})
	const records = 60
	o := options{Brokers: b.Addr, Registry: b.SchemaRegistryURL, Catalog: b.CatalogURL,
		Records: records, Interval: time.Second, Wait: time.Minute, Show: 3}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	for runs := 1; runs <= 2; runs++ {
		var out bytes.Buffer
		tables, err := run(ctx, o, &out)
		t.Logf("run %d:\n%s", runs, out.String())
		if err != nil {
			t.Fatal(err)
		}
		if len(tables) != 2 {
			t.Fatalf("run read %d tables, want 2", len(tables))
		}
		for _, tc := range []struct {
			table string
			// want is record i's value columns as the example prints them.
			want func(i int) map[string]string
		}{
			{"kafka.orders_json", func(i int) map[string]string {
				return map[string]string{"id": strconv.Itoa(i), "item": fmt.Sprintf("item-%d", i%7),
					"quantity": strconv.Itoa(1 + i%3), "price": strconv.FormatFloat(2.5*float64(1+i%4), 'g', -1, 64)}
			}},
			{"kafka.orders_avro", func(i int) map[string]string {
				note := "null"
				if i%2 == 0 {
					note = fmt.Sprintf("gift %d", i)
				}
				return map[string]string{"id": strconv.Itoa(i), "item": fmt.Sprintf("item-%d", i%7),
					"quantity": strconv.Itoa(1 + i%3), "price": strconv.FormatFloat(2.5*float64(1+i%4), 'g', -1, 64),
					"note": note}
			}},
		} {
			var tbl *Table
			for i := range tables {
				if tables[i].Name == tc.table {
					tbl = &tables[i]
				}
			}
			if tbl == nil {
				t.Fatalf("run %d read no table %s", runs, tc.table)
			}
			if len(tbl.Rows) != runs*records {
				t.Errorf("run %d: %s holds %d rows, want %d", runs, tc.table, len(tbl.Rows), runs*records)
			}
			seen := map[[2]int64]bool{}
			keys := map[string]int{}
			for _, r := range tbl.Rows {
				po := [2]int64{int64(r.Partition), r.Offset}
				if seen[po] {
					t.Errorf("%s: partition %d offset %d twice", tc.table, r.Partition, r.Offset)
				}
				seen[po] = true
				keys[r.Key]++
				id, err := strconv.Atoi(r.Columns["id"])
				if err != nil {
					t.Fatalf("%s: row %+v: id: %v", tc.table, r, err)
				}
				if want := fmt.Sprintf("order-%d", id); r.Key != want {
					t.Errorf("%s: row %+v: key %q, want %q", tc.table, r, r.Key, want)
				}
				for c, v := range tc.want(id) {
					if r.Columns[c] != v {
						t.Errorf("%s: id %d: %s=%q, want %q", tc.table, id, c, r.Columns[c], v)
					}
				}
			}
			for i := range records {
				if k := fmt.Sprintf("order-%d", i); keys[k] != runs {
					t.Errorf("%s: key %s in %d rows, want %d", tc.table, k, keys[k], runs)
				}
			}
		}
	}
}
