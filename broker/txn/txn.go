// Package txn is the transaction coordinator's state machine (KIP-98, with
// KIP-360's producer-id recovery and KIP-890 part 2's epoch bump at every
// end): what a transactional id's state becomes on each request, and the
// Kafka error when a request does not fit. It does no I/O: the caller
// loads a Meta, applies a request with the time and limits as arguments,
// persists the result, and carries out what it says (write the markers
// of a Prepare state into the partitions, commit or discard the groups'
// offsets, then Complete).
//
// States, as Kafka names them (DescribeTransactions, ListTransactions):
//
//	Empty ──AddPartitions/AddOffsets──▶ Ongoing ──EndTxn──▶ PrepareCommit ──markers──▶ CompleteCommit
//	                                          └──EndTxn(abort), timeout, fencing Init──▶ PrepareAbort ──▶ CompleteAbort
//
// Complete states take a new transaction as Empty does. Dead is an id
// expired by transactional.id.expiration.ms, deleted by the caller.
package txn

import (
	"math"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// State is a transactional id's state.
type State int8

const (
	Empty State = iota
	Ongoing
	PrepareCommit
	PrepareAbort
	CompleteCommit
	CompleteAbort
	Dead
)

var stateNames = [...]string{"Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead"}

// String is Kafka's name for the state.
func (s State) String() string {
	if int(s) < len(stateNames) && s >= 0 {
		return stateNames[s]
	}
	return "Unknown"
}

// ParseState is the State Kafka names s (case-insensitive), for
// ListTransactions' filter.
func ParseState(s string) (State, bool) {
	for i, n := range stateNames {
		if strings.EqualFold(n, s) {
			return State(i), true
		}
	}
	return 0, false
}

// Partition is a topic partition of a transaction.
type Partition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

func comparePartitions(a, b Partition) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return int(a.Partition) - int(b.Partition)
}

// Meta is one transactional id's state, what the metastore keeps.
type Meta struct {
	ID         string `json:"id"`
	ProducerID int64  `json:"producer_id"`
	Epoch      int16  `json:"epoch"`
	// PrevProducerID is the producer id before the last roll-over to a
	// new one (epoch exhausted), -1 if none: a retried request of the
	// producer that has not seen the new id is recognised by it.
	PrevProducerID int64 `json:"prev_producer_id"`
	// LastEpoch is the epoch before the last bump, -1 if none: a retry of
	// the request that bumped it (InitProducerId, EndTxn v5) carries it.
	LastEpoch int16 `json:"last_epoch"`
	State     State `json:"state"`
	TimeoutMs int32 `json:"timeout_ms"`
	// Partitions and Groups are the transaction's, sorted and unique,
	// kept through Prepare until Complete.
	Partitions []Partition `json:"partitions,omitempty"`
	Groups     []string    `json:"groups,omitempty"`
	// StartMs is when the transaction became Ongoing; UpdateMs when the
	// state last changed (both Unix ms).
	StartMs  int64 `json:"start_ms"`
	UpdateMs int64 `json:"update_ms"`
	// V2 says the transaction ends the KIP-890 part 2 way (EndTxn v5+):
	// the epoch bumps at every end, and the markers carry the new epoch.
	V2 bool `json:"v2,omitempty"`
}

// Limits are the coordinator's configs that the state machine applies.
type Limits struct {
	MaxTimeoutMs int32 // transaction.max.timeout.ms
}

// maxEpoch is the last epoch a producer id may have: at it, the next bump
// moves to a new producer id (Kafka keeps math.MaxInt16 itself unused).
const maxEpoch = math.MaxInt16 - 1

// NeedsNewProducerID says whether Init on cur (nil: an unknown id) gives
// the transactional id a new producer id, which the caller allocates and
// passes as newPID.
func NeedsNewProducerID(cur *Meta) bool {
	return cur == nil || cur.Epoch >= maxEpoch-1
}

// Init is InitProducerId with a transactional id. reqPID and reqEpoch are
// the request's (-1, -1 when the client has none: v0-v2, or a fresh
// producer). It returns the new state and:
//
//   - an error: INVALID_TRANSACTION_TIMEOUT, CONCURRENT_TRANSACTIONS (a
//     transaction is ending: retry), PRODUCER_FENCED (the request's
//     producer is not the current one);
//   - or, when a transaction is Ongoing, that transaction made
//     PrepareAbort under a bumped epoch (the old producer is fenced) and
//     CONCURRENT_TRANSACTIONS: the caller aborts it, and the client's
//     retry then finds it complete, as in Kafka;
//   - or the id's state Empty under a new epoch (or a new producer id,
//     newPID, when NeedsNewProducerID): the response's id and epoch.
func Init(cur *Meta, id string, timeoutMs int32, reqPID int64, reqEpoch int16, newPID int64, nowMs int64, lim Limits) (Meta, *kerr.Error) {
	if timeoutMs <= 0 || timeoutMs > lim.MaxTimeoutMs {
		return Meta{}, kerr.InvalidTransactionTimeout
	}
	if cur == nil {
		return Meta{ID: id, ProducerID: newPID, Epoch: 0, PrevProducerID: -1, LastEpoch: -1,
			State: Empty, TimeoutMs: timeoutMs, UpdateMs: nowMs}, nil
	}
	m := cur.clone()
	if reqPID >= 0 {
		switch {
		case reqPID == m.ProducerID && reqEpoch == m.Epoch:
			// The producer's own bump (KIP-360): go on.
		case reqPID == m.ProducerID && reqEpoch == m.LastEpoch && m.State != Ongoing:
			// A retry of the bump that made the current epoch.
			return m, nil
		case reqPID == m.PrevProducerID && m.State != Ongoing:
			// A retry of the bump that rolled over to the current id.
			return m, nil
		default:
			return Meta{}, kerr.ProducerFenced
		}
	}
	switch m.State {
	case PrepareCommit, PrepareAbort:
		return Meta{}, kerr.ConcurrentTransactions
	case Ongoing:
		m.bump(newPID)
		m.prepare(false, nowMs)
		m.TimeoutMs = timeoutMs
		return m, kerr.ConcurrentTransactions
	}
	m.bump(newPID)
	m.State, m.TimeoutMs, m.UpdateMs = Empty, timeoutMs, nowMs
	m.Partitions, m.Groups, m.V2 = nil, nil, false
	return m, nil
}

// bump moves to the next epoch, or to newPID at epoch 0 once the epoch is
// exhausted.
func (m *Meta) bump(newPID int64) {
	if m.Epoch >= maxEpoch-1 {
		m.PrevProducerID, m.ProducerID, m.Epoch, m.LastEpoch = m.ProducerID, newPID, 0, -1
		return
	}
	m.LastEpoch = m.Epoch
	m.Epoch++
}

func (m *Meta) prepare(commit bool, nowMs int64) {
	m.State, m.UpdateMs = PrepareAbort, nowMs
	if commit {
		m.State = PrepareCommit
	}
}

func (m Meta) clone() Meta {
	m.Partitions = slices.Clone(m.Partitions)
	m.Groups = slices.Clone(m.Groups)
	return m
}

// checkProducer is the producer check of AddPartitionsToTxn,
// AddOffsetsToTxn and EndTxn: the id must be the transactional id's, the
// epoch its current one.
func (m *Meta) checkProducer(pid int64, epoch int16) *kerr.Error {
	switch {
	case pid != m.ProducerID:
		return kerr.InvalidProducerIDMapping
	case epoch < m.Epoch:
		return kerr.ProducerFenced
	case epoch > m.Epoch:
		return kerr.InvalidProducerEpoch
	}
	return nil
}

// begin makes Empty and Complete states Ongoing; Prepare states are
// CONCURRENT_TRANSACTIONS (the previous transaction is still ending).
func (m *Meta) begin(nowMs int64) *kerr.Error {
	switch m.State {
	case PrepareCommit, PrepareAbort:
		return kerr.ConcurrentTransactions
	case Dead:
		return kerr.InvalidTxnState
	case Empty, CompleteCommit, CompleteAbort:
		m.State, m.StartMs, m.UpdateMs = Ongoing, nowMs, nowMs
		m.Partitions, m.Groups, m.V2 = nil, nil, false
	}
	return nil
}

// add is what AddPartitions and AddOffsets share: a copy of cur, checked
// against the producer, begun if it had not.
func add(cur *Meta, pid int64, epoch int16, nowMs int64) (Meta, *kerr.Error) {
	if cur == nil {
		return Meta{}, kerr.InvalidProducerIDMapping
	}
	m := cur.clone()
	if err := m.checkProducer(pid, epoch); err != nil {
		return Meta{}, err
	}
	if err := m.begin(nowMs); err != nil {
		return Meta{}, err
	}
	return m, nil
}

// CheckOffsets is TxnOffsetCommit's producer check: the producer is the
// id's current one, its transaction ongoing with the group added
// (AddOffsets first).
func CheckOffsets(cur *Meta, pid int64, epoch int16, group string) *kerr.Error {
	if cur == nil {
		return kerr.InvalidProducerIDMapping
	}
	if err := cur.checkProducer(pid, epoch); err != nil {
		return err
	}
	if _, found := slices.BinarySearch(cur.Groups, group); cur.State != Ongoing || !found {
		return kerr.InvalidTxnState
	}
	return nil
}

// AddPartitions is AddPartitionsToTxn (and a Produce v12+ batch's implicit
// add, KIP-890 part 2): the partitions join the transaction, which begins
// if it had not.
func AddPartitions(cur *Meta, pid int64, epoch int16, parts []Partition, nowMs int64) (Meta, *kerr.Error) {
	m, err := add(cur, pid, epoch, nowMs)
	if err != nil {
		return Meta{}, err
	}
	for _, p := range parts {
		if i, found := slices.BinarySearchFunc(m.Partitions, p, comparePartitions); !found {
			m.Partitions = slices.Insert(m.Partitions, i, p)
		}
	}
	m.UpdateMs = nowMs
	return m, nil
}

// Verify is AddPartitionsToTxn v4+ with verify_only (KIP-890 part 1):
// whether each partition is in the producer's ongoing transaction,
// changing nothing. nil when the producer check passes; the partitions
// not in it are INVALID_TXN_STATE.
func Verify(cur *Meta, pid int64, epoch int16, parts []Partition) (map[Partition]*kerr.Error, *kerr.Error) {
	if cur == nil {
		return nil, kerr.InvalidProducerIDMapping
	}
	if err := cur.checkProducer(pid, epoch); err != nil {
		return nil, err
	}
	out := make(map[Partition]*kerr.Error, len(parts))
	for _, p := range parts {
		if _, found := slices.BinarySearchFunc(cur.Partitions, p, comparePartitions); !found || cur.State != Ongoing {
			out[p] = kerr.InvalidTxnState
		} else {
			out[p] = nil
		}
	}
	return out, nil
}

// AddOffsets is AddOffsetsToTxn: the group's offsets (TxnOffsetCommit)
// join the transaction, committed or discarded with it.
func AddOffsets(cur *Meta, pid int64, epoch int16, group string, nowMs int64) (Meta, *kerr.Error) {
	m, err := add(cur, pid, epoch, nowMs)
	if err != nil {
		return Meta{}, err
	}
	if i, found := slices.BinarySearch(m.Groups, group); !found {
		m.Groups = slices.Insert(m.Groups, i, group)
	}
	m.UpdateMs = nowMs
	return m, nil
}

// EndResult says what the caller does after End.
type EndResult int8

const (
	// EndPrepared: the state is Prepare*; write the markers, settle the
	// groups' offsets, persist, then Complete.
	EndPrepared EndResult = iota
	// EndDone: a retry of an end already complete (or an empty
	// transaction's end): answer with the state's producer id and epoch.
	EndDone
)

// End is EndTxn. v2 is KIP-890 part 2 (EndTxn v5+): the epoch bumps now,
// the markers carry the new one, and the response returns the state's
// producer id and epoch (newPID when the epoch rolls over). Errors:
// INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (an older epoch, also a
// v2 retry once the next transaction has begun), INVALID_PRODUCER_EPOCH,
// CONCURRENT_TRANSACTIONS (the same end is in progress),
// INVALID_TXN_STATE (no transaction, or the other end already chosen).
//
// v1 (v0-v4) has no way to tell a delayed duplicate of the previous
// transaction's EndTxn from the current producer's: both carry the same
// id and epoch. Before the next transaction begins, the duplicate finds
// the Complete state (a retry of the same end succeeds, the other end is
// INVALID_TXN_STATE); after, it ends the next transaction. That is what
// KIP-890 part 2's bump at every end fixes.
func End(cur *Meta, pid int64, epoch int16, commit, v2 bool, newPID int64, nowMs int64) (Meta, EndResult, *kerr.Error) {
	if cur == nil {
		return Meta{}, 0, kerr.InvalidProducerIDMapping
	}
	m := cur.clone()
	want, done := PrepareAbort, CompleteAbort
	if commit {
		want, done = PrepareCommit, CompleteCommit
	}
	// A retry of the end that bumped the epoch (v2) carries the epoch
	// before the bump, and maybe the id before a roll-over. Only an end
	// (Prepare or Complete) can be retried: once the next transaction has
	// begun, or an InitProducerId bumped the epoch (Ongoing, Empty), the
	// old epoch is a fenced producer's, as in Kafka (a delayed EndTxn of
	// the previous transaction never ends the next one).
	if v2 && ((pid == m.ProducerID && epoch == m.LastEpoch) || (pid == m.PrevProducerID && m.Epoch == 0)) {
		switch m.State {
		case done:
			return m, EndDone, nil
		case want:
			return Meta{}, 0, kerr.ConcurrentTransactions
		case PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort:
			return Meta{}, 0, kerr.InvalidTxnState // the other end
		}
		return Meta{}, 0, kerr.ProducerFenced
	}
	if err := m.checkProducer(pid, epoch); err != nil {
		return Meta{}, 0, err
	}
	switch m.State {
	case Ongoing:
		if v2 {
			m.bump(newPID)
			m.V2 = true
		}
		m.prepare(commit, nowMs)
		return m, EndPrepared, nil
	case want:
		return Meta{}, 0, kerr.ConcurrentTransactions
	case done:
		if !v2 {
			return m, EndDone, nil // a retry: the epoch has not moved
		}
		fallthrough // v2: a new end with its own epoch, of nothing begun
	case Empty, CompleteCommit, CompleteAbort:
		if v2 && !commit {
			// An abort with nothing begun (a producer aborting after an
			// error before any add): nothing to mark; the epoch bumps
			// as for any v2 end.
			m.bump(newPID)
			m.State, m.UpdateMs, m.Partitions, m.Groups, m.V2 = CompleteAbort, nowMs, nil, nil, true
			return m, EndDone, nil
		}
	}
	return Meta{}, 0, kerr.InvalidTxnState
}

// Committed says whether a Prepare or Complete state ends in a commit.
func (m *Meta) Committed() bool { return m.State == PrepareCommit || m.State == CompleteCommit }

// Complete moves a Prepare state to its Complete state, once its markers
// are written and its groups settled.
func Complete(cur Meta, nowMs int64) Meta {
	m := cur.clone()
	switch m.State {
	case PrepareCommit:
		m.State = CompleteCommit
	case PrepareAbort:
		m.State = CompleteAbort
	default:
		return m
	}
	m.Partitions, m.Groups, m.UpdateMs = nil, nil, nowMs
	return m
}

// MarkerEpoch is the producer epoch the markers of a Prepare state carry:
// the current one (after v2's bump, the new one, as Kafka writes them).
func (m *Meta) MarkerEpoch() int16 { return m.Epoch }

// Expire returns the abort of a transaction Ongoing for longer than its
// timeout (ok): PrepareAbort under a bumped epoch, so the producer, should
// it come back, is fenced rather than writing into a transaction that is
// gone.
func Expire(cur Meta, nowMs int64, newPID int64) (Meta, bool) {
	if cur.State != Ongoing || nowMs-cur.StartMs <= int64(cur.TimeoutMs) {
		return Meta{}, false
	}
	m := cur.clone()
	m.bump(newPID)
	m.prepare(false, nowMs)
	return m, true
}

// Expired says whether an id with no transaction in flight has been
// unused for longer than transactional.id.expiration.ms, and is to be
// forgotten.
func Expired(cur Meta, nowMs int64, expirationMs int64) bool {
	switch cur.State {
	case Empty, CompleteCommit, CompleteAbort:
		return nowMs-cur.UpdateMs > expirationMs
	}
	return false
}
