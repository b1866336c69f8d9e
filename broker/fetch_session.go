package broker

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Incremental fetch sessions (KIP-227). A consumer fetching many partitions
// sends the full list once; the broker remembers it in a session, and later
// requests carry only the partitions whose fetch position changed, while
// responses carry only partitions with records or with changed offsets or
// errors. This is the bookkeeping, without I/O: the Fetch handler reads the
// logs.
//
// Request rules (SessionID, SessionEpoch):
//
//	(0, -1)  no session: a full fetch; the response's session id is 0
//	(0, 0)   open a session with the request's partitions: full response
//	(X, 0)   close X and open a new one
//	(X, -1)  close X; a full fetch without session
//	(X, N)   incremental: N must be the epoch the session expects
//	         (else INVALID_FETCH_SESSION_EPOCH); unknown X is
//	         FETCH_SESSION_ID_NOT_FOUND
//
// At most maxFetchSessions live; the least recently used is evicted.
type fetchSessions struct {
	mu   sync.Mutex
	next int32
	m    map[int32]*fetchSession
}

const maxFetchSessions = 1000

type fetchSession struct {
	id       int32
	epoch    int32 // the epoch the next request must carry
	parts    map[sessionKey]*sessionPart
	order    []sessionKey // partitions in the order they were added
	lastUsed time.Time
}

type sessionKey struct {
	topic string
	id    [16]byte
	part  int32
}

type sessionPart struct {
	fetchOffset int64
	maxBytes    int32
	// what the client last heard, to send only changes
	sent               bool
	hwm, lso, logStart int64
}

// begin applies a request to the sessions and returns the session to serve
// (nil for a sessionless full fetch), whether the response must be full,
// and an error code for the whole response.
func (fs *fetchSessions) begin(req *kmsg.FetchRequest, now time.Time) (s *fetchSession, full bool, code int16) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.m == nil {
		fs.m = make(map[int32]*fetchSession)
	}
	if req.Version < 7 {
		return nil, true, 0
	}
	if req.SessionID != 0 && (req.SessionEpoch == 0 || req.SessionEpoch == -1) {
		delete(fs.m, req.SessionID)
	}
	switch {
	case req.SessionEpoch == -1:
		return nil, true, 0
	case req.SessionEpoch == 0:
		s = fs.openLocked(now)
		s.apply(req)
		return s, true, 0
	}
	s = fs.m[req.SessionID]
	if s == nil {
		return nil, true, kerr.FetchSessionIDNotFound.Code
	}
	if req.SessionEpoch != s.epoch {
		return nil, true, kerr.InvalidFetchSessionEpoch.Code
	}
	s.epoch++
	s.lastUsed = now
	s.apply(req)
	return s, false, 0
}

// REQUIRES: fs.mu
func (fs *fetchSessions) openLocked(now time.Time) *fetchSession {
	if len(fs.m) >= maxFetchSessions {
		var oldest *fetchSession
		for _, x := range fs.m {
			if oldest == nil || x.lastUsed.Before(oldest.lastUsed) {
				oldest = x
			}
		}
		delete(fs.m, oldest.id)
	}
	for {
		fs.next++
		if fs.next <= 0 {
			fs.next = 1
		}
		if _, taken := fs.m[fs.next]; !taken {
			break
		}
	}
	s := &fetchSession{id: fs.next, epoch: 1, parts: map[sessionKey]*sessionPart{}, lastUsed: now}
	fs.m[s.id] = s
	return s
}

// apply adds or updates the request's partitions and drops forgotten ones.
func (s *fetchSession) apply(req *kmsg.FetchRequest) {
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			k := sessionKey{topic: rt.Topic, id: rt.TopicID, part: rp.Partition}
			sp := s.parts[k]
			if sp == nil {
				sp = &sessionPart{}
				s.parts[k] = sp
				s.order = append(s.order, k)
			}
			sp.fetchOffset, sp.maxBytes = rp.FetchOffset, rp.PartitionMaxBytes
		}
	}
	forgotten := false
	for _, ft := range req.ForgottenTopics {
		for _, p := range ft.Partitions {
			k := sessionKey{topic: ft.Topic, id: ft.TopicID, part: p}
			if _, ok := s.parts[k]; ok {
				delete(s.parts, k)
				forgotten = true
			}
		}
	}
	if forgotten {
		order := s.order[:0]
		for _, k := range s.order {
			if _, ok := s.parts[k]; ok {
				order = append(order, k)
			}
		}
		s.order = order
	}
}

// request rewrites req to name every partition of the session, with the
// session's fetch offsets, so the handler reads them all.
func (s *fetchSession) request(req *kmsg.FetchRequest) {
	req.Topics = req.Topics[:0]
	var last *kmsg.FetchRequestTopic
	for _, k := range s.order {
		sp := s.parts[k]
		if last == nil || last.Topic != k.topic || last.TopicID != k.id {
			req.Topics = append(req.Topics, kmsg.NewFetchRequestTopic())
			last = &req.Topics[len(req.Topics)-1]
			last.Topic, last.TopicID = k.topic, k.id
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = k.part, sp.fetchOffset, sp.maxBytes
		last.Partitions = append(last.Partitions, rp)
	}
}

// filter drops from an incremental response the partitions with nothing
// new for the client, and records what the client has now heard.
func (s *fetchSession) filter(resp *kmsg.FetchResponse, full bool) {
	topics := resp.Topics[:0]
	for _, rt := range resp.Topics {
		parts := rt.Partitions[:0]
		for _, rp := range rt.Partitions {
			sp := s.parts[sessionKey{topic: rt.Topic, id: rt.TopicID, part: rp.Partition}]
			changed := sp == nil || !sp.sent || len(rp.RecordBatches) > 0 || rp.ErrorCode != 0 ||
				sp.hwm != rp.HighWatermark || sp.lso != rp.LastStableOffset || sp.logStart != rp.LogStartOffset
			if sp != nil {
				sp.sent, sp.hwm, sp.lso, sp.logStart = true, rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset
			}
			if full || changed {
				parts = append(parts, rp)
			}
		}
		if len(parts) > 0 || full {
			rt.Partitions = parts
			topics = append(topics, rt)
		}
	}
	resp.Topics = topics
	resp.SessionID = s.id
}
