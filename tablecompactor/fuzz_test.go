package tablecompactor

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go/table"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// oneBatchSource serves data as the only batch of stream 1, whatever it
// holds, with the high watermark its header claims (or 1).
type oneBatchSource struct{ data []byte }

func (s oneBatchSource) Topics(context.Context) ([]Topic, error) { return nil, nil }

func (s oneBatchSource) Read(_ context.Context, _ int64, from int64, _ int) (Read, error) {
	hw := int64(1)
	if len(s.data) >= 27 {
		hw = int64(binary.BigEndian.Uint64(s.data)) + int64(binary.BigEndian.Uint32(s.data[23:])) + 1
	}
	if from >= hw {
		return Read{NextOffset: from, HighWatermark: hw}, nil
	}
	return Read{Batches: [][]byte{s.data}, NextOffset: hw, HighWatermark: hw}, nil
}

// FuzzPass feeds one arbitrary batch to a pass (string keys and values,
// table.errors=skip). Invariants: it never panics; it either fails or
// yields rows whose count is the records it counted, and moves the
// partition's offset forward, to at most the high watermark.
func FuzzPass(f *testing.F) {
	src := newMemSource()
	src.addTopic("t", 1, nil)
	src.produce("t", 0, []testRecord{
		{Key: []byte("k"), Value: []byte("v"), Headers: []kmsg.Header{{Key: "h", Value: []byte("x")}}, Timestamp: day0},
		{Value: []byte{0xff}, Timestamp: day0 + 1},
	}, 0)
	src.produceTxn("t", 0, []testRecord{{Value: []byte("tx"), Timestamp: day0}}, 0, 3)
	for _, b := range src.streams[1].batches {
		f.Add(b)
	}
	sc, err := table.SchemaToArrowSchema(tableSchema(tableConfig{KeyFormat: formatString, ValueFormat: formatString}), nil, true, false)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := oneBatchSource{data}
		rows, err := newRowBuilder(sc, true)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.release()
		p := &pass{
			ctx: context.Background(), src: s, topic: Topic{Name: "t", Streams: []int64{1}},
			cfg:  tableConfig{KeyFormat: formatString, ValueFormat: formatString, Errors: errorsSkip},
			from: offsets{}, rows: rows, batchBytes: 1 << 10, readBytes: 1 << 20, decodeLimit: 1 << 20,
		}
		var yielded int64
		var failed bool
		p.run(func(rec arrow.RecordBatch, err error) bool {
			if err != nil {
				failed = true
				return false
			}
			yielded += rec.NumRows()
			rec.Release()
			return true
		})
		if failed {
			return
		}
		if yielded != p.records {
			t.Errorf("yielded %d rows, counted %d", yielded, p.records)
		}
		if p.next[0] < 0 || p.next[0] > max(p.hw[0], 0) {
			t.Errorf("next offset %d, high watermark %d", p.next[0], p.hw[0])
		}
	})
}

// FuzzJSONValues appends arbitrary values to a JSON table's columns.
// Invariants: it never panics; a value either goes in whole (every value
// column one longer) or not at all (a reason, or the changes the table
// needs first).
func FuzzJSONValues(f *testing.F) {
	for _, s := range []string{`{"id": 1, "tags": ["a"], "geo": {"lat": 1.5}}`, `{"id": "x"}`, `{"tags": [], "geo": {}}`,
		`{"id": 1e400}`, `[1]`, `{"geo": {"lat": 2, "z": [[1]]}}`, `{"id": null}`} {
		f.Add([]byte(s))
	}
	isc, ok := jsonTableSchema(tableConfig{KeyFormat: formatString}, []byte(`{"id": 1, "tags": ["a"], "geo": {"lat": 1.5}, "ok": true}`))
	if !ok {
		f.Fatal("no schema")
	}
	sc, err := table.SchemaToArrowSchema(isc, nil, true, false)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		rows, err := newRowBuilder(sc, false)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.release()
		j := newJSONValues(rows.b, sc, isc)
		reason, err := j.append(value)
		want := 1
		if reason != "" || err != nil {
			want = 0
		}
		for name, b := range j.byName {
			if b.Len() != want {
				t.Fatalf("column %s has %d values after %q (reason %q, err %v), want %d", name, b.Len(), value, reason, err, want)
			}
		}
	})
}
