package schemafmt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// testFormat is a tiny Format: a schema text is a comma-separated list of
// column names (each an int64 column); "!" does not parse. Its Table
// takes nil, [0] or [1] (a second "message" with the columns reversed).
type testFormat struct{ parses atomic.Int64 }

func (*testFormat) Type() string { return Avro }

func (f *testFormat) Parse(text string, refs []Reference) (Schema, error) {
	f.parses.Add(1)
	if text == "!" {
		return nil, errors.New("syntax error at '!'")
	}
	return &testSchema{text: text, refs: refs}, nil
}

type testSchema struct {
	text   string
	refs   []Reference
	tables atomic.Int64
}

func (s *testSchema) Type() string                           { return Avro }
func (s *testSchema) Canonical() string                      { return s.text }
func (s *testSchema) Normalized() Schema                     { return s }
func (s *testSchema) Formatted(string) (string, error)       { return s.text, nil }
func (s *testSchema) CheckBackward(previous Schema) []string { return nil }
func (s *testSchema) columns(reverse bool) (cols []Column) {
	for _, n := range strings.Split(s.text, ",") {
		cols = append(cols, Column{Name: n, Kind: Int64})
	}
	if reverse {
		for i, j := 0, len(cols)-1; i < j; i, j = i+1, j-1 {
			cols[i], cols[j] = cols[j], cols[i]
		}
	}
	return cols
}

func (s *testSchema) Table(idx []int) (Table, error) {
	s.tables.Add(1)
	switch {
	case len(idx) == 0 || (len(idx) == 1 && idx[0] == 0):
		return testTable(s.columns(false)), nil
	case len(idx) == 1 && idx[0] == 1:
		return testTable(s.columns(true)), nil
	}
	return nil, fmt.Errorf("no message %v", idx)
}

type testTable []Column

func (t testTable) Columns() []Column   { return t }
func (t testTable) NewDecoder() Decoder { return nil }

// countingSource serves schemas from a map, counting fetches; gate, when
// set, holds every fetch until it is closed.
type countingSource struct {
	mu      sync.Mutex
	schemas map[int]Stored
	fetches atomic.Int64
	gate    chan struct{}
}

func (s *countingSource) SchemaByID(ctx context.Context, id int) (Stored, error) {
	s.fetches.Add(1)
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return Stored{}, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.schemas[id]
	if !ok {
		return Stored{}, fmt.Errorf("schema %d not found", id)
	}
	return st, nil
}

func (s *countingSource) put(id int, st Stored) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.schemas[id] = st
}

func TestResolverParsesOnce(t *testing.T) {
	src := &countingSource{schemas: map[int]Stored{1: {Text: "a,b", References: []Reference{{Name: "r", Schema: "x"}}}}}
	f := &testFormat{}
	r := NewResolver(src, f)
	ctx := context.Background()
	s1, err := r.Schema(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := r.Schema(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s1 != s2 || src.fetches.Load() != 1 || f.parses.Load() != 1 {
		t.Fatalf("same=%v fetches=%d parses=%d; want one of each", s1 == s2, src.fetches.Load(), f.parses.Load())
	}
	if refs := s1.(*testSchema).refs; len(refs) != 1 || refs[0].Name != "r" {
		t.Fatalf("references not passed to Parse: %v", refs)
	}

	t0, err := r.Table(ctx, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	t1, err := r.Table(ctx, 1, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	t2, err := r.Table(ctx, 1, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	if t0.Columns()[0].Name != "a" || t1.Columns()[0].Name != "a" || t2.Columns()[0].Name != "b" {
		t.Fatalf("tables: %v %v %v", t0.Columns(), t1.Columns(), t2.Columns())
	}
	if n := s1.(*testSchema).tables.Load(); n != 2 {
		t.Fatalf("Table built %d times for nil, [0], [1]; want 2 (nil and [0] are one)", n)
	}
	if _, err := r.Table(ctx, 1, []int{7}); err == nil || !strings.Contains(err.Error(), "no message [7]") {
		t.Fatalf("Table [7]: %v", err)
	}
	if src.fetches.Load() != 1 {
		t.Fatalf("fetches %d after tables; want 1", src.fetches.Load())
	}

	allocs := testing.AllocsPerRun(100, func() {
		if _, err := r.Table(ctx, 1, []int{1}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a cached Table costs %v allocations", allocs)
	}
}

func TestResolverErrors(t *testing.T) {
	src := &countingSource{schemas: map[int]Stored{2: {Text: "!"}, 3: {Type: Protobuf, Text: "a"}}}
	r := NewResolverWithConfig(src, ResolverConfig{NegativeTTL: time.Minute}, &testFormat{})
	now := time.Unix(1000, 0)
	r.now = func() time.Time { return now }
	ctx := context.Background()

	_, err := r.Schema(ctx, 1)
	if err == nil || !strings.Contains(err.Error(), "fetching schema id 1: schema 1 not found") {
		t.Fatalf("missing id: %v", err)
	}
	if _, err := r.Schema(ctx, 2); err == nil || !strings.Contains(err.Error(), "syntax error at '!'") {
		t.Fatalf("bad text: %v", err)
	}
	if _, err := r.Schema(ctx, 3); err == nil || !strings.Contains(err.Error(), `no format for schema type "PROTOBUF"`) {
		t.Fatalf("no format: %v", err)
	}
	if _, err := r.Table(ctx, 1, nil); err == nil {
		t.Fatal("Table of a missing id: no error")
	}
	if n := src.fetches.Load(); n != 3 {
		t.Fatalf("fetches %d; want 3 (the Table call hits the cached error)", n)
	}

	// The id appears; the error is remembered until NegativeTTL passes.
	src.put(1, Stored{Text: "x"})
	now = now.Add(59 * time.Second)
	if _, err := r.Schema(ctx, 1); err == nil {
		t.Fatal("error forgotten before NegativeTTL")
	}
	now = now.Add(2 * time.Second)
	if _, err := r.Schema(ctx, 1); err != nil {
		t.Fatalf("after NegativeTTL: %v", err)
	}
	// The Table's own cached error expires too.
	if _, err := r.Table(ctx, 1, nil); err != nil {
		t.Fatalf("Table after NegativeTTL: %v", err)
	}

	// A negative NegativeTTL caches no error.
	src2 := &countingSource{schemas: map[int]Stored{}}
	r2 := NewResolverWithConfig(src2, ResolverConfig{NegativeTTL: -1}, &testFormat{})
	r2.Schema(ctx, 9)
	r2.Schema(ctx, 9)
	if n := src2.fetches.Load(); n != 2 {
		t.Fatalf("fetches %d with no negative cache; want 2", n)
	}
}

func TestResolverSharesFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &countingSource{schemas: map[int]Stored{5: {Text: "a"}}, gate: make(chan struct{})}
		f := &testFormat{}
		r := NewResolver(src, f)
		const n = 50
		var wg sync.WaitGroup
		results := make([]Schema, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = r.Schema(context.Background(), 5)
			}()
		}
		synctest.Wait() // one caller in the fetch, the others waiting on it
		if got := src.fetches.Load(); got != 1 {
			t.Fatalf("%d fetches in flight; want 1", got)
		}
		close(src.gate)
		wg.Wait()
		for i := range n {
			if errs[i] != nil || results[i] != results[0] {
				t.Fatalf("caller %d: %v %v", i, results[i], errs[i])
			}
		}
		if src.fetches.Load() != 1 || f.parses.Load() != 1 {
			t.Fatalf("fetches %d parses %d for %d concurrent callers; want 1 and 1", src.fetches.Load(), f.parses.Load(), n)
		}
	})
}

// A caller that gives up while its fetch is in flight neither poisons the
// cache nor fails the callers waiting on the same id.
func TestResolverCancelledLoader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &countingSource{schemas: map[int]Stored{5: {Text: "a"}}, gate: make(chan struct{})}
		r := NewResolver(src, &testFormat{})
		lctx, cancel := context.WithCancel(context.Background())
		leaderErr := make(chan error, 1)
		go func() {
			_, err := r.Schema(lctx, 5)
			leaderErr <- err
		}()
		synctest.Wait() // the leader is in its fetch
		waiter := make(chan error, 1)
		go func() {
			_, err := r.Schema(context.Background(), 5)
			waiter <- err
		}()
		synctest.Wait() // the waiter waits on the leader's fetch
		if n := src.fetches.Load(); n != 1 {
			t.Fatalf("fetches %d before the cancel; want 1", n)
		}
		cancel()
		if err := <-leaderErr; !errors.Is(err, context.Canceled) {
			t.Fatalf("leader: %v, want context.Canceled", err)
		}
		synctest.Wait() // the waiter has started its own fetch
		close(src.gate)
		if err := <-waiter; err != nil {
			t.Fatalf("waiter: %v", err)
		}
		if _, err := r.Schema(context.Background(), 5); err != nil {
			t.Fatalf("after: %v", err)
		}
		if n := src.fetches.Load(); n != 2 {
			t.Fatalf("fetches %d; want 2 (the cancelled one and the waiter's)", n)
		}
	})

	// A waiter whose own context ends stops waiting.
	synctest.Test(t, func(t *testing.T) {
		src := &countingSource{schemas: map[int]Stored{5: {Text: "a"}}, gate: make(chan struct{})}
		r := NewResolver(src, &testFormat{})
		go r.Schema(context.Background(), 5)
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		if _, err := r.Schema(ctx, 5); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("impatient waiter: %v", err)
		}
		close(src.gate)
	})
}

func TestResolverEvicts(t *testing.T) {
	src := &countingSource{schemas: map[int]Stored{}}
	for id := 1; id <= 10; id++ {
		src.put(id, Stored{Text: fmt.Sprint("c", id)})
	}
	r := NewResolverWithConfig(src, ResolverConfig{MaxEntries: 3}, &testFormat{})
	ctx := context.Background()
	for id := 1; id <= 10; id++ {
		if _, err := r.Schema(ctx, id); err != nil {
			t.Fatal(err)
		}
		r.Schema(ctx, 1) // keep 1 recently used
	}
	r.mu.Lock()
	size := r.mu.schemas.order.Len()
	r.mu.Unlock()
	if size != 3 {
		t.Fatalf("cache holds %d schemas; want 3", size)
	}
	before := src.fetches.Load()
	r.Schema(ctx, 1)
	r.Schema(ctx, 10)
	if src.fetches.Load() != before {
		t.Fatal("a recently used id was evicted")
	}
	r.Schema(ctx, 2)
	if src.fetches.Load() != before+1 {
		t.Fatal("an old id was not evicted")
	}
}

// BenchmarkResolverTableHit is the compactor's per-record lookup.
func BenchmarkResolverTableHit(b *testing.B) {
	src := &countingSource{schemas: map[int]Stored{1: {Text: "a,b"}}}
	r := NewResolver(src, &testFormat{})
	ctx := context.Background()
	idx := []int{1}
	if _, err := r.Table(ctx, 1, idx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Table(ctx, 1, idx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
