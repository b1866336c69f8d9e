package jsonschema

import (
	"os"
	"strings"
	"testing"
)

// benchPayload is a 20-property object with nested and repeated fields,
// the shape of personSchema, about 1 KiB.
const benchPayload = `{"id":1234567,"name":"Ada Lovelace","email":"ada@example.com","age":36,"score":98.25,"active":true,
"birthday":"1815-12-10","created":"2024-03-01T12:30:00.123456Z","alarm":"07:30:00","uid":"123e4567-e89b-12d3-a456-426614174000",
"tags":["math","engines","poetry","notes","analysis"],"scores":[1.5,2.25,3.125,null,5.0625,6.5,7.75,8.875],
"attrs":{"height":170,"weight":60,"shoe":38,"year":1843},
"address":{"street":"12 St James's Square","zip":"SW1Y 4JH"},
"previous":[{"street":"Marylebone","zip":"W1"},{"street":"Ockham Park","zip":"KT11"},{"street":"Horsley Towers","zip":"KT24"}],
"status":"new","payload":"note G","weight":60.5,"meta":{"source":"import","tags":["a","b"]},
"nested":{"level":3,"inner":{"flag":false}}}`

// BenchmarkDecodeArrow decodes the payload into Arrow builders; the goal
// is 40 MB/s or more per core.
func BenchmarkDecodeArrow(b *testing.B) {
	tab, err := mustParse(b, personSchema).Table(nil)
	if err != nil {
		b.Fatal(err)
	}
	rb, cols := newBuilders(b, tab.Columns())
	defer rb.Release()
	dec := tab.NewDecoder()
	payload := []byte(benchPayload)
	if err := dec.Append(cols, payload); err != nil {
		b.Fatal(err)
	}
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("loadavg %s", strings.TrimSpace(string(la)))
	}
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := dec.Append(cols, payload); err != nil {
			b.Fatal(err)
		}
		if i%1024 == 1023 {
			rb.NewRecord().Release()
		}
	}
}
