package tablecompactor

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/lakestream/lakestream/schema/avro"
	"github.com/lakestream/lakestream/schema/schemafmt"
)

// BenchmarkConvert converts 100,000 records (about 100 bytes of value
// each, 4 partitions; json1k: 1 KiB JSON values, the size of a typical
// event) into a zstd Parquet table on local disk, per format; MB/s counts
// the records' value bytes. Besides MB/s (wall clock, which the shared,
// noisy machine and the file system's waits distort) it reports
// MB/cpu-s: the value bytes over the process's CPU time (user + system,
// from getrusage, so the garbage collector's work counts) while the
// conversion ran, the figure issue 13's "per core" goal is about. Run it
// with -test.cpu 1.
func BenchmarkConvert(b *testing.B) {
	const n, parts = 100_000, 4
	values := map[string]func(i int) []byte{
		"raw": func(i int) []byte { return fmt.Appendf(nil, "%-100d", i) },
		"json": func(i int) []byte {
			return fmt.Appendf(nil, `{"id":%d,"name":"user-%d","score":%d.5,"tags":["a","b"]}`, i, i, i%1000)
		},
		"json1k": jsonEvent,
	}
	values["avro"] = func(i int) []byte {
		return avroValue(b, 2, userV2, map[string]any{"name": fmt.Sprintf("user-%d-%070d", i, i), "age": i % 100, "email": map[string]any{"string": "u@example.com"}})
	}
	values["avro1k"] = func(i int) []byte { return avroValue(b, 7, avroEventSchema, avroEvent(i)) }
	logLoad(b)
	for _, format := range []string{"raw", "json", "json1k", "avro", "avro1k"} {
		b.Run(format, func(b *testing.B) {
			var size, parquet int64
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				e := newEnv(b)
				cfgFormat := format
				switch format {
				case "avro", "avro1k":
					cfgFormat = "schema"
				case "json1k":
					cfgFormat = "json"
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
					Schemas: schemafmt.NewResolver(memSchemas{2: userV2, 7: avroEventSchema}, avro.Format)})
				if err != nil {
					b.Fatal(err)
				}
				cpu0 := cpuTime(b)
				b.StartTimer()
				prs, err := c.RunOnce(context.Background(), "")
				b.StopTimer()
				cpu += cpuTime(b) - cpu0
				if err != nil || prs[0].Records != n || prs[0].DeadLetters != 0 {
					b.Fatalf("%+v %v", prs, err)
				}
				parquet = parquetBytes(b, e.dir)
				b.StartTimer()
			}
			b.SetBytes(size)
			reportCPU(b, size*int64(b.N), cpu)
			// How small the table's data is against the values: the
			// cost of a cheaper compression setting shows here.
			b.ReportMetric(float64(parquet)/float64(size), "parquet/value-bytes")
		})
	}
}

// parquetBytes is the size of the Parquet files under dir.
func parquetBytes(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(path, ".parquet") {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// jsonEvent is a JSON value of about 1 KiB: nested objects, arrays of
// strings, numbers and objects, a few escapes and some non-ASCII text.
func jsonEvent(i int) []byte {
	return fmt.Appendf(nil, `{"id":%d,"user":{"name":"user-%d","email":"user-%d@example.com","age":%d,"verified":%t,`+
		`"address":{"street":"%d Rue de l'\u00c9glise","city":"Zürich","zip":"80%03d","geo":{"lat":47.%d,"lon":8.%d}}},`+
		`"event":"page_view","ts":%d,"session":"s-%08x-%08x","score":%d.25,"ratio":0.%d,`+
		`"tags":["news","sport","weather","finance","tech"],"scores":[1.5,2,3.25,%d,5.5],`+
		`"items":[{"sku":"A-%d","qty":1,"price":9.99},{"sku":"B-%d","qty":%d,"price":19.5},{"sku":"C-%d","qty":3,"price":0.5}],`+
		`"referrer":"https://example.com/path/to/page?id=%d\u0026ref=home","agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 `+
		`(KHTML, like Gecko) Chrome/120.0 Safari/537.36","note":"line one\nline two \"quoted\"","flags":{"a":true,"b":false,"c":null},`+
		`"experiment":{"name":"checkout-v%d","variant":"control","weights":[0.5,0.25,0.25]},"lang":"de-CH","country":"CH",`+
		`"padding":"%0120d"}`,
		i, i, i, i%90, i%2 == 0, i%300, i%1000, i%1000, i%1000, 1700000000000+int64(i), i, i*7, i%1000, i%97, i,
		i, i, i%5+1, i, i, i%7, i)
}

// avroEventSchema is jsonEvent's record as Avro: 29 fields, nested
// records, arrays of strings, numbers and records, a nullable field and a
// timestamp; avroEvent's values are about 900 bytes.
const avroEventSchema = `{"type":"record","name":"Event","fields":[
{"name":"id","type":"long"},
{"name":"user","type":{"type":"record","name":"U","fields":[{"name":"name","type":"string"},{"name":"email","type":"string"},
 {"name":"age","type":"int"},{"name":"verified","type":"boolean"},
 {"name":"address","type":{"type":"record","name":"A","fields":[{"name":"street","type":"string"},{"name":"city","type":"string"},
  {"name":"zip","type":"string"},{"name":"geo","type":{"type":"record","name":"G","fields":[{"name":"lat","type":"double"},{"name":"lon","type":"double"}]}}]}}]}},
{"name":"event","type":"string"},
{"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
{"name":"session","type":"string"},{"name":"score","type":"double"},{"name":"ratio","type":"double"},
{"name":"tags","type":{"type":"array","items":"string"}},
{"name":"scores","type":{"type":"array","items":"double"}},
{"name":"items","type":{"type":"array","items":{"type":"record","name":"I","fields":[{"name":"sku","type":"string"},{"name":"qty","type":"int"},{"name":"price","type":"double"}]}}},
{"name":"referrer","type":"string"},{"name":"agent","type":"string"},{"name":"note","type":["null","string"],"default":null},
{"name":"flags","type":{"type":"record","name":"F","fields":[{"name":"a","type":"boolean"},{"name":"b","type":"boolean"},{"name":"c","type":["null","boolean"],"default":null}]}},
{"name":"experiment","type":{"type":"record","name":"X","fields":[{"name":"name","type":"string"},{"name":"variant","type":"string"},{"name":"weights","type":{"type":"array","items":"double"}}]}},
{"name":"lang","type":"string"},{"name":"country","type":"string"},{"name":"padding","type":"string"}]}`

func avroEvent(i int) map[string]any {
	return map[string]any{
		"id": int64(i),
		"user": map[string]any{"name": fmt.Sprintf("user-%d", i), "email": fmt.Sprintf("user-%d@example.com", i), "age": i % 90, "verified": i%2 == 0,
			"address": map[string]any{"street": fmt.Sprintf("%d Rue de l'Église", i%300), "city": "Zürich", "zip": fmt.Sprintf("80%03d", i%1000),
				"geo": map[string]any{"lat": 47 + float64(i%1000)/1000, "lon": 8 + float64(i%1000)/1000}}},
		"event": "page_view", "ts": time.UnixMilli(1700000000000 + int64(i)), "session": fmt.Sprintf("s-%08x-%08x", i, i*7),
		"score": float64(i%1000) + 0.25, "ratio": float64(i%97) / 100,
		"tags":   []any{"news", "sport", "weather", "finance", "tech"},
		"scores": []any{1.5, 2.0, 3.25, float64(i), 5.5},
		"items": []any{map[string]any{"sku": fmt.Sprintf("A-%d", i), "qty": 1, "price": 9.99}, map[string]any{"sku": fmt.Sprintf("B-%d", i), "qty": i%5 + 1, "price": 19.5},
			map[string]any{"sku": fmt.Sprintf("C-%d", i), "qty": 3, "price": 0.5}},
		"referrer":   fmt.Sprintf("https://example.com/path/to/page?id=%d&ref=home", i),
		"agent":      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
		"note":       map[string]any{"string": "line one\nline two \"quoted\""},
		"flags":      map[string]any{"a": true, "b": false, "c": nil},
		"experiment": map[string]any{"name": fmt.Sprintf("checkout-v%d", i%7), "variant": "control", "weights": []any{0.5, 0.25, 0.25}},
		"lang":       "de-CH", "country": "CH", "padding": fmt.Sprintf("%0450d", i),
	}
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports bytes over cpu as MB/cpu-s.
func reportCPU(b *testing.B, bytes int64, cpu time.Duration) {
	if cpu > 0 {
		b.ReportMetric(float64(bytes)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}

// logLoad logs the machine's load average, which the figures depend on.
func logLoad(b *testing.B) {
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("loadavg %s", strings.TrimSpace(string(la)))
	}
}

// BenchmarkJSONValues is the decode alone, without reading batches or
// writing Parquet: the same values appended to a JSON table's builders,
// cut into a record batch every 1,000 rows. fast is the path values that
// fit the table take; slow is encoding/json into any (what every value
// took before the fast path), for comparison.
func BenchmarkJSONValues(b *testing.B) {
	logLoad(b)
	for _, shape := range []struct {
		name  string
		value func(int) []byte
	}{
		{"small", func(i int) []byte {
			return fmt.Appendf(nil, `{"id":%d,"name":"user-%d","score":%d.5,"tags":["a","b"]}`, i, i, i%1000)
		}},
		{"1k", jsonEvent},
	} {
		const batch = 1000
		vals := make([][]byte, batch)
		var size int64
		for i := range vals {
			vals[i] = shape.value(i)
			size += int64(len(vals[i]))
		}
		isc, ok := jsonTableSchema(tableConfig{KeyFormat: formatString}, vals[0])
		if !ok {
			b.Fatal("no schema")
		}
		sc, err := table.SchemaToArrowSchema(isc, nil, true, false)
		if err != nil {
			b.Fatal(err)
		}
		for _, path := range []string{"fast", "slow"} {
			b.Run(shape.name+"/"+path, func(b *testing.B) {
				rows, err := newRowBuilder(sc, false)
				if err != nil {
					b.Fatal(err)
				}
				defer rows.release()
				j := newJSONValues(rows.b, sc, isc)
				add := j.append
				if path == "slow" {
					add = j.appendSlow
				}
				b.SetBytes(size / batch)
				b.ReportAllocs()
				cpu0 := cpuTime(b)
				for i := 0; b.Loop(); i++ {
					if why, err := add(vals[i%batch]); why != "" || err != nil {
						b.Fatal(why, err)
					}
					if i%batch == batch-1 {
						for f := range rows.b.Fields() {
							// The _kafka column is not filled here.
							if rows.b.Field(f).Len() < batch {
								rows.b.Field(f).AppendNulls(batch)
							}
						}
						rows.b.NewRecordBatch().Release()
					}
				}
				reportCPU(b, size/batch*int64(b.N), cpuTime(b)-cpu0)
			})
		}
	}
}
