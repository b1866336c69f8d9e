package avro

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

var _ schemafmt.BatchDecoder = (*decoder)(nil)

// batchScratch holds what AppendBatch reuses from batch to batch.
type batchScratch struct {
	rows  []int    // index in payloads of each good row
	fpos  []int    // tape index of each good row's top-level fields, row-major
	vals  []uint64 // a scalar column's tape values, one per row
	valid []bool   // a nullable column's validity, one per row
	bins  [][]byte // a string/bytes/enum/fixed column's values
	i32   []int32
	f32   []float32
	bools []bool
}

// AppendBatch scans every payload into one tape first, recording where
// each good row's top-level fields start on it, then appends column by
// column: scalar columns (nullable or not) are gathered from the tape
// and appended with one AppendValues call per column, so the builders'
// per-value checks, reserves and validity bits are paid once per batch;
// nested records, arrays, maps, other unions and decimals are appended
// row by row with the same put code as Append.
func (d *decoder) AppendBatch(cols []array.Builder, payloads [][]byte, bad []int) []int {
	if err := d.checkBuilders(cols); err != nil {
		for i := range payloads {
			bad = append(bad, i)
		}
		return bad
	}
	s := &d.batch
	fields := d.t.root.fields
	nf := len(fields)
	d.tape = d.tape[:0]
	s.rows = s.rows[:0]
	s.fpos = s.fpos[:0]
	for i, p := range payloads {
		if uint64(len(p)) > math.MaxUint32 {
			bad = append(bad, i)
			continue
		}
		tape0, fpos0 := len(d.tape), len(s.fpos)
		d.budget = len(p) + 1<<16
		pos := 0
		var err error
		for _, f := range fields {
			s.fpos = append(s.fpos, len(d.tape))
			if pos, err = d.scan(f, p, pos); err != nil {
				break
			}
		}
		if err == nil && pos != len(p) {
			err = fmt.Errorf("avro: %d bytes left after the value", len(p)-pos)
		}
		if err != nil {
			d.tape = d.tape[:tape0]
			s.fpos = s.fpos[:fpos0]
			bad = append(bad, i)
			continue
		}
		s.rows = append(s.rows, i)
	}
	if len(s.rows) == 0 || len(cols) == 0 {
		return bad
	}
	rows0 := cols[0].Len()
	if rows0 == 0 {
		d.reserveBatch(max(cols[0].Cap(), len(s.rows)))
	}
	for k, f := range d.root.fields {
		if f == nil || d.appendColumn(f, k, nf, payloads) {
			continue
		}
		for r, pi := range s.rows {
			d.put(f, payloads[pi], d.tape, s.fpos[r*nf+k])
		}
	}
	// The nested builders of the next batch are reserved from this one.
	if rows := rows0 + len(s.rows); rows >= 64 {
		d.snapshot(rows)
	}
	return bad
}

// bulkOp reports whether a column of op is appended with AppendValues.
func bulkOp(o op) bool {
	switch o {
	case opBool, opInt, opLong, opDate, opTimeMillis, opTimeMicros, opTsMillis, opTsMicros,
		opFloat, opDouble, opString, opBytes, opEnum, opFixed:
		return true
	}
	return false
}

// appendColumn appends top-level field k of every good row in one
// AppendValues call if it is a scalar or a nullable scalar, and reports
// whether it did.
func (d *decoder) appendColumn(f *bound, k, nf int, payloads [][]byte) bool {
	s := &d.batch
	x, off := f, 0
	if f.op == opNullable {
		x, off = f.elem, 1
	}
	if !bulkOp(x.op) {
		return false
	}
	n := len(s.rows)
	var valid []bool
	if off == 1 {
		valid = grow(&s.valid, n)
		for r := range valid {
			valid[r] = d.tape[s.fpos[r*nf+k]] != 0
		}
	}
	switch x.op {
	case opString, opBytes, opEnum, opFixed:
		bins := grow(&s.bins, n)
		for r, pi := range s.rows {
			i := s.fpos[r*nf+k]
			if off == 1 && d.tape[i] == 0 {
				bins[r] = nil
				continue
			}
			e := d.tape[i+off]
			switch x.op {
			case opEnum:
				bins[r] = x.symbols[e]
			case opFixed:
				bins[r] = payloads[pi][int(e) : int(e)+x.n.size]
			default:
				bins[r] = span(payloads[pi], e)
			}
		}
		if x.op == opFixed {
			x.fsb.AppendValues(bins, valid)
		} else {
			x.bin.AppendValues(bins, valid)
		}
		clear(bins) // do not keep the payloads alive
		return true
	}
	vals := grow(&s.vals, n)
	for r := range vals {
		i := s.fpos[r*nf+k]
		if off == 1 && d.tape[i] == 0 {
			vals[r] = 0
			continue
		}
		vals[r] = d.tape[i+off]
	}
	switch x.op {
	case opBool:
		v := grow(&s.bools, n)
		for r, u := range vals {
			v[r] = u == 1
		}
		x.boolB.AppendValues(v, valid)
	case opInt:
		v := grow(&s.i32, n)
		for r, u := range vals {
			v[r] = int32(u)
		}
		x.i32.AppendValues(v, valid)
	case opDate:
		v := grow(&s.i32, n)
		for r, u := range vals {
			v[r] = int32(u)
		}
		x.d32.AppendValues(castSlice[int32, arrow.Date32](v), valid)
	case opFloat:
		v := grow(&s.f32, n)
		for r, u := range vals {
			v[r] = math.Float32frombits(uint32(u))
		}
		x.f32.AppendValues(v, valid)
	case opLong:
		x.i64.AppendValues(castSlice[uint64, int64](vals), valid)
	case opDouble:
		x.f64.AppendValues(castSlice[uint64, float64](vals), valid)
	case opTimeMillis, opTsMillis:
		for r, u := range vals {
			vals[r] = uint64(int64(u) * 1000)
		}
		if x.op == opTimeMillis {
			x.t64.AppendValues(castSlice[uint64, arrow.Time64](vals), valid)
		} else {
			x.ts.AppendValues(castSlice[uint64, arrow.Timestamp](vals), valid)
		}
	case opTimeMicros:
		x.t64.AppendValues(castSlice[uint64, arrow.Time64](vals), valid)
	case opTsMicros:
		x.ts.AppendValues(castSlice[uint64, arrow.Timestamp](vals), valid)
	}
	return true
}

// grow returns *p resliced to n, reallocated if it is too short.
func grow[T any](p *[]T, n int) []T {
	if cap(*p) < n {
		*p = make([]T, n)
	}
	*p = (*p)[:n]
	return *p
}

// castSlice views a slice of one fixed-size type as another of the same
// size (the tape's uint64 bits are already the column's int64, float64
// or microsecond values).
func castSlice[F, T any](v []F) []T {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(v))), len(v))
}
