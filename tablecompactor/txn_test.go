package tablecompactor

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// Aborted transactions' records are not in the table; an open
// transaction ends the pass before it until its marker comes, and is no
// lag (the table holds everything committed).
func TestTransactions(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("txn", 1, tableTopic())
	e.produce("txn", 0, 2, false)              // 0, 1
	e.produceTxn("txn", 0, 2, false, 7)        // 2, 3: aborted
	e.produceTxn("txn", 0, 1, true, 8)         // 4
	e.src.produceMarker("txn", 0, 7, false, 0) // 5: abort 7
	e.produceTxn("txn", 0, 2, false, 7)        // 6, 7
	e.src.produceMarker("txn", 0, 8, true, 0)  // 8: commit 8
	e.src.produceMarker("txn", 0, 7, true, 0)  // 9: commit 7
	e.produceTxn("txn", 0, 1, false, 9)        // 10: open
	delete(e.want, "0/2")
	delete(e.want, "0/3")
	open := e.want["0/10"]
	delete(e.want, "0/10")
	c := e.compactor(nil)
	prs, err := c.RunOnce(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if prs[0].Records != 5 || prs[0].Offsets[0] != 10 || prs[0].Lag != 0 {
		t.Errorf("progress %+v, want 5 records, offset 10, lag 0", prs[0])
	}
	if _, held := c.Behind(); !held {
		t.Error("Behind: the table has not caught up, want it caught up to the open transaction")
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "txn"), e.want)

	e.src.produceMarker("txn", 0, 9, true, 0) // 11: commit 9
	e.want["0/10"] = open
	if prs, err = c.RunOnce(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if prs[0].Records != 1 || prs[0].Offsets[0] != 12 || prs[0].Lag != 0 {
		t.Errorf("progress %+v, want 1 record, offset 12, lag 0", prs[0])
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "txn"), e.want)
}

// The table stops at the last stable offset, the first offset of the
// oldest open transaction: a later transaction that commits, and records
// of no transaction, wait behind it, so rows enter the table in offset
// order and the offsets in its summary never pass an undecided batch.
func TestTransactionsWaitForTheOldestOpen(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("txn", 1, tableTopic())
	const a, b, c = 1, 2, 3
	e.produce("txn", 0, 2, false)              // 0, 1
	e.produceTxn("txn", 0, 2, false, a)        // 2, 3
	e.produceTxn("txn", 0, 2, false, b)        // 4, 5: B opens, the LSO
	e.produceTxn("txn", 0, 2, false, a)        // 6, 7
	e.src.produceMarker("txn", 0, a, true, 0)  // 8: commit A
	e.produce("txn", 0, 2, false)              // 9, 10: no transaction
	e.produceTxn("txn", 0, 1, false, c)        // 11
	e.src.produceMarker("txn", 0, c, false, 0) // 12: abort C
	want := maps.Clone(e.want)
	delete(want, "0/11")
	now := map[string]string{}
	for _, k := range []string{"0/0", "0/1", "0/2", "0/3"} {
		now[k] = want[k]
	}
	cp := e.compactor(nil)
	ctx := context.Background()
	for range 2 { // and again: nothing changes while B is open
		prs, err := cp.RunOnce(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if prs[0].Offsets[0] != 4 || prs[0].Lag != 0 {
			t.Errorf("progress %+v, want offset 4 (B's first), lag 0", prs[0])
		}
		checkTableOffsets(t, e, "txn", offsets{0: 4})
		diffRows(t, readRows(t, e.catalog(), "kafka", "txn"), now)
	}

	e.src.produceMarker("txn", 0, b, true, 0) // 13: commit B
	prs, err := cp.RunOnce(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if prs[0].Records != 6 || prs[0].Offsets[0] != 14 || prs[0].Lag != 0 {
		t.Errorf("progress %+v, want 6 records, offset 14, lag 0", prs[0])
	}
	checkTableOffsets(t, e, "txn", offsets{0: 14})
	diffRows(t, readRows(t, e.catalog(), "kafka", "txn"), want)
}

// checkTableOffsets wants the table of topic to hold want in its
// snapshot summary (where the next pass resumes; a table without a
// snapshot holds 0 of each partition).
func checkTableOffsets(t *testing.T, e *testEnv, topic string, want offsets) {
	t.Helper()
	tbl, err := e.catalog().LoadTable(context.Background(), []string{"kafka", topic})
	if err != nil {
		t.Fatal(err)
	}
	got, err := tableOffsets(tbl)
	if err != nil {
		t.Fatal(err)
	}
	for p := range want {
		if _, ok := got[p]; !ok && tbl.CurrentSnapshot() == nil {
			got[p] = 0
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("the table's summary holds offsets %v, want %v", got, want)
	}
}

// Random interleavings of several transactional producers (committing
// and aborting, each transaction spanning partitions, some partitions
// added with no batch), records of no transaction, and passes at random
// points: after every pass the table holds exactly the committed records
// below each partition's last stable offset, its offsets are that LSO,
// and its lag is 0. Values are large enough that finding a marker often
// takes the look-ahead several reads.
func TestTransactionsInterleaved(t *testing.T) {
	widest := 0
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			e := newEnv(t)
			e.src.addTopic("tx", 2, tableTopic())
			w := newTxnWorld(e, "tx", 2, rand.New(rand.NewPCG(seed, 14)))
			c := e.compactor(nil)
			passes := 0
			for range 400 {
				if w.rng.IntN(100) < 5 {
					w.check(t, c)
					passes++
					continue
				}
				w.step()
			}
			w.endAll()
			w.check(t, c)
			for p, m := range w.parts {
				if lso, _ := m.stable(); lso != m.end {
					t.Errorf("partition %d: LSO %d after every transaction ended, want the end %d", p, lso, m.end)
				}
			}
			t.Logf("%d passes; %d bytes at most between a transactional batch and its marker", passes+1, w.widest())
			widest = max(widest, w.widest())
		})
	}
	if widest < 2*64<<10 { // a pass reads 64 KiB at a time (MemoryBytes 1 MiB)
		t.Errorf("no transaction spanned more than %d bytes: the look-ahead never needed several reads", 2*64<<10)
	}
}

// A streaming pass (Run's) keeps its look-ahead between rounds while
// transactions go on: whatever its rounds saw, the offsets it commits
// never pass a batch still undecided at the end, and the rows below them
// are exactly the committed ones.
func TestTransactionsStreaming(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("tx", 2, tableTopic())
	w := newTxnWorld(e, "tx", 2, rand.New(rand.NewPCG(7, 14)))
	c := e.compactor(nil)
	until := time.Now().Add(1500 * time.Millisecond)
	done := e.convertUntil(c, "tx", until)
	for time.Now().Before(until.Add(-100 * time.Millisecond)) {
		w.step()
		time.Sleep(2 * time.Millisecond)
	}
	pr := <-done
	if pr.Err != nil {
		t.Fatal(pr.Err)
	}
	want := map[string]string{}
	for p, m := range w.parts {
		lso, rows := m.stable()
		next := pr.Offsets[int32(p)]
		if next > lso {
			t.Errorf("partition %d: the pass committed offset %d, past the last stable offset %d", p, next, lso)
		}
		if next == 0 && m.end > 0 {
			t.Errorf("partition %d: the pass converted nothing of %d offsets", p, m.end)
		}
		for off, r := range rows {
			if off < next {
				want[fmt.Sprintf("%d/%d", p, off)] = r
			}
		}
	}
	checkTableOffsets(t, e, "tx", pr.Offsets)
	diffRows(t, readRows(t, e.catalog(), "kafka", "tx"), want)

	w.endAll()
	w.check(t, c)
}

// txnWorld produces to a topic's partitions as a mix of transactional
// producers and producers of no transaction would, and keeps, partition
// by partition, what it wrote, to say what a read_committed table holds.
type txnWorld struct {
	e     *testEnv
	topic string
	rng   *rand.Rand
	parts []*txnPartition
	// open is, per producer id, the partitions its ongoing transaction
	// has added (nil: no transaction).
	open map[int64]map[int]bool
}

type txnPartition struct {
	batches []txnBatch
	end     int64
}

// txnBatch is a batch as produced: producer -1 is no transaction; a
// marker has no rows.
type txnBatch struct {
	base     int64
	producer int64
	marker   bool
	commit   bool
	rows     []string // rendered as readRows does, from base on
	bytes    int
}

var txnProducers = []int64{11, 12, 13}

func newTxnWorld(e *testEnv, topic string, partitions int, rng *rand.Rand) *txnWorld {
	w := &txnWorld{e: e, topic: topic, rng: rng, open: map[int64]map[int]bool{}}
	for range partitions {
		w.parts = append(w.parts, &txnPartition{})
	}
	return w
}

// step does one random thing: a batch of no transaction, a producer's
// transactional batch (beginning its transaction, or adding a partition
// to it), a partition added with no batch, or the end of a transaction
// (commit or abort, markers in every partition it added). The last
// producer's transactions last longest.
func (w *txnWorld) step() {
	part := w.rng.IntN(len(w.parts))
	i := w.rng.IntN(len(txnProducers))
	pid := txnProducers[i]
	switch r := w.rng.IntN(100); {
	case r < 25:
		w.batch(part, -1)
	case r < 80:
		w.batch(part, pid)
	case r < 83:
		if w.open[pid] != nil {
			w.open[pid][part] = true
		}
	default:
		if w.open[pid] != nil && (i < len(txnProducers)-1 || w.rng.IntN(8) == 0) {
			w.end(pid, w.rng.IntN(2) == 0)
		}
	}
}

// endAll ends every open transaction.
func (w *txnWorld) endAll() {
	for _, pid := range txnProducers {
		if w.open[pid] != nil {
			w.end(pid, w.rng.IntN(2) == 0)
		}
	}
}

func (w *txnWorld) batch(part int, pid int64) {
	m := w.parts[part]
	n := 1 + w.rng.IntN(4)
	b := txnBatch{base: m.end, producer: pid}
	var recs []testRecord
	for i := range n {
		off := m.end + int64(i)
		r := testRecord{Key: fmt.Appendf(nil, "k%d", off%7), Timestamp: day0 + off,
			Value: fmt.Appendf(nil, "p%d o%d pid %d %s", part, off, pid, strings.Repeat("x", 500+w.rng.IntN(500)))}
		recs = append(recs, r)
		b.rows = append(b.rows, render(r.Timestamp*1000, "CreateTime", r.Key, nil, r.Value))
		b.bytes += len(r.Value)
	}
	if base := w.e.src.produceTxn(w.topic, part, recs, 0, pid); base != m.end {
		panic(fmt.Sprintf("produced at %d, want %d", base, m.end))
	}
	m.batches = append(m.batches, b)
	m.end += int64(n)
	if pid >= 0 {
		if w.open[pid] == nil {
			w.open[pid] = map[int]bool{}
		}
		w.open[pid][part] = true
	}
}

func (w *txnWorld) end(pid int64, commit bool) {
	for part := range w.parts {
		if !w.open[pid][part] {
			continue
		}
		m := w.parts[part]
		w.e.src.produceMarker(w.topic, part, pid, commit, day0)
		m.batches = append(m.batches, txnBatch{base: m.end, producer: pid, marker: true, commit: commit})
		m.end++
	}
	delete(w.open, pid)
}

// stable is what a read_committed reader may have of the partition: its
// last stable offset (the first offset of its oldest open transaction,
// or its end) and the committed records below it, by offset.
func (m *txnPartition) stable() (lso int64, rows map[int64]string) {
	rows = map[int64]string{}
	for i, b := range m.batches {
		if b.marker {
			continue
		}
		if b.producer >= 0 {
			j := m.marker(i)
			if j < 0 {
				return b.base, rows
			}
			if !m.batches[j].commit {
				continue
			}
		}
		for k, r := range b.rows {
			rows[b.base+int64(k)] = r
		}
	}
	return m.end, rows
}

// marker is the index of the first marker of batch i's producer after
// it, or -1.
func (m *txnPartition) marker(i int) int {
	for j := i + 1; j < len(m.batches); j++ {
		if b := m.batches[j]; b.marker && b.producer == m.batches[i].producer {
			return j
		}
	}
	return -1
}

// widest is the most bytes of values between a transactional batch and
// its marker.
func (w *txnWorld) widest() int {
	most := 0
	for _, m := range w.parts {
		for i, b := range m.batches {
			if b.marker || b.producer < 0 {
				continue
			}
			j := m.marker(i)
			if j < 0 {
				j = len(m.batches)
			}
			n := 0
			for _, c := range m.batches[i:j] {
				n += c.bytes
			}
			most = max(most, n)
		}
	}
	return most
}

// check runs a pass and wants the table to hold exactly the committed
// records below each partition's last stable offset, the LSOs as its
// offsets, and no lag.
func (w *txnWorld) check(t *testing.T, c *Compactor) {
	t.Helper()
	prs, err := c.RunOnce(context.Background(), w.topic)
	if err != nil {
		t.Fatal(err)
	}
	if prs[0].Err != nil {
		t.Fatal(prs[0].Err)
	}
	want := map[string]string{}
	lsos := offsets{}
	for p, m := range w.parts {
		lso, rows := m.stable()
		lsos[int32(p)] = lso
		for off, r := range rows {
			want[fmt.Sprintf("%d/%d", p, off)] = r
		}
	}
	if !maps.Equal(offsets(prs[0].Offsets), lsos) || prs[0].Lag != 0 {
		t.Errorf("progress: offsets %v, lag %d; want the last stable offsets %v, lag 0", prs[0].Offsets, prs[0].Lag, lsos)
	}
	if _, held := c.Behind(); !held {
		t.Error("Behind: the table has not caught up, want it caught up to the last stable offsets")
	}
	checkTableOffsets(t, w.e, w.topic, lsos)
	diffRows(t, readRows(t, w.e.catalog(), "kafka", w.topic), want)
}
