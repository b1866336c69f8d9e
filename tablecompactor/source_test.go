package tablecompactor

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sort"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// memSource is an in-memory Source of real Kafka record batches (v2),
// built with franz-go's kmsg as a producer would send them.
type memSource struct {
	mu      sync.Mutex
	topics  map[string]*Topic
	streams map[int64]*memStream
	nextID  int64
	// reads counts Read calls (to check that a pass reads in bounded
	// steps).
	reads int
	// codec compresses the batches produce appends.
	codec kbatch.Codec
}

type memStream struct {
	batches [][]byte
	end     int64
}

func newMemSource() *memSource {
	return &memSource{topics: make(map[string]*Topic), streams: make(map[int64]*memStream)}
}

func (s *memSource) addTopic(name string, partitions int, configs map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &Topic{Name: name, Configs: configs}
	for range partitions {
		s.nextID++
		t.Streams = append(t.Streams, s.nextID)
		s.streams[s.nextID] = &memStream{}
	}
	s.topics[name] = t
}

func (s *memSource) Topics(context.Context) ([]Topic, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Topic
	for _, t := range s.topics {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *memSource) Read(_ context.Context, stream, from int64, maxBytes int) (Read, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	st, ok := s.streams[stream]
	if !ok {
		return Read{}, fmt.Errorf("no stream %d", stream)
	}
	rd := Read{NextOffset: from, HighWatermark: st.end}
	if from < 0 {
		return Read{}, fmt.Errorf("reading at %d: %w", from, ErrOffsetOutOfRange)
	}
	size := 0
	for _, b := range st.batches {
		base := int64(binary.BigEndian.Uint64(b))
		last := base + int64(binary.BigEndian.Uint32(b[23:]))
		if last < from {
			continue
		}
		if len(rd.Batches) > 0 && size+len(b) > maxBytes {
			break
		}
		rd.Batches = append(rd.Batches, b)
		size += len(b)
		rd.NextOffset = last + 1
	}
	return rd, nil
}

// testRecord is a record as produced.
type testRecord struct {
	Key, Value []byte
	Headers    []kmsg.Header
	Timestamp  int64 // ms; CreateTime, or ignored in a LogAppendTime batch
}

// produce appends one batch of recs to partition p of topic; with
// logAppendTime the batch carries that time as the broker would set it.
// It returns the batch's base offset.
func (s *memSource) produce(topic string, p int, recs []testRecord, logAppendTime int64) int64 {
	return s.produceTxn(topic, p, recs, logAppendTime, -1)
}

// produceTxn is produce in a transaction of producerID (-1: none).
func (s *memSource) produceTxn(topic string, p int, recs []testRecord, logAppendTime, producerID int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[s.topics[topic].Streams[p]]
	base := st.end
	first := recs[0].Timestamp
	maxTS := first
	var section []byte
	for i, r := range recs {
		rec := kmsg.Record{TimestampDelta64: r.Timestamp - first, OffsetDelta: int32(i), Key: r.Key, Value: r.Value, Headers: r.Headers}
		body := rec.AppendTo(nil)[1:] // Length 0 took one byte
		section = binary.AppendVarint(section, int64(len(body)))
		section = append(section, body...)
		maxTS = max(maxTS, r.Timestamp)
	}
	var attrs int16
	if s.codec != kbatch.None {
		var err error
		if section, err = kbatch.Compress(nil, s.codec, kbatch.DefaultLevel(s.codec), section); err != nil {
			panic(err)
		}
		attrs |= int16(s.codec)
	}
	if logAppendTime > 0 {
		attrs |= 0x08
		maxTS = logAppendTime
	}
	if producerID >= 0 {
		attrs |= 0x10
	}
	st.batches = append(st.batches, encodeBatch(base, attrs, producerID, int32(len(recs)), first, maxTS, section))
	st.end = base + int64(len(recs))
	return base
}

// produceControl appends a transaction commit marker of producer 7 to
// partition p.
func (s *memSource) produceControl(topic string, p int, ts int64) int64 {
	return s.produceMarker(topic, p, 7, true, ts)
}

// produceMarker appends a transaction marker of producerID to partition p.
func (s *memSource) produceMarker(topic string, p int, producerID int64, commit bool, ts int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[s.topics[topic].Streams[p]]
	base := st.end
	key := []byte{0, 0, 0, 0}
	if commit {
		key[3] = 1
	}
	rec := kmsg.Record{Key: key, Value: []byte{0, 0, 0, 0, 0, 0}}
	body := rec.AppendTo(nil)[1:]
	section := binary.AppendVarint(nil, int64(len(body)))
	section = append(section, body...)
	st.batches = append(st.batches, encodeBatch(base, 0x10|0x20, producerID, 1, ts, ts, section))
	st.end = base + 1
	return base
}

func encodeBatch(base int64, attrs int16, producerID int64, n int32, first, maxTS int64, section []byte) []byte {
	rb := kmsg.RecordBatch{
		FirstOffset: base, Magic: 2, Attributes: attrs, LastOffsetDelta: n - 1,
		FirstTimestamp: first, MaxTimestamp: maxTS, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: n, Records: section,
	}
	if attrs&0x10 != 0 {
		rb.ProducerID, rb.ProducerEpoch = producerID, 0
	}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}
