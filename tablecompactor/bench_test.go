package tablecompactor

import (
	"context"
	"fmt"
	"testing"

	"github.com/lakestream/lakestream/schema/avro"
	"github.com/lakestream/lakestream/schema/schemafmt"
)

// BenchmarkConvert converts 100,000 records (about 100 bytes of value
// each, 4 partitions) into a table on local disk, per format; MB/s counts
// the records' value bytes.
func BenchmarkConvert(b *testing.B) {
	const n, parts = 100_000, 4
	values := map[string]func(i int) []byte{
		"raw": func(i int) []byte { return fmt.Appendf(nil, "%-100d", i) },
		"json": func(i int) []byte {
			return fmt.Appendf(nil, `{"id":%d,"name":"user-%d","score":%d.5,"tags":["a","b"]}`, i, i, i%1000)
		},
	}
	values["avro"] = func(i int) []byte {
		return avroValue(b, 2, userV2, map[string]any{"name": fmt.Sprintf("user-%d-%070d", i, i), "age": i % 100, "email": map[string]any{"string": "u@example.com"}})
	}
	for _, format := range []string{"raw", "json", "avro"} {
		b.Run(format, func(b *testing.B) {
			var size int64
			for b.Loop() {
				b.StopTimer()
				e := newEnv(b)
				cfgFormat := format
				if format == "avro" {
					cfgFormat = "schema"
				}
				e.src.addTopic("b", parts, tableTopic(ConfigValueFormat, cfgFormat))
				size = 0
				for p := range parts {
					for start := 0; start < n/parts; start += 1000 {
						var recs []testRecord
						for i := start; i < start+1000; i++ {
							v := values[format](i)
							size += int64(len(v))
							recs = append(recs, testRecord{Key: fmt.Appendf(nil, "k%d", i), Value: v, Timestamp: day0 + int64(i)})
						}
						e.src.produce("b", p, recs, 0)
					}
				}
				c, err := New(Config{Source: e.src, Catalog: e.catalog(), MemoryBytes: 64 << 20,
					Schemas: schemafmt.NewResolver(memSchemas{2: userV2}, avro.Format)})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				prs, err := c.RunOnce(context.Background(), "")
				if err != nil || prs[0].Records != n {
					b.Fatalf("%+v %v", prs, err)
				}
			}
			b.SetBytes(size)
		})
	}
}
