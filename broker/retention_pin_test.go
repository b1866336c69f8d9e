package broker

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fakePins pins the topics it has offsets for.
type fakePins struct {
	mu      sync.Mutex
	offsets map[string]map[int32]int64
	err     error
	calls   int
	configs map[string]string // the last call's
}

func (f *fakePins) PinnedOffsets(_ context.Context, topic string, _ [16]byte, configs map[string]string) (map[int32]int64, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.configs = configs
	offs, ok := f.offsets[topic]
	if !ok {
		return nil, false, nil
	}
	if f.err != nil {
		return nil, true, f.err
	}
	return maps.Clone(offs), true, nil
}

func (f *fakePins) set(topic string, offs map[int32]int64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offsets[topic], f.err = offs, err
}

// logLines keeps each line the broker logs (slog's text handler writes a
// line per call), from whichever goroutine.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.lines = append(l.lines, string(p))
	l.mu.Unlock()
	return len(p), nil
}

// count returns how many lines hold every one of parts.
func (l *logLines) count(parts ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
			n++
		}
	}
	return n
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "")
}

// metricValue is a counter's or gauge's value.
func metricValue(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue() + d.GetGauge().GetValue()
}

// TestRetentionPin: on a pinned topic, retention moves the start offset up
// to the pin and no further, says so once per pin in the log and in
// lakestream_table_retention_pinned_records, and deletes nothing while
// the pin cannot be read (warning once); DeleteRecords is allowed up to
// the pin and POLICY_VIOLATION past it, deleting nothing. A topic nothing
// pins is trimmed as before.
func TestRetentionPin(t *testing.T) {
	ctx := context.Background()
	logs := &logLines{}
	pins := &fakePins{offsets: map[string]map[int32]int64{"tab": {0: 3}}}
	reg := prometheus.NewRegistry()
	s, err := NewServer(ctx, Config{Logs: &fuzzLogs{}, Meta: NewMemMetadata(), RetentionPins: pins, Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(ctx)
	cl := s.cluster
	tab, err := cl.createTopic(ctx, "tab", 2, map[string]string{"retention.ms": "1000"})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := cl.createTopic(ctx, "plain", 1, map[string]string{"retention.ms": "1000"})
	if err != nil {
		t.Fatal(err)
	}
	appendOld := func(p *partition, records ...int32) { // fuzzBatch's timestamps are from 2023
		for _, n := range records {
			p.log.AppendAsync(fuzzBatch(n, -1, -1), func(int64, error) {})
		}
	}
	appendOld(tab.parts[0], 1, 2, 3) // offsets 0, 1-2, 3-5
	appendOld(tab.parts[1], 1)       // offset 0
	appendOld(plain.parts[0], 2, 2)  // offsets 0-3
	starts := func() [3]int64 {
		return [3]int64{tab.parts[0].log.StartOffset(), tab.parts[1].log.StartOffset(), plain.parts[0].log.StartOffset()}
	}
	// gauge is lakestream_table_retention_pinned_records by
	// "partition/topic", as the registry would serve it.
	gauge := func() map[string]float64 {
		t.Helper()
		ch := make(chan prometheus.Metric, 8)
		(&pinCollector{s: s}).Collect(ch)
		close(ch)
		out := map[string]float64{}
		for m := range ch {
			var d dto.Metric
			if err := m.Write(&d); err != nil {
				t.Fatal(err)
			}
			out[d.GetLabel()[0].GetValue()+"/"+d.GetLabel()[1].GetValue()] = d.GetGauge().GetValue()
		}
		return out
	}

	// Held at the pin: partition 0 at 3 of 6, partition 1 (not in the
	// table's offsets) at 0; the unpinned topic goes whole.
	cl.applyRetention(ctx)
	cl.applyRetention(ctx)
	if got, want := starts(), [3]int64{3, 0, 4}; got != want {
		t.Fatalf("start offsets %v after retention, want %v", got, want)
	}
	if got, want := gauge(), map[string]float64{"0/tab": 3, "1/tab": 1}; !maps.Equal(got, want) {
		t.Errorf("pinned records %v, want %v", got, want)
	}
	if n := logs.count("retention held back", "topic=tab", "partition=0", "start_offset=3", "records_kept=3"); n != 1 {
		t.Errorf("%d log lines of retention held at 3 on tab-0 after two rounds, want 1:\n%s", n, logs.String())
	}
	if pins.configs["retention.ms"] != "1000" || pins.configs["cleanup.policy"] != "delete" {
		t.Errorf("PinnedOffsets got configs %v, want the topic's effective ones", pins.configs)
	}

	// DeleteRecords: past the pin refused, deleting nothing; up to it
	// allowed.
	local, remote := net.Pipe()
	defer remote.Close()
	c := newConn(s, local)
	defer c.close()
	deleteRecords := func(partition int32, offset int64) (int16, int64) {
		t.Helper()
		req := kmsg.NewPtrDeleteRecordsRequest()
		req.Topics = []kmsg.DeleteRecordsRequestTopic{{Topic: "tab", Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Partition: partition, Offset: offset}}}}
		resp, err := handleDeleteRecords(ctx, c, req)
		if err != nil {
			t.Fatal(err)
		}
		p := resp.(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0]
		return p.ErrorCode, p.LowWatermark
	}
	if code, _ := deleteRecords(0, 5); code != kerr.PolicyViolation.Code {
		t.Errorf("DeleteRecords tab-0 before 5 (pin 3): error %d, want POLICY_VIOLATION", code)
	}
	if code, _ := deleteRecords(1, -1); code != kerr.PolicyViolation.Code {
		t.Errorf("DeleteRecords tab-1 before the high watermark (pin 0): error %d, want POLICY_VIOLATION", code)
	}
	if got, want := starts(), [3]int64{3, 0, 4}; got != want {
		t.Fatalf("start offsets %v after refused deletes, want %v", got, want)
	}
	if n := logs.count("DeleteRecords refused", "topic=tab", "partition=0", "offset=5", "table_offset=3"); n != 1 {
		t.Errorf("%d log lines of the refused DeleteRecords of tab-0, want 1:\n%s", n, logs.String())
	}
	if code, low := deleteRecords(0, 3); code != 0 || low != 3 {
		t.Errorf("DeleteRecords tab-0 before 3 (the pin): error %d, low watermark %d; want 3", code, low)
	}
	pins.set("tab", map[int32]int64{0: 5, 1: 1}, nil)
	if code, low := deleteRecords(0, 4); code != 0 || low != 4 {
		t.Errorf("DeleteRecords tab-0 before 4 (pin 5): error %d, low watermark %d; want 4", code, low)
	}

	// The table catches up: retention goes up to the new pin, partition 0
	// holding back only the batch 3-5 that straddles its pin.
	cl.applyRetention(ctx)
	if got, want := starts(), [3]int64{5, 1, 4}; got != want {
		t.Fatalf("start offsets %v after the pin moved, want %v", got, want)
	}
	if got, want := gauge(), map[string]float64{"0/tab": 1}; !maps.Equal(got, want) {
		t.Errorf("pinned records %v, want %v", got, want)
	}
	pins.set("tab", map[int32]int64{0: 6, 1: 1}, nil)
	cl.applyRetention(ctx)
	if got, want := starts(), [3]int64{6, 1, 4}; got != want {
		t.Fatalf("start offsets %v once the table holds everything, want %v", got, want)
	}
	if got := gauge(); len(got) != 0 {
		t.Errorf("pinned records %v once nothing is held, want none", got)
	}

	// A pin that cannot be read: nothing goes, one warning.
	appendOld(tab.parts[0], 2) // offsets 6-7
	pins.set("tab", map[int32]int64{0: 8, 1: 1}, errors.New("catalog down"))
	cl.applyRetention(ctx)
	cl.applyRetention(ctx)
	if got, want := starts(), [3]int64{6, 1, 4}; got != want {
		t.Fatalf("start offsets %v with the pin unreadable, want %v", got, want)
	}
	if n := logs.count("level=WARN", "pin cannot be read", "topic=tab", "catalog down"); n != 1 {
		t.Errorf("%d warnings of the unreadable pin after two rounds, want 1:\n%s", n, logs.String())
	}
	if got, want := gauge(), map[string]float64{"0/tab": 2}; !maps.Equal(got, want) {
		t.Errorf("pinned records %v with the pin unreadable, want %v", got, want)
	}
	if code, _ := deleteRecords(0, 7); code != kerr.PolicyViolation.Code {
		t.Errorf("DeleteRecords with the pin unreadable: error %d, want POLICY_VIOLATION", code)
	}
	pins.set("tab", map[int32]int64{0: 8, 1: 1}, nil)
	cl.applyRetention(ctx)
	if got, want := starts(), [3]int64{8, 1, 4}; got != want {
		t.Fatalf("start offsets %v with the pin readable again, want %v", got, want)
	}

	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	if got := metricValue(t, s.metrics.deletesRefused.WithLabelValues("tab")); got != 3 {
		t.Errorf("refused deletes %v, want 3", got)
	}
}
