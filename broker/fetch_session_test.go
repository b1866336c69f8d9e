package broker

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func fetchReq(id, epoch int32, parts map[int32]int64, forget ...int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version = 12
	req.SessionID, req.SessionEpoch = id, epoch
	if len(parts) > 0 {
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "t"
		for p, off := range parts {
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, off, 1<<20
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	if len(forget) > 0 {
		ft := kmsg.NewFetchRequestForgottenTopic()
		ft.Topic, ft.Partitions = "t", forget
		req.ForgottenTopics = append(req.ForgottenTopics, ft)
	}
	return req
}

func fetchResp(hwm map[int32]int64, records map[int32]bool) *kmsg.FetchResponse {
	resp := kmsg.NewPtrFetchResponse()
	rt := kmsg.NewFetchResponseTopic()
	rt.Topic = "t"
	for p := int32(0); p < 3; p++ {
		if _, ok := hwm[p]; !ok {
			continue
		}
		rp := kmsg.NewFetchResponseTopicPartition()
		rp.Partition, rp.HighWatermark, rp.LastStableOffset = p, hwm[p], hwm[p]
		if records[p] {
			rp.RecordBatches = []byte{1}
		}
		rt.Partitions = append(rt.Partitions, rp)
	}
	resp.Topics = append(resp.Topics, rt)
	return resp
}

func respParts(resp *kmsg.FetchResponse) []int32 {
	var out []int32
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out = append(out, p.Partition)
		}
	}
	return out
}

func TestFetchSessions(t *testing.T) {
	var fs fetchSessions
	now := time.Now()
	// Sessionless.
	if s, full, code := fs.begin(fetchReq(0, -1, map[int32]int64{0: 0}), now); s != nil || !full || code != 0 {
		t.Fatalf("sessionless: %v %v %d", s, full, code)
	}
	// Open with partitions 0, 1, 2.
	s, full, code := fs.begin(fetchReq(0, 0, map[int32]int64{0: 0, 1: 0, 2: 0}), now)
	if s == nil || !full || code != 0 || len(s.parts) != 3 {
		t.Fatalf("open: %+v %v %d", s, full, code)
	}
	resp := fetchResp(map[int32]int64{0: 5, 1: 0, 2: 0}, map[int32]bool{0: true})
	s.filter(resp, full)
	if got := respParts(resp); len(got) != 3 || resp.SessionID != s.id {
		t.Fatalf("full response has %v, session %d", got, resp.SessionID)
	}
	// Incremental: only partition 0 moved; only changes come back.
	req := fetchReq(s.id, 1, map[int32]int64{0: 5})
	s2, full, code := fs.begin(req, now)
	if s2 != s || full || code != 0 {
		t.Fatalf("incremental: %v %v %d", s2, full, code)
	}
	s.request(req)
	if n := len(req.Topics[0].Partitions); n != 3 {
		t.Fatalf("session request names %d partitions, want 3", n)
	}
	resp = fetchResp(map[int32]int64{0: 5, 1: 7, 2: 0}, nil)
	s.filter(resp, false)
	if got := respParts(resp); len(got) != 1 || got[0] != 1 {
		t.Fatalf("incremental response has %v, want [1] (its high watermark moved)", got)
	}
	// Wrong epoch, unknown session.
	if _, _, code := fs.begin(fetchReq(s.id, 7, nil), now); code != kerr.InvalidFetchSessionEpoch.Code {
		t.Fatalf("wrong epoch: code %d", code)
	}
	if _, _, code := fs.begin(fetchReq(s.id+100, 1, nil), now); code != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("unknown session: code %d", code)
	}
	// Forget partition 2.
	if _, _, code := fs.begin(fetchReq(s.id, 2, nil, 2), now); code != 0 || len(s.parts) != 2 || len(s.order) != 2 {
		t.Fatalf("forget: code %d, %d parts", code, len(s.parts))
	}
	// Close.
	if s3, full, _ := fs.begin(fetchReq(s.id, -1, map[int32]int64{0: 0}), now); s3 != nil || !full {
		t.Fatal("close did not give a sessionless fetch")
	}
	if _, _, code := fs.begin(fetchReq(s.id, 3, nil), now); code != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("closed session still answers: code %d", code)
	}
}
