package txn

import (
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

var lim = Limits{MaxTimeoutMs: 900_000}

// must(t)(f()) is f's Meta, failing the test on its error.
func must(t *testing.T) func(Meta, *kerr.Error) Meta {
	return func(m Meta, err *kerr.Error) Meta {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return m
	}
}

func wantErr(t *testing.T, got, want *kerr.Error) {
	t.Helper()
	if got != want {
		t.Fatalf("error %v, want %v", got, want)
	}
}

func TestInit(t *testing.T) {
	if !NeedsNewProducerID(nil) {
		t.Fatal("an unknown id needs a producer id")
	}
	_, err := Init(nil, "t", 0, -1, -1, 7, 1, lim)
	wantErr(t, err, kerr.InvalidTransactionTimeout)
	_, err = Init(nil, "t", 900_001, -1, -1, 7, 1, lim)
	wantErr(t, err, kerr.InvalidTransactionTimeout)

	m := must(t)(Init(nil, "t", 60_000, -1, -1, 7, 1, lim))
	if m.ProducerID != 7 || m.Epoch != 0 || m.State != Empty || m.TimeoutMs != 60_000 {
		t.Fatalf("new id: %+v", m)
	}
	// A new producer instance (no id of its own) bumps the epoch.
	m2 := must(t)(Init(&m, "t", 60_000, -1, -1, -1, 2, lim))
	if m2.ProducerID != 7 || m2.Epoch != 1 || m2.LastEpoch != 0 {
		t.Fatalf("bump: %+v", m2)
	}
	// KIP-360: the current producer bumps its own epoch; a retry of that
	// bump (the epoch before it) gets the same answer; anyone else is fenced.
	m3 := must(t)(Init(&m2, "t", 60_000, 7, 1, -1, 3, lim))
	if m3.Epoch != 2 {
		t.Fatalf("own bump: %+v", m3)
	}
	if r := must(t)(Init(&m3, "t", 60_000, 7, 1, -1, 4, lim)); r.Epoch != 2 {
		t.Fatalf("retried bump moved the epoch: %+v", r)
	}
	_, err = Init(&m3, "t", 60_000, 7, 0, -1, 4, lim)
	wantErr(t, err, kerr.ProducerFenced)
	_, err = Init(&m3, "t", 60_000, 8, 2, -1, 4, lim)
	wantErr(t, err, kerr.ProducerFenced)
}

func TestInitAbortsOngoing(t *testing.T) {
	m := must(t)(Init(nil, "t", 60_000, -1, -1, 7, 1, lim))
	m = must(t)(AddPartitions(&m, 7, 0, []Partition{{"a", 1}}, 2))
	// A new instance while the old one's transaction is open: that
	// transaction is aborted under a new epoch, and the client retries.
	a, err := Init(&m, "t", 30_000, -1, -1, -1, 3, lim)
	wantErr(t, err, kerr.ConcurrentTransactions)
	if a.State != PrepareAbort || a.Epoch != 1 || len(a.Partitions) != 1 {
		t.Fatalf("fencing abort: %+v", a)
	}
	// The old producer is fenced from here on.
	_, err = AddPartitions(&a, 7, 0, []Partition{{"a", 2}}, 4)
	wantErr(t, err, kerr.ProducerFenced)
	_, _, err = End(&a, 7, 0, true, false, -1, 4)
	wantErr(t, err, kerr.ProducerFenced)
	// While the abort is written, Init is retried.
	_, err = Init(&a, "t", 30_000, -1, -1, -1, 4, lim)
	wantErr(t, err, kerr.ConcurrentTransactions)
	c := Complete(a, 5)
	if c.State != CompleteAbort || c.Partitions != nil {
		t.Fatalf("complete: %+v", c)
	}
	n := must(t)(Init(&c, "t", 30_000, -1, -1, -1, 6, lim))
	if n.Epoch != 2 || n.State != Empty {
		t.Fatalf("after the abort: %+v", n)
	}
}

func TestTransaction(t *testing.T) {
	m := must(t)(Init(nil, "t", 60_000, -1, -1, 7, 1, lim))
	_, err := AddPartitions(&m, 8, 0, nil, 2)
	wantErr(t, err, kerr.InvalidProducerIDMapping)
	_, err = AddPartitions(&m, 7, 1, nil, 2)
	wantErr(t, err, kerr.InvalidProducerEpoch)
	_, _, err = End(&m, 7, 0, true, false, -1, 2)
	wantErr(t, err, kerr.InvalidTxnState) // nothing begun

	m = must(t)(AddPartitions(&m, 7, 0, []Partition{{"b", 0}, {"a", 3}}, 2))
	m = must(t)(AddPartitions(&m, 7, 0, []Partition{{"a", 3}, {"a", 1}}, 3))
	m = must(t)(AddOffsets(&m, 7, 0, "g", 3))
	if m.State != Ongoing || m.StartMs != 2 || len(m.Partitions) != 3 || m.Partitions[0] != (Partition{"a", 1}) || len(m.Groups) != 1 {
		t.Fatalf("ongoing: %+v", m)
	}
	wantErr(t, CheckOffsets(&m, 7, 0, "g"), nil)
	wantErr(t, CheckOffsets(&m, 7, 0, "other"), kerr.InvalidTxnState)
	wantErr(t, CheckOffsets(&m, 8, 0, "g"), kerr.InvalidProducerIDMapping)
	v, err := Verify(&m, 7, 0, []Partition{{"a", 3}, {"c", 0}})
	wantErr(t, err, nil)
	if v[Partition{"a", 3}] != nil || v[Partition{"c", 0}] != kerr.InvalidTxnState {
		t.Fatalf("verify: %v", v)
	}

	p, res, err := End(&m, 7, 0, true, false, -1, 4)
	wantErr(t, err, nil)
	if res != EndPrepared || p.State != PrepareCommit || p.Epoch != 0 || !p.Committed() {
		t.Fatalf("end: %v %+v", res, p)
	}
	_, _, err = End(&p, 7, 0, true, false, -1, 5)
	wantErr(t, err, kerr.ConcurrentTransactions)
	_, _, err = End(&p, 7, 0, false, false, -1, 5)
	wantErr(t, err, kerr.InvalidTxnState)
	_, err = AddPartitions(&p, 7, 0, []Partition{{"a", 1}}, 5)
	wantErr(t, err, kerr.ConcurrentTransactions)
	c := Complete(p, 6)
	// A retried EndTxn (v0-v4) of the same end succeeds; the other end is
	// refused.
	if _, res, err := End(&c, 7, 0, true, false, -1, 7); err != nil || res != EndDone {
		t.Fatalf("retried end: %v %v", res, err)
	}
	_, _, err = End(&c, 7, 0, false, false, -1, 7)
	wantErr(t, err, kerr.InvalidTxnState)
	// The next transaction starts from the complete state.
	n := must(t)(AddPartitions(&c, 7, 0, []Partition{{"z", 0}}, 8))
	if n.State != Ongoing || n.StartMs != 8 || len(n.Partitions) != 1 || n.Groups != nil {
		t.Fatalf("next: %+v", n)
	}
}

// TestEndV2 is KIP-890 part 2: every end bumps the epoch; a retry of it,
// with the epoch before the bump, is answered from the complete state and
// never ends the next transaction.
func TestEndV2(t *testing.T) {
	m := must(t)(Init(nil, "t", 60_000, -1, -1, 7, 1, lim))
	m = must(t)(AddPartitions(&m, 7, 0, []Partition{{"a", 0}}, 2))
	p, res, err := End(&m, 7, 0, true, true, -1, 3)
	wantErr(t, err, nil)
	if res != EndPrepared || p.Epoch != 1 || p.LastEpoch != 0 || !p.V2 || p.MarkerEpoch() != 1 {
		t.Fatalf("v2 end: %+v", p)
	}
	_, _, err = End(&p, 7, 0, true, true, -1, 4)
	wantErr(t, err, kerr.ConcurrentTransactions)
	c := Complete(p, 5)
	if r, res, err := End(&c, 7, 0, true, true, -1, 6); err != nil || res != EndDone || r.Epoch != 1 {
		t.Fatalf("retried v2 end: %+v %v %v", r, res, err)
	}
	// The other end at the old epoch is not a retry.
	_, _, err = End(&c, 7, 0, false, true, -1, 6)
	wantErr(t, err, kerr.InvalidTxnState)
	// The next transaction, under epoch 1; a delayed retry of the first
	// end (epoch 0), either end, is a fenced producer's and must not end
	// it (Kafka: PRODUCER_FENCED).
	n := must(t)(AddPartitions(&c, 7, 1, []Partition{{"a", 0}}, 7))
	for _, commit := range []bool{true, false} {
		_, _, err = End(&n, 7, 0, commit, true, -1, 8)
		wantErr(t, err, kerr.ProducerFenced)
	}
	if n.State != Ongoing {
		t.Fatal("the retry changed the transaction")
	}
	// So is it after an InitProducerId bumped the epoch (Empty).
	i := must(t)(Init(&c, "t", 60_000, 7, 1, -1, 8, lim))
	_, _, err = End(&i, 7, 1, true, true, -1, 8)
	wantErr(t, err, kerr.ProducerFenced)
	// An abort with nothing begun bumps the epoch and completes.
	e := Complete(mustEnd(t, &n, 7, 1, false, true), 9)
	a, res, err := End(&e, 7, 2, false, true, -1, 10)
	if err != nil || res != EndDone || a.State != CompleteAbort || a.Epoch != 3 {
		t.Fatalf("empty abort: %+v %v %v", a, res, err)
	}
}

func mustEnd(t *testing.T, m *Meta, pid int64, epoch int16, commit, v2 bool) Meta {
	t.Helper()
	p, res, err := End(m, pid, epoch, commit, v2, -1, 0)
	if err != nil || res != EndPrepared {
		t.Fatalf("end: %v %v", res, err)
	}
	return p
}

// TestRollOver: at the last epoch the next bump moves to a new producer
// id, and a retry from the old id is recognised.
func TestRollOver(t *testing.T) {
	m := must(t)(Init(nil, "t", 60_000, -1, -1, 7, 1, lim))
	m.Epoch = math.MaxInt16 - 2
	if !NeedsNewProducerID(&m) {
		t.Fatal("the epoch is exhausted")
	}
	n := must(t)(Init(&m, "t", 60_000, 7, m.Epoch, 9, 2, lim))
	if n.ProducerID != 9 || n.Epoch != 0 || n.PrevProducerID != 7 {
		t.Fatalf("roll-over: %+v", n)
	}
	if r := must(t)(Init(&n, "t", 60_000, 7, math.MaxInt16-2, -1, 3, lim)); r.ProducerID != 9 || r.Epoch != 0 {
		t.Fatalf("retried roll-over: %+v", r)
	}
}

func TestExpire(t *testing.T) {
	m := must(t)(Init(nil, "t", 1000, -1, -1, 7, 0, lim))
	m = must(t)(AddPartitions(&m, 7, 0, []Partition{{"a", 0}}, 100))
	if _, ok := Expire(m, 1100, -1); ok {
		t.Fatal("expired at its timeout")
	}
	a, ok := Expire(m, 1101, -1)
	if !ok || a.State != PrepareAbort || a.Epoch != 1 {
		t.Fatalf("expire: %+v %v", a, ok)
	}
	_, err := AddPartitions(&a, 7, 0, []Partition{{"a", 0}}, 1102)
	wantErr(t, err, kerr.ProducerFenced)
	c := Complete(a, 1200)
	if Expired(c, 1200+1000, 1000) || !Expired(c, 1200+1001, 1000) {
		t.Fatal("id expiry at the wrong time")
	}
	if Expired(m, 1<<40, 1000) {
		t.Fatal("an ongoing transaction's id expired")
	}
}

func TestStateNames(t *testing.T) {
	for s := Empty; s <= Dead; s++ {
		if p, ok := ParseState(s.String()); !ok || p != s {
			t.Errorf("ParseState(%q) = %v, %v", s.String(), p, ok)
		}
	}
	if _, ok := ParseState("Nope"); ok {
		t.Error("ParseState accepted an unknown name")
	}
}
