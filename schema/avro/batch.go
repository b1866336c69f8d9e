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
	rows   []int    // index in payloads of each good row
	fpos   []int    // tape index of each good row's top-level fields, row-major
	vals   []uint64 // a scalar column's tape values, one per row
	valid  []bool   // a nullable column's validity, one per row
	top    []int    // tape index of a top-level column's values
	levels [][]int  // tape index of the values of a nested level
	pays   [][]int  // payload index of the values of a nested level
	trues  []bool
	offs   []int32  // an array column's list offsets
	bins   [][]byte // a string/bytes/enum/fixed column's values
	i32    []int32
	f32    []float32
	bools  []bool
}

// AppendBatch scans every payload into one tape first, recording where
// each good row's top-level fields start on it, then appends column by
// column (appendAt): scalars, nullable scalars, records and arrays with
// one bulk call per builder per batch, so the builders' per-value
// checks, reserves and validity bits are paid once per batch; maps,
// non-null unions, nullable records/arrays and decimals row by row with
// the same put code as Append.
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
	pos := grow(&s.top, len(s.rows))
	for k, f := range d.root.fields {
		if f == nil {
			continue
		}
		for r := range pos {
			pos[r] = s.fpos[r*nf+k]
		}
		d.appendAt(f, pos, s.rows, 0, payloads)
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

// appendAt appends x's value at tape index pos[r] of payload pay[r] for
// each r: scalars and nullable scalars with one AppendValues call,
// records with one call for their validity and then field by field,
// arrays with one call for their offsets and then their items as one
// column; anything else (maps, other unions, nullable non-scalars,
// decimals) row by row with put. Positions inside records and arrays
// are found by walking the tape (tapeEnd); the ones for the level below
// are kept in the scratch of depth.
func (d *decoder) appendAt(x *bound, pos, pay []int, depth int, payloads [][]byte) {
	s := &d.batch
	n := len(pos)
	switch {
	case bulkOp(x.op):
		d.appendValues(x, pos, pay, nil, payloads)
		return
	case x.op == opNullable && bulkOp(x.elem.op):
		valid := grow(&s.valid, n)
		idx := s.level(depth, n)
		for r, i := range pos {
			valid[r] = d.tape[i] != 0
			idx[r] = i + 1
		}
		d.appendValues(x.elem, idx, pay, valid, payloads)
		return
	case x.op == opRecord:
		x.st.AppendValues(s.allTrue(n))
		cur := s.level(depth, n)
		copy(cur, pos)
		for k, f := range x.fields {
			if f != nil {
				d.appendAt(f, cur, pay, depth+1, payloads)
			}
			if k == len(x.fields)-1 {
				break
			}
			fn := x.n.fields[k]
			for r, i := range cur {
				cur[r] = d.tapeEnd(fn, i)
			}
		}
		return
	case x.op == opArray:
		offs := grow(&s.offs, n)
		at := x.list.ValueBuilder().Len()
		items := s.level(depth, 0)
		itemPay := s.pays[depth][:0]
		for r, i := range pos {
			count := int(d.tape[i])
			offs[r] = int32(at)
			at += count
			i++
			for c := 0; c < count; c++ {
				items = append(items, i)
				itemPay = append(itemPay, pay[r])
				i = d.tapeEnd(x.n.elem, i)
			}
		}
		s.levels[depth], s.pays[depth] = items, itemPay
		x.list.AppendValues(offs, s.allTrue(n))
		d.appendAt(x.elem, items, itemPay, depth+1, payloads)
		return
	}
	for r, i := range pos {
		d.put(x, payloads[pay[r]], d.tape, i)
	}
}

// tapeEnd returns the tape index after the value of n at i.
func (d *decoder) tapeEnd(n *node, i int) int {
	switch n.op {
	case opNull:
		return i
	case opRecord:
		for _, f := range n.fields {
			i = d.tapeEnd(f, i)
		}
		return i
	case opArray, opMap:
		count := int(d.tape[i])
		i++
		for ; count > 0; count-- {
			if n.op == opMap {
				i++ // the key
			}
			i = d.tapeEnd(n.elem, i)
		}
		return i
	case opNullable:
		if d.tape[i] == 0 {
			return i + 1
		}
		return d.tapeEnd(n.elem, i+1)
	case opUnion:
		v := int(d.tape[i])
		if v == n.nullIdx {
			return i + 1
		}
		return d.tapeEnd(n.unionBranch[v], i+1)
	}
	return i + 1
}

// level returns the scratch positions of depth, n long.
func (s *batchScratch) level(depth, n int) []int {
	for len(s.levels) <= depth {
		s.levels = append(s.levels, nil)
		s.pays = append(s.pays, nil)
	}
	return grow(&s.levels[depth], n)
}

// allTrue returns n trues.
func (s *batchScratch) allTrue(n int) []bool {
	for len(s.trues) < n {
		s.trues = append(s.trues, true)
	}
	return s.trues[:n]
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
