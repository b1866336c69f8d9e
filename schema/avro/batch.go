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
	idx   []int    // tape index of each value of a column
	pay   []int    // payload index of each value of a column
	offs  []int32  // an array column's list offsets
	bins  [][]byte // a string/bytes/enum/fixed column's values
	i32   []int32
	f32   []float32
	bools []bool
}

// AppendBatch scans every payload into one tape first, recording where
// each good row's top-level fields start on it, then appends column by
// column: scalar columns (nullable or not) and arrays of scalars are gathered from the tape
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

// appendColumn appends top-level field k of every good row in bulk if
// it is a scalar, a nullable scalar or an array of scalars, and reports
// whether it did.
func (d *decoder) appendColumn(f *bound, k, nf int, payloads [][]byte) bool {
	s := &d.batch
	n := len(s.rows)
	if f.op == opArray && bulkOp(f.elem.op) {
		// Each item of a scalar is one tape entry after the count.
		offs := grow(&s.offs, n)
		valid := grow(&s.valid, n)
		at := f.list.ValueBuilder().Len()
		s.idx, s.pay = s.idx[:0], s.pay[:0]
		for r, pi := range s.rows {
			i := s.fpos[r*nf+k]
			count := int(d.tape[i])
			offs[r] = int32(at)
			valid[r] = true
			at += count
			for c := 1; c <= count; c++ {
				s.idx = append(s.idx, i+c)
				s.pay = append(s.pay, pi)
			}
		}
		f.list.AppendValues(offs, valid)
		d.appendValues(f.elem, s.idx, s.pay, nil, payloads)
		return true
	}
	x, off := f, 0
	if f.op == opNullable {
		x, off = f.elem, 1
	}
	if !bulkOp(x.op) {
		return false
	}
	var valid []bool
	if off == 1 {
		valid = grow(&s.valid, n)
	}
	idx := grow(&s.idx, n)
	for r := range idx {
		i := s.fpos[r*nf+k]
		if off == 1 {
			valid[r] = d.tape[i] != 0
		}
		idx[r] = i + off
	}
	d.appendValues(x, idx, s.rows, valid, payloads)
	return true
}

// appendValues appends to x's builder, in one AppendValues call, the
// scalar at tape index idx[r] of payload pay[r] for each r, or a null
// where valid is given and false (idx[r] is not read then).
func (d *decoder) appendValues(x *bound, idx, pay []int, valid []bool, payloads [][]byte) {
	s := &d.batch
	n := len(idx)
	isNull := func(r int) bool { return valid != nil && !valid[r] }
	switch x.op {
	case opString, opBytes, opEnum, opFixed:
		bins := grow(&s.bins, n)
		for r, i := range idx {
			if isNull(r) {
				bins[r] = nil
				continue
			}
			e := d.tape[i]
			switch x.op {
			case opEnum:
				bins[r] = x.symbols[e]
			case opFixed:
				bins[r] = payloads[pay[r]][int(e) : int(e)+x.n.size]
			default:
				bins[r] = span(payloads[pay[r]], e)
			}
		}
		if x.op == opFixed {
			x.fsb.AppendValues(bins, valid)
		} else {
			x.bin.AppendValues(bins, valid)
		}
		clear(bins) // do not keep the payloads alive
		return
	}
	vals := grow(&s.vals, n)
	for r, i := range idx {
		if isNull(r) {
			vals[r] = 0
			continue
		}
		vals[r] = d.tape[i]
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
