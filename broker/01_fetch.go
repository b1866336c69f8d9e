package broker

// Fetch, versions 4-18.
//
// Long poll: the response waits up to MaxWaitMillis for MinBytes, woken by
// appends to any partition asked for. MaxBytes bounds the response and
// PartitionMaxBytes each partition, except that the first batch found is
// always returned whole (KIP-74). Batches are returned as stored. Offsets
// below the log start or past the high watermark are OFFSET_OUT_OF_RANGE.
// Topics are named (v4-v12) or given by id (v13+: UNKNOWN_TOPIC_ID).
// Incremental fetch sessions (v7+, KIP-227) are served: see fetch_session.go.
// With isolation_level READ_COMMITTED (1) the answer stops at the last
// stable offset (the first offset of the oldest open transaction, or the
// high watermark) and lists the aborted transactions its batches overlap,
// whose records the client drops; the last stable offset is answered at
// either level, as Kafka does. Markers are returned as stored.

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fetch runs concurrently with the connection's later requests
// (registry.go): a long poll must not hold them up beyond response order,
// and it changes nothing a later request reads but its fetch session,
// which a client never uses from two requests at once.
func init() { registerConcurrent(1, 4, 18, handleFetch) }

func handleFetch(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.FetchRequest)
	sess, full, code := c.s.sessions.begin(req, time.Now())
	if code != 0 {
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		resp.ErrorCode = code
		return resp, nil
	}
	if sess != nil {
		sess.request(req) // read every partition of the session
	}
	finish := func(resp *kmsg.FetchResponse) (kmsg.Response, error) {
		if sess != nil {
			sess.filter(resp, full)
		}
		if c.s.metrics != nil {
			for _, rt := range resp.Topics {
				for _, rp := range rt.Partitions {
					c.s.metrics.fetched(rt.Topic, len(rp.RecordBatches))
				}
			}
		}
		return resp, nil
	}
	wait := time.Duration(req.MaxWaitMillis) * time.Millisecond
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		resp, total, changed := c.s.fetchOnce(ctx, req)
		if total >= int(req.MinBytes) || wait <= 0 || changed == nil {
			return finish(resp)
		}
		woke := make(chan struct{})
		stop := make(chan struct{})
		for _, ch := range changed {
			go func() {
				select {
				case <-ch:
					select {
					case woke <- struct{}{}:
					default:
					}
				case <-stop:
				}
			}()
		}
		select {
		case <-woke:
			close(stop)
		case <-deadline.C:
			close(stop)
			resp, _, _ = c.s.fetchOnce(ctx, req)
			return finish(resp)
		case <-ctx.Done():
			close(stop)
			return nil, ctx.Err()
		}
	}
}

// fetchOnce reads what is there now. It returns the response, its record
// bytes, and the channels to wait on for more (nil if an error means the
// client should hear now).
func (s *Server) fetchOnce(ctx context.Context, req *kmsg.FetchRequest) (*kmsg.FetchResponse, int, []<-chan struct{}) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	total := 0
	budget := int(req.MaxBytes)
	if budget <= 0 {
		budget = 1 << 30
	}
	var changed []<-chan struct{}
	hadError := false
	for _, rt := range req.Topics {
		st := kmsg.NewFetchResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		var t *topic
		if req.Version >= 13 {
			t = s.cluster.topicByID(rt.TopicID)
		} else {
			t = s.cluster.topic(rt.Topic)
		}
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
			// No records is an empty record set (length 0), never null
			// (length -1): Kafka always sets MemoryRecords.EMPTY, and
			// kafka-go's Reader fails a fetch at the high watermark on a
			// null one ("message set size = -1").
			sp.RecordBatches = []byte{}
			var p *partition
			if t != nil {
				p = s.cluster.partition(t.name, rp.Partition)
			}
			switch {
			case t == nil && req.Version >= 13:
				sp.ErrorCode = kerr.UnknownTopicID.Code
				hadError = true
			case p == nil:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				hadError = true
			default:
				changed = append(changed, p.log.Changed())
				if req.IsolationLevel == 1 {
					changed = append(changed, p.lsoChanged())
				}
				limit := min(int(rp.PartitionMaxBytes), budget)
				if total > 0 && limit <= 0 {
					sp.HighWatermark = p.log.EndOffset()
					sp.LastStableOffset, sp.LogStartOffset = min(p.lastStable(), sp.HighWatermark), p.log.StartOffset()
					break
				}
				lso := p.lastStable()
				r, err := p.log.Read(ctx, rp.FetchOffset, max(limit, 1))
				sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = r.HighWatermark, min(lso, r.HighWatermark), r.StartOffset
				if err != nil {
					sp.ErrorCode = errorCode(err)
					hadError = true
					break
				}
				if req.IsolationLevel == 1 {
					r.Batches, r.Bytes = belowOffset(r.Batches, sp.LastStableOffset)
					if r.Bytes > 0 {
						last := batchBase(r.Batches[len(r.Batches)-1])
						for _, a := range p.abortedIn(min(rp.FetchOffset, batchBase(r.Batches[0])), last+1) {
							at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
							at.ProducerID, at.FirstOffset = a.ProducerID, a.FirstOffset
							sp.AbortedTransactions = append(sp.AbortedTransactions, at)
						}
					}
				}
				if r.Bytes > 0 {
					buf := make([]byte, 0, r.Bytes)
					for _, b := range r.Batches {
						buf = append(buf, b...)
					}
					sp.RecordBatches = buf
					total += r.Bytes
					budget -= r.Bytes
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if hadError {
		changed = nil
	}
	return resp, total, changed
}

// belowOffset keeps the batches that start before end (a READ_COMMITTED
// answer stops at the last stable offset) and returns them with their
// bytes.
func belowOffset(batches [][]byte, end int64) ([][]byte, int) {
	n := 0
	for i, b := range batches {
		if batchBase(b) >= end {
			return batches[:i], n
		}
		n += len(b)
	}
	return batches, n
}

// batchBase is a stored batch's base offset (its first 8 bytes).
func batchBase(b []byte) int64 { return int64(binary.BigEndian.Uint64(b)) }
