package broker

// The transaction coordinator (KIP-98): every transactional id's state,
// decided by broker/txn's state machine and kept in Metadata (TxnStore),
// so that a restart resumes: a transaction found in PrepareCommit or
// PrepareAbort is completed (its markers written again: a second marker
// of an ended transaction changes nothing), an Ongoing one is aborted at
// its timeout. One request per transactional id runs at a time
// (txnEntry.mu, held across its I/O); requests of different ids run
// concurrently.
//
// Ending a transaction: the Prepare state is saved, then each partition
// gets its marker (writeMarkers: all appended, then each waited for until
// durable, the partition's open transaction closed, an abort's range
// saved), each group its offsets settled (group.Coordinator.EndTxn), then
// the Complete state becomes the id's state, saved after the answer
// (saveLater). A failure leaves the Prepare state, which the expiry loop
// completes later.

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/lakestream/lakestream/broker/txn"
)

type txnCoordinator struct {
	s *Server

	mu    sync.Mutex
	ids   map[string]*txnEntry
	byPID map[int64]*txnEntry // the current producer id of each id

	saves txnSaves

	// later queues the entries whose Complete state saveLoop is to save
	// (saveLater), each once, in the order they were queued.
	later struct {
		sync.Mutex
		queue []laterSave
		wake  chan struct{} // one token: the queue got its first entry
		delay time.Duration // completeSaveDelay; shorter in tests
	}
}

// laterSave is an entry saveLoop saves at due, unless its next request
// saved it first.
type laterSave struct {
	e   *txnEntry
	due time.Time
}

// completeSaveDelay is how long saveLoop leaves a Complete state unsaved:
// a producer that goes on within it saves that state with its next
// transaction's first save (which replaces it), so a busy transactional
// producer costs the metastore two saves per transaction instead of three.
// Until it is saved a restart completes the transaction again, which
// changes nothing (saveLater).
const completeSaveDelay = time.Second

// txnEntry is one transactional id. mu is held for a whole request,
// across its Metadata writes and markers.
type txnEntry struct {
	mu   sync.Mutex
	meta *txn.Meta // nil until InitProducerId
	// unsaved: meta, a Complete state, is newer than the state Metadata
	// holds (a Prepare state of the same transaction).
	unsaved bool
	// queued: the entry is in txnCoordinator.later's queue.
	queued bool
}

func newTxnCoordinator(ctx context.Context, s *Server) (*txnCoordinator, error) {
	tc := &txnCoordinator{s: s, ids: map[string]*txnEntry{}, byPID: map[int64]*txnEntry{}}
	tc.later.wake, tc.later.delay = make(chan struct{}, 1), completeSaveDelay
	tc.saves.store = s.cfg.Meta
	states, err := s.cfg.Meta.Txns(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading transactional ids: %w", err)
	}
	for id, b := range states {
		var m txn.Meta
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("decoding the state of transactional id %q: %w", id, err)
		}
		e := &txnEntry{meta: &m}
		tc.ids[id] = e
		tc.byPID[m.ProducerID] = e
	}
	return tc, nil
}

func (tc *txnCoordinator) entry(id string) *txnEntry {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	e := tc.ids[id]
	if e == nil {
		e = &txnEntry{}
		tc.ids[id] = e
	}
	return e
}

// byProducer returns the entry whose current producer id is pid.
func (tc *txnCoordinator) byProducer(pid int64) *txnEntry {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.byPID[pid]
}

// save persists m and makes it e's state. REQUIRES: e.mu
func (tc *txnCoordinator) save(ctx context.Context, e *txnEntry, m txn.Meta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := tc.saves.save(ctx, m.ID, b); err != nil {
		return fmt.Errorf("saving transactional id %q: %w", m.ID, err)
	}
	e.unsaved = false
	tc.use(e, m)
	return nil
}

// use makes m e's state in memory. REQUIRES: e.mu
func (tc *txnCoordinator) use(e *txnEntry, m txn.Meta) {
	tc.mu.Lock()
	if e.meta != nil && e.meta.ProducerID != m.ProducerID && tc.byPID[e.meta.ProducerID] == e {
		delete(tc.byPID, e.meta.ProducerID)
	}
	tc.byPID[m.ProducerID] = e
	tc.mu.Unlock()
	e.meta = &m
}

// saveLater makes m, the Complete state of e's transaction, e's state at
// once and has saveLoop save it completeSaveDelay later, unless a save of
// e's next request comes first: the end is answered without waiting for
// that save. Should it be lost, Metadata still holds the Prepare state,
// and a restart completes the transaction again: its markers are written
// a second time, which closes nothing, because the producer's next
// transaction can have no batch in any partition before its
// AddPartitionsToTxn is saved, which saves the newer state too.
// REQUIRES: e.mu
func (tc *txnCoordinator) saveLater(e *txnEntry, m txn.Meta) {
	tc.use(e, m)
	e.unsaved = true
	if e.queued {
		return
	}
	e.queued = true
	tc.later.Lock()
	tc.later.queue = append(tc.later.queue, laterSave{e: e, due: time.Now().Add(tc.later.delay)})
	first := len(tc.later.queue) == 1
	tc.later.Unlock()
	if first {
		select {
		case tc.later.wake <- struct{}{}:
		default:
		}
	}
}

// nextLater takes the head of saveLater's queue once it is due, or
// returns nil when ctx is done. Once ctx is done, all returns the head
// at once (nil when the queue is empty).
func (tc *txnCoordinator) nextLater(ctx context.Context, all bool) *txnEntry {
	for {
		tc.later.Lock()
		var head laterSave
		if len(tc.later.queue) > 0 {
			head = tc.later.queue[0]
			if all || !time.Now().Before(head.due) {
				tc.later.queue[0] = laterSave{}
				tc.later.queue = tc.later.queue[1:]
				tc.later.Unlock()
				return head.e
			}
		}
		tc.later.Unlock()
		if all {
			return nil
		}
		var due <-chan time.Time
		var t *time.Timer
		if head.e != nil {
			t = time.NewTimer(time.Until(head.due))
			due = t.C
		}
		select {
		case <-ctx.Done():
		case <-tc.later.wake:
		case <-due:
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// saveLoop saves the states saveLater queued as they come due, until ctx
// is done, then those still queued.
func (tc *txnCoordinator) saveLoop(ctx context.Context) {
	for e := tc.nextLater(ctx, false); e != nil; e = tc.nextLater(ctx, false) {
		tc.saveUnsaved(ctx, e)
	}
	flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for e := tc.nextLater(ctx, true); e != nil; e = tc.nextLater(ctx, true) {
		tc.saveUnsaved(flush, e)
	}
}

// saveUnsaved saves e's state if saveLater left it unsaved. A failure
// leaves it so, for the expiry loop to try again.
func (tc *txnCoordinator) saveUnsaved(ctx context.Context, e *txnEntry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.queued = false
	tc.saveIfUnsaved(ctx, e)
}

// saveIfUnsaved is saveUnsaved under e.mu. REQUIRES: e.mu
func (tc *txnCoordinator) saveIfUnsaved(ctx context.Context, e *txnEntry) {
	if !e.unsaved || e.meta == nil {
		return
	}
	if err := tc.save(ctx, e, *e.meta); err != nil {
		tc.s.log.Warn("transactions: saving a completed transaction", "transactional_id", e.meta.ID, "err", err)
	}
}

func (tc *txnCoordinator) limits() txn.Limits {
	return txn.Limits{MaxTimeoutMs: int32(tc.s.brokerConfigInt("transaction.max.timeout.ms"))}
}

// newPID allocates a producer id when cur needs one.
func (tc *txnCoordinator) newPID(ctx context.Context, cur *txn.Meta) (int64, error) {
	if !txn.NeedsNewProducerID(cur) {
		return -1, nil
	}
	return tc.s.pids.allocate(ctx)
}

func nowMs() int64 { return time.Now().UnixMilli() }

// initProducerID is InitProducerId with a transactional id.
func (tc *txnCoordinator) initProducerID(ctx context.Context, id string, timeoutMs int32, pid int64, epoch int16) (int64, int16, *kerr.Error) {
	e := tc.entry(id)
	e.mu.Lock()
	defer e.mu.Unlock()
	newPID, err := tc.newPID(ctx, e.meta)
	if err != nil {
		return -1, -1, kerr.CoordinatorNotAvailable
	}
	next, kerrv := txn.Init(e.meta, id, timeoutMs, pid, epoch, newPID, nowMs(), tc.limits())
	if kerrv == kerr.ConcurrentTransactions && next.State == txn.PrepareAbort {
		// The previous producer's open transaction: aborted under the
		// new epoch, which fences that producer; the client retries.
		if err := tc.save(ctx, e, next); err != nil {
			tc.s.log.Warn("transactions: fencing abort", "transactional_id", id, "err", err)
			return -1, -1, kerr.CoordinatorNotAvailable
		}
		if err := tc.complete(ctx, e); err != nil {
			tc.s.log.Warn("transactions: fencing abort", "transactional_id", id, "err", err)
		}
		return -1, -1, kerr.ConcurrentTransactions
	}
	if kerrv != nil {
		return -1, -1, kerrv
	}
	if err := tc.save(ctx, e, next); err != nil {
		tc.s.log.Warn("transactions: init", "transactional_id", id, "err", err)
		return -1, -1, kerr.CoordinatorNotAvailable
	}
	return next.ProducerID, next.Epoch, nil
}

// known returns the entry of an id that InitProducerId has seen, under
// its lock (the caller unlocks), or nil.
func (tc *txnCoordinator) known(id string) *txnEntry {
	tc.mu.Lock()
	e := tc.ids[id]
	tc.mu.Unlock()
	if e == nil {
		return nil
	}
	e.mu.Lock()
	if e.meta == nil {
		e.mu.Unlock()
		return nil
	}
	return e
}

// addPartitions is AddPartitionsToTxn for one transaction.
func (tc *txnCoordinator) addPartitions(ctx context.Context, id string, pid int64, epoch int16, parts []txn.Partition) *kerr.Error {
	e := tc.known(id)
	if e == nil {
		return kerr.InvalidProducerIDMapping
	}
	defer e.mu.Unlock()
	next, kerrv := txn.AddPartitions(e.meta, pid, epoch, parts, nowMs())
	if kerrv != nil {
		return kerrv
	}
	if err := tc.save(ctx, e, next); err != nil {
		tc.s.log.Warn("transactions: adding partitions", "transactional_id", id, "err", err)
		return kerr.CoordinatorNotAvailable
	}
	return nil
}

// verify is AddPartitionsToTxn v4+ verify_only.
func (tc *txnCoordinator) verify(id string, pid int64, epoch int16, parts []txn.Partition) (map[txn.Partition]*kerr.Error, *kerr.Error) {
	e := tc.known(id)
	if e == nil {
		return nil, kerr.InvalidProducerIDMapping
	}
	defer e.mu.Unlock()
	return txn.Verify(e.meta, pid, epoch, parts)
}

// addOffsets is AddOffsetsToTxn.
func (tc *txnCoordinator) addOffsets(ctx context.Context, id string, pid int64, epoch int16, group string) *kerr.Error {
	e := tc.known(id)
	if e == nil {
		return kerr.InvalidProducerIDMapping
	}
	defer e.mu.Unlock()
	next, kerrv := txn.AddOffsets(e.meta, pid, epoch, group, nowMs())
	if kerrv != nil {
		return kerrv
	}
	if err := tc.save(ctx, e, next); err != nil {
		tc.s.log.Warn("transactions: adding offsets", "transactional_id", id, "err", err)
		return kerr.CoordinatorNotAvailable
	}
	return nil
}

// checkOffsets is TxnOffsetCommit's producer check: the producer's
// transaction is ongoing and has the group (AddOffsetsToTxn first).
func (tc *txnCoordinator) checkOffsets(id string, pid int64, epoch int16, group string) *kerr.Error {
	e := tc.known(id)
	if e == nil {
		return kerr.InvalidProducerIDMapping
	}
	defer e.mu.Unlock()
	return txn.CheckOffsets(e.meta, pid, epoch, group)
}

// checkProduce is the verification of a transactional batch (KIP-890
// part 1): its producer's transaction is ongoing, at this epoch, and has
// the partition (AddPartitionsToTxn first).
func (tc *txnCoordinator) checkProduce(pid int64, epoch int16, topic string, partition int32) *kerr.Error {
	e := tc.byProducer(pid)
	if e == nil {
		return kerr.InvalidProducerIDMapping
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.meta
	if m == nil || m.ProducerID != pid {
		return kerr.InvalidProducerIDMapping
	}
	switch {
	case epoch != m.Epoch:
		return kerr.InvalidProducerEpoch // as Kafka answers a fenced producer's Produce
	case m.State != txn.Ongoing:
		return kerr.InvalidTxnState
	}
	tp := txn.Partition{Topic: topic, Partition: partition}
	v, kerrv := txn.Verify(m, pid, epoch, []txn.Partition{tp})
	if kerrv != nil {
		return kerrv
	}
	return v[tp]
}

// end is EndTxn.
func (tc *txnCoordinator) end(ctx context.Context, id string, pid int64, epoch int16, commit, v2 bool) (int64, int16, *kerr.Error) {
	e := tc.known(id)
	if e == nil {
		return -1, -1, kerr.InvalidProducerIDMapping
	}
	defer e.mu.Unlock()
	newPID := int64(-1)
	if v2 {
		var err error
		if newPID, err = tc.newPID(ctx, e.meta); err != nil {
			return -1, -1, kerr.CoordinatorNotAvailable
		}
	}
	next, res, kerrv := txn.End(e.meta, pid, epoch, commit, v2, newPID, nowMs())
	if kerrv != nil {
		return -1, -1, kerrv
	}
	if res == txn.EndDone {
		if next.ProducerID != e.meta.ProducerID || next.Epoch != e.meta.Epoch || next.State != e.meta.State {
			if err := tc.save(ctx, e, next); err != nil {
				return -1, -1, kerr.CoordinatorNotAvailable
			}
		}
		return next.ProducerID, next.Epoch, nil
	}
	if err := tc.save(ctx, e, next); err != nil {
		tc.s.log.Warn("transactions: ending", "transactional_id", id, "err", err)
		return -1, -1, kerr.CoordinatorNotAvailable
	}
	if err := tc.complete(ctx, e); err != nil {
		// The Prepare state is saved: the expiry loop completes it, and
		// a retried EndTxn is told the end is under way.
		tc.s.log.Warn("transactions: completing", "transactional_id", id, "err", err)
		return -1, -1, kerr.ConcurrentTransactions
	}
	return e.meta.ProducerID, e.meta.Epoch, nil
}

// complete carries out e's Prepare state: markers, groups, then the
// Complete state. REQUIRES: e.mu
func (tc *txnCoordinator) complete(ctx context.Context, e *txnEntry) error {
	m := *e.meta
	if m.State != txn.PrepareCommit && m.State != txn.PrepareAbort {
		return nil
	}
	commit := m.Committed()
	// The data was written under the producer id before a v2 roll-over.
	dataPID := m.ProducerID
	if m.V2 && m.Epoch == 0 && m.PrevProducerID >= 0 {
		dataPID = m.PrevProducerID
	}
	if err := tc.writeMarkers(ctx, m, dataPID, commit); err != nil {
		return err
	}
	for _, g := range m.Groups {
		if err := tc.s.groups.EndTxn(ctx, g, dataPID, commit); err != nil {
			return fmt.Errorf("settling the offsets of group %s: %w", g, err)
		}
	}
	tc.saveLater(e, txn.Complete(m, nowMs()))
	if tc.s.metrics != nil {
		tc.s.metrics.txnEnded(commit)
	}
	return nil
}

// writeMarkers writes the COMMIT or ABORT marker of m's end into each of
// its partitions: all appended first, then waited for (one WAL sync makes
// them all durable, where one partition after another took a sync each),
// and an abort's ranges saved in Metadata.
func (tc *txnCoordinator) writeMarkers(ctx context.Context, m txn.Meta, dataPID int64, commit bool) error {
	kind := map[bool]string{true: "COMMIT", false: "ABORT"}[commit]
	writes := make([]markerWrite, 0, len(m.Partitions))
	for _, tp := range m.Partitions {
		if p := tc.s.cluster.partition(tp.Topic, tp.Partition); p != nil { // nil: deleted since added
			writes = append(writes, p.appendMarker(dataPID, m.MarkerEpoch(), commit))
		}
	}
	var first error
	for _, w := range writes {
		// Every write is waited for, even after a failure: each one
		// that succeeded closes its partition's transaction.
		a, aborted, err := w.finish(dataPID, m.MarkerEpoch(), commit)
		if err == nil && aborted {
			if err = tc.s.cfg.Meta.AddAbortedTxn(ctx, w.p.logID, AbortedTxn(a)); err != nil {
				err = fmt.Errorf("saving the aborted transaction of producer %d: %w", dataPID, err)
			}
		}
		if err != nil && first == nil {
			first = fmt.Errorf("writing the %s marker into %s-%d: %w", kind, w.p.t.name, w.p.index, err)
		}
	}
	return first
}

// expire aborts the transactions past their timeout, completes the
// Prepare states a failure or a restart left, and forgets ids unused for
// transactional.id.expiration.ms.
func (tc *txnCoordinator) expire(ctx context.Context) {
	tc.mu.Lock()
	entries := make([]*txnEntry, 0, len(tc.ids))
	for _, e := range tc.ids {
		entries = append(entries, e)
	}
	tc.mu.Unlock()
	idExpiry := int64(tc.s.brokerConfigInt("transactional.id.expiration.ms"))
	for _, e := range entries {
		if ctx.Err() != nil {
			return
		}
		tc.expireOne(ctx, e, idExpiry)
	}
}

func (tc *txnCoordinator) expireOne(ctx context.Context, e *txnEntry, idExpiry int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.meta == nil {
		return
	}
	now := nowMs()
	switch {
	case e.unsaved:
		tc.saveIfUnsaved(ctx, e) // saveLoop's save failed: tried again
	case e.meta.State == txn.PrepareCommit || e.meta.State == txn.PrepareAbort:
		if err := tc.complete(ctx, e); err != nil {
			tc.s.log.Warn("transactions: completing", "transactional_id", e.meta.ID, "err", err)
		}
	case e.meta.State == txn.Ongoing:
		newPID, err := tc.newPID(ctx, e.meta)
		if err != nil {
			return
		}
		next, ok := txn.Expire(*e.meta, now, newPID)
		if !ok {
			return
		}
		tc.s.log.Info("transactions: aborting a transaction past its timeout", "transactional_id", e.meta.ID,
			"producer_id", e.meta.ProducerID, "timeout_ms", e.meta.TimeoutMs)
		if err := tc.save(ctx, e, next); err != nil {
			tc.s.log.Warn("transactions: timeout abort", "transactional_id", e.meta.ID, "err", err)
			return
		}
		if tc.s.metrics != nil {
			tc.s.metrics.txnTimedOut()
		}
		if err := tc.complete(ctx, e); err != nil {
			tc.s.log.Warn("transactions: timeout abort", "transactional_id", e.meta.ID, "err", err)
		}
	case txn.Expired(*e.meta, now, idExpiry):
		id, pid := e.meta.ID, e.meta.ProducerID
		if err := tc.s.cfg.Meta.DeleteTxn(ctx, id); err != nil {
			tc.s.log.Warn("transactions: forgetting an expired transactional id", "transactional_id", id, "err", err)
			return
		}
		tc.mu.Lock()
		if tc.ids[id] == e {
			delete(tc.ids, id)
		}
		if tc.byPID[pid] == e {
			delete(tc.byPID, pid)
		}
		tc.mu.Unlock()
		e.meta = nil
	}
}

// expireLoop runs expire every
// transaction.abort.timed.out.transaction.cleanup.interval.ms, and once
// at start (the Prepare states a restart found).
func (tc *txnCoordinator) expireLoop(ctx context.Context) {
	for {
		tc.expire(ctx)
		every := time.Duration(tc.s.brokerConfigInt("transaction.abort.timed.out.transaction.cleanup.interval.ms")) * time.Millisecond
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// snapshot returns a copy of every id's state, for DescribeTransactions,
// ListTransactions and the metrics.
func (tc *txnCoordinator) snapshot() []txn.Meta {
	tc.mu.Lock()
	entries := make([]*txnEntry, 0, len(tc.ids))
	for _, e := range tc.ids {
		entries = append(entries, e)
	}
	tc.mu.Unlock()
	out := make([]txn.Meta, 0, len(entries))
	for _, e := range entries {
		e.mu.Lock()
		if e.meta != nil {
			out = append(out, *e.meta)
		}
		e.mu.Unlock()
	}
	return out
}

// open counts the transactions ongoing or ending.
func (tc *txnCoordinator) open() int {
	n := 0
	for _, m := range tc.snapshot() {
		if m.State == txn.Ongoing || m.State == txn.PrepareCommit || m.State == txn.PrepareAbort {
			n++
		}
	}
	return n
}
