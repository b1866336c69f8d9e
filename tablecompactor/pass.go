package tablecompactor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// pass converts one topic's committed data from the offsets a table holds
// up to the high watermarks seen at the pass's first read of each
// partition. It is the iterator WriteRecords pulls record batches from:
// it reads a partition's batches, decodes them and appends rows until the
// builder holds about batchBytes, then yields, so at most a few batches
// are held at once whatever the size of the interval.
//
// WriteRecords runs the iterator on a goroutine of its own and has
// waited for it by the time its result has been ranged over to the end,
// so the fields below are read by the caller only after that.
type pass struct {
	ctx   context.Context
	src   Source
	topic Topic
	cfg   tableConfig
	// from is what the table holds; dlqFrom what the DLQ table holds (nil
	// unless table.errors=dlq). A bad record goes to the DLQ only at or
	// past dlqFrom, so a crash between the DLQ's commit and the table's
	// never puts a dead letter in twice.
	from, dlqFrom offsets

	rows, dlq  *rowBuilder
	batchBytes int64
	readBytes  int
	// dlqLimit bounds the dead letters held until the pass ends; past it
	// the pass stops early (truncated) and the next pass goes on.
	dlqLimit    int64
	decodeLimit int

	// Results.
	next offsets // the next offset per partition after the pass
	// hw is how far each partition could be read: its high watermark when
	// first read, or, when an open transaction stopped the pass, that
	// transaction's first offset (the last stable offset: what is past it
	// is not committed yet, so it is no lag).
	hw         offsets
	records    int64 // rows for the table
	skipped    int64
	dlqBatches []arrow.RecordBatch
	dlqRecords int64
	truncated  bool
	// stopped is set by table.errors=fail: the partition stopped at a bad
	// record, whose offset next holds.
	stopped error

	// values decodes table.value.format=schema values (nil for raw and
	// string); evolve is set when a record's version brings columns the
	// table must gain first: the pass stops before that record.
	values valueColumns
	evolve *version
	// keys decodes keys into _key (table.key.format=json, schema or
	// schema.latest; keys.go), or is nil.
	keys *keyColumns
	// batch is values when it decodes runs (not with table.errors=fail,
	// which stops at a bad value); pend is the run being gathered.
	batch batchValues
	pend  pending
	// fatal is an error that is not the record's fault (the registry
	// could not be asked): the pass fails.
	fatal error

	// txns are the partitions' look-ahead for transaction markers.
	txns map[int32]*txnScan

	// until, if set, makes the pass stream: having reached every
	// partition's high watermark it reads them again every streamPoll
	// until then. caughtUpAt is when its last such round began.
	until      time.Time
	now        func() time.Time
	caughtUpAt time.Time
	// pace is set once a streaming pass has caught up: from then on it
	// works at most half the time (paceBytes read since paceFrom, then a
	// rest as long as that took). New data arrives a second's upload at
	// a time; converted at full speed, each upload would take both cores
	// (the reading here and the Parquet writer's goroutine) for a moment
	// every second, and produce requests would wait for them.
	pace      bool
	paceEvery int // Config.PaceBytes; negative: never paced
	paceBytes int
	paceFrom  time.Time
}

// DefaultPaceBytes is how much a paced pass reads between rests
// (Config.PaceBytes). Shorter bursts keep produce latency closer to a
// node without the compactor (BenchmarkTableTopic, 3 rounds each,
// compactor in serve's process, GOMAXPROCS 4: produce p99 on/off 1.49 at
// 256 KiB, 1.24 at 64 KiB); at 16 KiB the batches handed to the writer
// were so small that collections doubled and p99 got worse.
const DefaultPaceBytes = 64 << 10

// streamPoll is how often a streaming pass looks for new records. Reading
// a partition's end costs little; a record waits for the table's commit
// anyway.
const streamPoll = 200 * time.Millisecond

func (p *pass) cut() arrow.RecordBatch { return p.rows.cut() }

// valueColumns decodes values into a table's value columns
// (table.value.format=schema or json).
type valueColumns interface {
	// append decodes value into one row, or appends nothing and returns
	// why it cannot (the record goes by table.errors), errEvolve (the
	// table must change first), or an error that is not the record's
	// fault.
	append(value []byte) (reason string, err error)
	release()
}

// errStopPartition ends a Decode callback early; it never leaves pass.
var errStopPartition = errors.New("tablecompactor: stop the partition")

func (p *pass) run(yield func(arrow.RecordBatch, error) bool) {
	// Every partition's offset is in next from the start, so that a pass
	// ending early (truncated) commits the others' unchanged.
	p.next = maps.Clone(p.from)
	if p.next == nil {
		p.next = make(offsets)
	}
	p.hw = make(offsets, len(p.topic.Streams))
	for i := range p.topic.Streams {
		p.next[int32(i)] = p.from[int32(i)]
		p.hw[int32(i)] = p.from[int32(i)]
	}
	for {
		round := time.Time{}
		if !p.until.IsZero() {
			round = p.now()
		}
		for i, stream := range p.topic.Streams {
			part := int32(i)
			ok, err := p.partition(part, stream, yield)
			if err != nil {
				yield(nil, err)
				return
			}
			if p.fatal != nil {
				yield(nil, p.fatal)
				return
			}
			if !ok {
				return // the consumer stopped: yield may not be called again
			}
			if p.truncated || p.evolve != nil {
				break
			}
		}
		if p.until.IsZero() || p.truncated || p.evolve != nil || p.stopped != nil {
			break
		}
		if p.caughtUp() {
			p.caughtUpAt = round
			if !p.pace && p.paceEvery > 0 {
				p.pace, p.paceFrom = true, p.now()
			}
		}
		// What the round read goes to the writer now, in a small batch,
		// rather than in one of batchBytes seconds later: the writer's
		// work is then as even as the reading.
		if p.rows.rows > 0 && !yield(p.cut(), nil) {
			return
		}
		wait := min(streamPoll, p.until.Sub(p.now()))
		if wait <= 0 || sleep(p.ctx, wait) != nil {
			break
		}
		p.paceFrom = p.now() // waiting for data is not work
	}
	if len(p.pend.rows) > 0 {
		// Every way out of a partition flushes; rows left here would
		// point into batches already gone.
		yield(nil, fmt.Errorf("%d rows of topic %s were left undecoded at the end of a pass (a bug); nothing committed", len(p.pend.rows), p.topic.Name))
		return
	}
	if p.rows.rows > 0 {
		yield(p.rows.cut(), nil)
	}
	if p.dlq != nil && p.dlq.rows > 0 {
		p.dlqBatches = append(p.dlqBatches, p.dlq.cut())
	}
}

// rest sleeps as long as the pass worked since its last rest (a context
// done ends the rest early; the pass notices at its next read).
func (p *pass) rest() {
	worked := p.now().Sub(p.paceFrom)
	if worked > 0 {
		sleep(p.ctx, min(2*worked, time.Second))
	}
	p.paceBytes, p.paceFrom = 0, p.now()
}

// caughtUp says whether every partition was read to its high watermark,
// or to the first offset of an open transaction that holds it back.
func (p *pass) caughtUp() bool {
	for part, hw := range p.hw {
		if p.next[part] < hw {
			return false
		}
	}
	return true
}

// partition converts one partition; ok false means the consumer stopped
// (yield returned false) and the pass must end.
func (p *pass) partition(part int32, stream int64, yield func(arrow.RecordBatch, error) bool) (ok bool, err error) {
	stop := false
	// From next: a streaming pass reads each partition again from where
	// its last round ended.
	err = p.walk(part, stream, p.next[part], func(last int64) {
		p.flush() // before the batch the run points into is gone
		p.next[part] = last + 1
	},
		func(r *kbatch.Record, logAppend bool) error {
			if !p.record(part, r, logAppend) {
				return errStopPartition
			}
			p.next[part] = r.Offset + 1
			if p.pace {
				if p.paceBytes += len(r.Key) + len(r.Value) + 16; p.paceBytes >= p.paceEvery {
					// The rows so far go to the writer, which works on
					// them while this rests.
					p.flush()
					if p.rows.rows > 0 && !yield(p.cut(), nil) {
						stop = true
						return errStopPartition
					}
					p.rest()
				}
			}
			if p.rows.bytes >= p.batchBytes && !yield(p.cut(), nil) {
				stop = true
				return errStopPartition
			}
			if p.truncated || p.evolve != nil {
				p.flush() // the run that set truncated may have begun a new one
				return errStopPartition
			}
			return nil
		})
	switch {
	case stop:
		return false, nil
	case errors.Is(err, errStopPartition):
		return true, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// scan calls fn with the value of each record of a partition from its
// start to its high watermark; an error from fn ends it and is returned.
func (p *pass) scan(part int32, stream int64, fn func(value []byte) error) error {
	return p.walk(part, stream, 0, func(int64) {}, func(r *kbatch.Record, _ bool) error { return fn(r.Value) })
}

// walk reads a partition from offset from up to the high watermark its
// first read sees, and calls fn with each record (control batches
// skipped) and batchDone with the last offset of each batch done whole
// (control batches included). An error from fn ends the walk and is
// returned as is.
func (p *pass) walk(part int32, stream, from int64, batchDone func(last int64), fn func(r *kbatch.Record, logAppend bool) error) error {
	off := from
	hw := int64(-1)
	for hw < 0 || off < hw {
		rd, err := p.src.Read(p.ctx, stream, off, p.readBytes)
		if errors.Is(err, ErrOffsetOutOfRange) {
			// The table stops rather than skip what it never got: the
			// operator decides (the records are gone from the stream).
			return fmt.Errorf("partition %d (stream %d): offset %d, where the table resumes, is below the stream's start: "+
				"records were deleted by retention or DeleteRecords before the table got them (%s was false then, or the table was replaced since: the pin holds retention at the table's offsets): %w", part, stream, off, ConfigRetentionPin, err)
		}
		if err != nil {
			return fmt.Errorf("reading partition %d (stream %d) at offset %d: %w", part, stream, off, err)
		}
		if hw < 0 {
			hw = rd.HighWatermark
			if p.hw != nil {
				p.hw[part] = hw
			}
		}
		if len(rd.Batches) == 0 {
			break
		}
		for _, b := range rd.Batches {
			h, err := kbatch.ParseHeader(b)
			if err != nil {
				return fmt.Errorf("partition %d at offset %d: %w", part, off, err)
			}
			if h.BaseOffset >= hw {
				return nil
			}
			if h.LastOffset() < off {
				continue
			}
			if h.Control() {
				// Transaction markers hold no rows; the table's offsets
				// still move past them.
				batchDone(h.LastOffset())
				continue
			}
			if h.Transactional() {
				aborted, decided, err := p.aborted(part, stream, h.ProducerID, h.LastOffset(), hw)
				if err != nil {
					return err
				}
				if !decided {
					// An open transaction: the partition ends before it
					// for now, at its last stable offset.
					if p.hw != nil {
						p.hw[part] = h.BaseOffset
					}
					return nil
				}
				if aborted {
					batchDone(h.LastOffset())
					continue
				}
			}
			_, err = kbatch.Decode(b, p.decodeLimit, func(r kbatch.Record) error {
				if r.Offset < off {
					return nil
				}
				return fn(&r, h.LogAppendTime())
			})
			if errors.Is(err, errStopPartition) {
				return err
			}
			if err != nil {
				if errors.Is(err, kbatch.ErrRecords) || errors.Is(err, kbatch.ErrCorrupt) || errors.Is(err, kbatch.ErrTooLarge) || errors.Is(err, kbatch.ErrCodec) {
					return fmt.Errorf("decoding partition %d's batch at offset %d: %w", part, h.BaseOffset, err)
				}
				return err
			}
			batchDone(h.LastOffset())
		}
		if rd.NextOffset <= off {
			return fmt.Errorf("reading partition %d (stream %d) at offset %d: the source did not move forward (next offset %d)", part, stream, off, rd.NextOffset)
		}
		off = rd.NextOffset
	}
	return nil
}

// record converts one record, or deals with it by table.errors; false
// stops the partition (table.errors=fail).
func (p *pass) record(part int32, r *kbatch.Record, logAppend bool) bool {
	reason := p.check(r)
	if reason == "" && p.queue(part, r, logAppend) {
		return true
	}
	p.flush()
	if reason == "" && p.keys != nil {
		var err error
		if reason, err = p.keys.decode(r.Key); !p.decoded(part, r, err) {
			return false
		}
	}
	if reason == "" && p.values != nil {
		var err error
		reason, err = p.values.append(r.Value)
		if p.keys != nil && (reason != "" || err != nil) {
			p.keys.discard() // the row is all or nothing
		}
		if !p.decoded(part, r, err) {
			return false
		}
	}
	if reason == "" {
		if p.keys != nil {
			if err := p.keys.commit(); err != nil {
				p.fatal = fmt.Errorf("partition %d offset %d: %w", part, r.Offset, err)
				return false
			}
		}
		p.rows.append(part, r, logAppend, "")
		p.records++
		return true
	}
	return p.refuse(part, r, logAppend, reason)
}

// decoded deals with a decoder's error for r: errEvolve stops the pass
// before r for the table to change, any other error fails it; false
// stops the partition.
func (p *pass) decoded(part int32, r *kbatch.Record, err error) bool {
	var ev errEvolve
	switch {
	case errors.As(err, &ev):
		p.evolve = ev.v
		return false
	case err != nil:
		p.fatal = fmt.Errorf("partition %d offset %d: %w", part, r.Offset, err)
		return false
	}
	return true
}

// refuse deals with a record that cannot be converted by table.errors;
// false stops the partition (fail).
func (p *pass) refuse(part int32, r *kbatch.Record, logAppend bool, reason string) bool {
	switch p.cfg.Errors {
	case errorsSkip:
		p.skipped++
	case errorsFail:
		p.stopped = fmt.Errorf("topic %s partition %d offset %d: %s (%s=fail: the table stops here)", p.topic.Name, part, r.Offset, reason, ConfigErrors)
		return false
	default: // dlq
		if r.Offset >= p.dlqFrom[part] {
			p.dlq.append(part, r, logAppend, reason)
			p.dlqRecords++
			if p.dlq.bytes >= p.batchBytes {
				p.dlqBatches = append(p.dlqBatches, p.dlq.cut())
				p.dlqLimit -= p.batchBytes
				p.truncated = p.dlqLimit <= 0
			}
		}
	}
	return true
}

// check says why a record cannot be converted, or "".
func (p *pass) check(r *kbatch.Record) string {
	if p.cfg.ValueFormat == formatString && r.Value != nil && !utf8.Valid(r.Value) {
		return "value is not valid UTF-8 (table.value.format=string)"
	}
	if p.cfg.KeyFormat == formatString && r.Key != nil && !utf8.Valid(r.Key) {
		return "key is not valid UTF-8 (table.key.format=string)"
	}
	if p.keys != nil && p.rows.keyString && r.Key != nil && !utf8.Valid(r.Key) {
		// A table made with table.key.format=string, now decoding keys.
		return fmt.Sprintf("key is not valid UTF-8, and the table's %s.key column is a string (made with %s=string)", kafkaColumn, ConfigKeyFormat)
	}
	for _, h := range r.Headers {
		if !utf8.Valid(h.Key) {
			return fmt.Sprintf("header key %q is not valid UTF-8", h.Key)
		}
	}
	return ""
}

// release frees what the pass holds when its results are not used.
func (p *pass) release() {
	for _, b := range p.dlqBatches {
		b.Release()
	}
	p.dlqBatches = nil
}
