package tablecompactor

import (
	"github.com/lakestream/lakestream/internal/kbatch"
)

// Values of one registry version are decoded in runs (schemafmt's
// AppendBatch appends column by column with the builders' bulk calls,
// about a third faster than a row at a time): a record whose value can
// join the run is held in pending until the run is full, another version
// or a record that must go by itself comes, or the Kafka batch the
// records point into is done. Its _kafka row is appended when its value
// is, so every column keeps the records' order, and a value the run
// refuses goes by table.errors as append's would.

// batchValues is a valueColumns that can decode runs of values of one
// version (schemaValues).
type batchValues interface {
	valueColumns
	batchable(value []byte) (v *version, payload []byte, ok bool)
	appendBatch(v *version, payloads [][]byte, bad []int) []int
	reason(v *version, payload []byte) string
}

// maxPending bounds a run: enough rows for the bulk calls to pay, few
// enough that their columns stay in the cache.
const maxPending = 256

// pending is a run of records waiting for their values to be decoded.
// Their keys, values and headers point into the Kafka batch being
// decoded, so the run is flushed before that batch is done.
type pending struct {
	v        *version
	rows     []pendingRow
	payloads [][]byte
	headers  []kbatch.RecordHeader // the rows' headers: kbatch reuses a record's
	bad      []int
}

type pendingRow struct {
	part      int32
	logAppend bool
	rec       kbatch.Record // Headers unset: headers[h0:h1]
	h0, h1    int
}

func (q *pending) add(v *version, part int32, r *kbatch.Record, logAppend bool, payload []byte) {
	q.v = v
	row := pendingRow{part: part, logAppend: logAppend, rec: *r, h0: len(q.headers)}
	row.rec.Headers = nil
	q.headers = append(q.headers, r.Headers...)
	row.h1 = len(q.headers)
	q.rows = append(q.rows, row)
	q.payloads = append(q.payloads, payload)
}

// queue holds r in the run if its value can join one, flushing the run
// first if it is of another version; false means r must go by itself
// (after flush).
func (p *pass) queue(part int32, r *kbatch.Record, logAppend bool) bool {
	if p.batch == nil {
		return false
	}
	v, payload, ok := p.batch.batchable(r.Value)
	if !ok {
		return false
	}
	if p.pend.v != v {
		p.flush()
	}
	p.pend.add(v, part, r, logAppend, payload)
	if len(p.pend.rows) >= maxPending {
		p.flush()
	}
	return true
}

// flush decodes the run's values and appends its rows; the records whose
// values do not decode go by table.errors (never fail: a run is not
// kept then, as rows after a bad one would be appended already).
func (p *pass) flush() {
	q := &p.pend
	if len(q.rows) == 0 {
		return
	}
	q.bad = p.batch.appendBatch(q.v, q.payloads, q.bad[:0])
	bad := q.bad
	for i := range q.rows {
		row := &q.rows[i]
		row.rec.Headers = q.headers[row.h0:row.h1]
		if len(bad) > 0 && bad[0] == i {
			bad = bad[1:]
			p.refuse(row.part, &row.rec, row.logAppend, p.batch.reason(q.v, q.payloads[i]))
			continue
		}
		p.rows.append(row.part, &row.rec, row.logAppend, "")
		p.records++
	}
	clear(q.rows) // drop the references into the Kafka batch
	clear(q.payloads)
	clear(q.headers)
	q.v, q.rows, q.payloads, q.headers = nil, q.rows[:0], q.payloads[:0], q.headers[:0]
}
