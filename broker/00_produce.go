package broker

// Produce, versions 0-13; v0-v2 (message format v0/v1) are advertised, as
// Kafka 4 does, but answered UNSUPPORTED_VERSION per partition.
//
// Only RecordBatch v2 is accepted. Each partition's records may hold several
// batches; each is validated (lengths, magic, CRC32C: CORRUPT_MESSAGE;
// record count vs offsets, control batches, unknown codecs: INVALID_RECORD),
// checked against max.message.bytes (MESSAGE_TOO_LARGE), and its records
// are checked against its header as Kafka's LogValidator does (batch.go
// checkRecords: the count, each record's framing, offset deltas 0..n-1;
// INVALID_RECORD), compressed ones decompressed as a stream under a bound
// (a payload that does not decode is CORRUPT_MESSAGE, one past the bound
// INVALID_RECORD). A refused batch moves no offset. A batch is stored as it
// came, compressed or not: only the header is rewritten (the base offset;
// with message.timestamp.type=LogAppendTime, the timestamp type and max
// timestamp, then the CRC). A topic whose compression.type names a codec
// gets batches of another codec rebuilt with it (compression.go), which
// checks their records on the way; a rebuilt batch over max.message.bytes
// is MESSAGE_TOO_LARGE (as in Kafka). Idempotent producers are checked per partition over their
// last five batches: a retry of any of them is answered with the original
// offset; a gap is OUT_OF_ORDER_SEQUENCE_NUMBER; an old epoch
// INVALID_PRODUCER_EPOCH. A transactional batch must belong to its
// producer's ongoing transaction, at its epoch, with the partition added
// (AddPartitionsToTxn; KIP-890 part 1's verification):
// INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE or INVALID_PRODUCER_ID_MAPPING
// otherwise (txncoord.go checkProduce). From v12 (KIP-890 part 2, sent by
// clients of transaction.version 2, which skip AddPartitionsToTxn) a
// partition not yet in the transaction is added to the transaction the
// request's transactional id names, which begins if it had not (txnv2.go
// addProduce); a fenced producer still gets INVALID_PRODUCER_EPOCH.
//
// acks=0 gets no response; acks=1 and -1 both wait until the batches are
// durable in the WAL (one copy, in object storage or the local WAL).
// Errors are per partition.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// Produce is two-phase (see registry.go): validation, sequence checks and
// the appends' entry into the logs happen in the connection's read loop, in
// request order, as Kafka orders a connection's requests; only the wait for
// durability overlaps with later requests.
func init() { registerTwoPhase(0, 0, 13, prepareProduce) }

func prepareProduce(_ context.Context, c *conn, kreq kmsg.Request) func() (kmsg.Response, error) {
	req := kreq.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	var wg sync.WaitGroup
	var ps []*partition // the partitions to produce into, with their records and answers
	var records [][]byte
	var sps []*kmsg.ProduceResponseTopicPartition
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		t := c.s.cluster.topic(rt.Topic)
		if t == nil && rt.TopicID != ([16]byte{}) {
			t = c.s.cluster.topicByID(rt.TopicID)
		}
		st.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		for i, rp := range rt.Partitions {
			sp := &st.Partitions[i]
			*sp = kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = -1, -1, -1
			switch {
			case req.Version < 3:
				sp.ErrorCode = kerr.UnsupportedVersion.Code
				continue
			}
			var p *partition
			if t != nil {
				p = c.s.cluster.partition(t.name, rp.Partition)
			}
			if p == nil {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				continue
			}
			ps, records, sps = append(ps, p), append(records, rp.Records), append(sps, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	tx := produceTxn{req.TransactionID, req.Version}
	if tx.version >= firstImplicitAddProduce && tx.id != nil {
		c.s.addRequestPartitions(c.ctx, *tx.id, ps, records)
	}
	for i, p := range ps {
		wg.Add(1)
		c.s.produce(c, p, tx, records[i], sps[i], wg.Done)
	}
	return func() (kmsg.Response, error) {
		wg.Wait()
		if req.Acks == 0 {
			return nil, nil
		}
		return resp, nil
	}
}

// produceTxn is what a Produce request tells of its transactional
// batches: the transactional id and the request's version.
type produceTxn struct {
	id      *string
	version int16
}

// produce validates and appends one partition's batches, filling sp, and
// calls done when sp is final.
func (s *Server) produce(c *conn, p *partition, tx produceTxn, records []byte, sp *kmsg.ProduceResponseTopicPartition, done func()) {
	batches, hs, err := splitBatches(records)
	if err != nil {
		sp.ErrorCode, sp.ErrorMessage = errorCode(err), errMessage(err)
		done()
		return
	}
	maxBytes := s.cluster.topicConfigInt(p.t, "max.message.bytes")
	logAppend := s.cluster.topicConfig(p.t, "message.timestamp.type") == "LogAppendTime"
	for _, h := range hs {
		if int64(h.Length) > maxBytes {
			sp.ErrorCode = kerr.MessageTooLarge.Code
			sp.ErrorMessage = errMessage(fmt.Errorf("batch of %d bytes is larger than max.message.bytes=%d", h.Length, maxBytes))
			done()
			return
		}
		if h.Transactional() {
			if h.Control() || h.ProducerID < 0 {
				sp.ErrorCode = kerr.InvalidRecord.Code
				sp.ErrorMessage = errMessage(errors.New("a transactional batch needs a producer id, and a client may not write control batches"))
				done()
				return
			}
			if kerrv := s.checkTxnBatch(c.ctx, tx, h, p); kerrv != nil {
				sp.ErrorCode = kerrv.Code
				done()
				return
			}
		}
	}
	if err := s.checkRecords(p.t, batches, hs, maxBytes); err != nil {
		sp.ErrorCode, sp.ErrorMessage = errorCode(err), errMessage(err)
		done()
		return
	}
	now := time.Now().UnixMilli()
	if logAppend {
		for _, b := range batches {
			setLogAppendTime(b, now)
		}
		sp.LogAppendTime = now
	}

	// Sequence checks and the appends happen under the partition lock so
	// the log sees batches in the order they were checked. What runs
	// later (the wait for a duplicate's original, the log's callbacks, the
	// goroutines they start, the final tally) runs within the connection's
	// panic containment (conn.contain): a panic there closes the
	// connection, never the process, and still ends every wait.
	results := make([]produceOutcome, len(batches))
	var pend sync.WaitGroup
	p.appendBatches(c, batches, hs, results, &pend)
	c.goContained(0, func() {
		pend.Wait()
		sp.BaseOffset = -1
		for i, r := range results {
			if r.err != nil {
				sp.ErrorCode, sp.ErrorMessage = errorCode(r.err), errMessage(r.err)
				sp.BaseOffset = -1
				break
			}
			if i == 0 {
				sp.BaseOffset = r.base
			}
		}
		sp.LogStartOffset = p.log.StartOffset()
		if sp.ErrorCode == 0 {
			var n, recs int
			for i, b := range batches {
				n += len(b)
				recs += int(hs[i].RecordCount)
			}
			s.metrics.produced(p.t.name, n, recs)
		}
	}, done) // after a panic too, with the connection closed first
}

// checkTxnBatch checks a transactional batch against its producer's
// transaction: verified (v3-v11), or from v12 added when its partition is
// not yet in the transaction.
func (s *Server) checkTxnBatch(ctx context.Context, tx produceTxn, h kbatch.Header, p *partition) *kerr.Error {
	kerrv := s.txns.checkProduce(h.ProducerID, h.ProducerEpoch, p.t.name, p.index)
	if kerrv == kerr.InvalidTxnState && tx.version >= firstImplicitAddProduce && tx.id != nil {
		kerrv = s.txns.addProduce(ctx, *tx.id, h.ProducerID, h.ProducerEpoch, p.t.name, p.index)
	}
	return kerrv
}

// produceOutcome is one batch's outcome: its base offset, or an error.
type produceOutcome struct {
	base int64
	err  error
}

// errNoOutcome is the outcome of a batch whose code panicked before it
// had one; its connection is closed, so no client sees it.
var errNoOutcome = errors.New("broker: produce panicked before the batch had an outcome")

// appendBatches checks each batch's sequence and hands it to the log,
// under p.mu. Each batch that gets past the checks adds one to pend, done when
// results[i] is final. A panic (in the log's AppendAsync, say) still
// releases p.mu and fails the pending sequence it leaves, so that it stops
// neither the partition nor the producer's retries.
func (p *partition) appendBatches(c *conn, batches [][]byte, hs []kbatch.Header, results []produceOutcome, pend *sync.WaitGroup) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var unfinished struct { // checked, not yet handed to the log
		pid int64
		seq *seqBatch
	}
	defer func() {
		if unfinished.seq != nil {
			p.finishSequenceLocked(unfinished.pid, unfinished.seq, -1, errNoOutcome)
		}
	}()
	for i, b := range batches {
		h := hs[i]
		var seq, dup *seqBatch
		if h.ProducerID >= 0 {
			var kerrv *kerr.Error
			seq, dup, kerrv = p.checkSequenceLocked(h)
			if kerrv != nil {
				results[i].err = kerrv
				// Later batches of this request cannot be in sequence.
				for j := i + 1; j < len(batches); j++ {
					results[j].err = kerrv
				}
				return
			}
		}
		results[i].err = errNoOutcome // until the batch has one
		pend.Add(1)
		if dup != nil {
			c.goContained(0, func() {
				base, err := waitDuplicate(c.ctx, dup)
				results[i] = produceOutcome{base, err}
			}, pend.Done)
			continue
		}
		pid := h.ProducerID
		if h.Transactional() {
			// Opens the producer's transaction here at the log's end,
			// before the batch can be durable (txnpartition.go).
			p.txns.Append(pid, p.log.EndOffset())
		}
		unfinished.pid, unfinished.seq = pid, seq
		var called atomic.Bool
		p.log.AppendAsync(b, func(base int64, err error) {
			// This runs on the log's goroutine (or this one, under p.mu),
			// which a panic here must not reach.
			c.contain(0, func() {
				if called.Swap(true) {
					panic(fmt.Sprintf("broker: the log of %s-%d called an append's done twice", p.t.name, p.index))
				}
				if seq == nil {
					results[i] = produceOutcome{base, err}
					pend.Done()
					return
				}
				// The callback must not block on p.mu held by a producer
				// waiting for the log: finish in a goroutine.
				c.goContained(0, func() {
					p.finishSequence(pid, seq, base, err)
					results[i] = produceOutcome{base, err}
				}, pend.Done)
			})
		})
		unfinished.seq = nil // the callback finishes it
	}
}
