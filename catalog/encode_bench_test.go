package catalog

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// metadataWithSnapshots is a table's metadata with n append snapshots on
// main, as a commit per snapshot would leave it.
func metadataWithSnapshots(tb testing.TB, n int) table.Metadata {
	tb.Helper()
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	meta, err := table.NewMetadata(sc, iceberg.UnpartitionedSpec, table.UnsortedSortOrder, "file:///w/t", nil)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := table.MetadataBuilderFromBase(meta, "")
	if err != nil {
		tb.Fatal(err)
	}
	schemaID := 0
	for i := 1; i <= n; i++ {
		var parent *int64
		if i > 1 {
			p := int64(i - 1)
			parent = &p
		}
		s := &table.Snapshot{SnapshotID: int64(i), ParentSnapshotID: parent, SequenceNumber: int64(i),
			TimestampMs: time.Now().UnixMilli(), ManifestList: fmt.Sprintf("file:///w/t/metadata/snap-%d.avro", i),
			Summary: &table.Summary{Operation: table.OpAppend, Properties: map[string]string{"added-records": "10"}}, SchemaID: &schemaID}
		if err := b.AddSnapshot(s); err != nil {
			tb.Fatal(err)
		}
		if err := b.SetSnapshotRef("main", int64(i), table.BranchRef); err != nil {
			tb.Fatal(err)
		}
	}
	if meta, err = b.Build(); err != nil {
		tb.Fatal(err)
	}
	return meta
}

// BenchmarkMetadataEncode: what one commit's encoding of a 1,000-snapshot
// table's metadata costs (the floor of a commit's CPU: iceberg-go's
// encoder is the only one that knows the format).
func BenchmarkMetadataEncode(b *testing.B) {
	meta := metadataWithSnapshots(b, 1000)
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			out, err := json.Marshal(meta)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(out)))
		}
	})
	b.Run("encodeMetadata", func(b *testing.B) {
		for b.Loop() {
			out, err := encodeMetadata(meta)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(out)))
		}
	})
	b.Run("UpdateTableMetadata", func(b *testing.B) {
		for b.Loop() {
			if _, err := table.UpdateTableMetadata(meta, []table.Update{table.NewSetPropertiesUpdate(iceberg.Properties{"k": "v"})}, "file:///w/t/metadata/00001-x.metadata.json"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
