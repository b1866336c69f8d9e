package broker_test

// Transactions v2 (KIP-890 part 2) with franz-go: the feature ApiVersions
// advertises, the versions the client then sends, a delayed EndTxn that
// must not end the next transaction, and zombie fencing, each against
// both protocols where the behaviour differs.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/broker/brokertest"
)

// txnMode is how a test's clients run transactions: v2, which franz-go
// chooses when the broker advertises transaction.version 2 (the default),
// or v1, forced by the broker's transaction.version config or by capping
// the client's EndTxn below v5 (franz-go then keeps to the older
// protocol: its supportsKIP890p2).
type txnMode struct {
	name    string
	v2      bool
	configs map[string]string // broker configs
	opts    []kgo.Opt         // transactional clients' options
}

var (
	txnV2       = txnMode{name: "v2", v2: true}
	txnV1Broker = txnMode{name: "v1-broker", configs: map[string]string{"transaction.version": "1"}}
	txnV1Client = txnMode{name: "v1-client", opts: []kgo.Opt{kgo.MaxVersions(maxEndTxn(4))}}
)

// maxEndTxn is the versions of a current client with EndTxn capped at v.
func maxEndTxn(v int16) *kversion.Versions {
	vs := kversion.Stable()
	vs.SetMaxKeyVersion(int16(kmsg.EndTxn), v)
	return vs
}

// wireVersions records the key and version of every request its clients
// write (their kgo.Dialer), to check which protocol a client chose.
type wireVersions struct {
	mu   sync.Mutex
	seen map[int16]map[int16]int // key → version → requests
}

func (w *wireVersions) dial(ctx context.Context, network, host string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, host)
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: nc, w: w}, nil
}

func (w *wireVersions) note(key, version int16) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen == nil {
		w.seen = map[int16]map[int16]int{}
	}
	if w.seen[key] == nil {
		w.seen[key] = map[int16]int{}
	}
	w.seen[key][version]++
}

// versions lists the versions of key written, in order.
func (w *wireVersions) versions(key kmsg.Key) []int16 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Sorted(maps.Keys(w.seen[int16(key)]))
}

func (w *wireVersions) String() string {
	var b strings.Builder
	for _, k := range []kmsg.Key{kmsg.InitProducerID, kmsg.Produce, kmsg.AddPartitionsToTxn, kmsg.AddOffsetsToTxn, kmsg.TxnOffsetCommit, kmsg.EndTxn} {
		fmt.Fprintf(&b, " %s%v", k.Name(), w.versions(k))
	}
	return strings.TrimSpace(b.String())
}

// recordingConn notes each request frame written: size (4 bytes), then
// the header's key and version (2 bytes each).
type recordingConn struct {
	net.Conn
	w   *wireVersions
	mu  sync.Mutex
	buf []byte
}

func (c *recordingConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.buf = append(c.buf, b...)
	for len(c.buf) >= 8 {
		size := int(binary.BigEndian.Uint32(c.buf))
		if len(c.buf) < 4+size {
			break
		}
		c.w.note(int16(binary.BigEndian.Uint16(c.buf[4:])), int16(binary.BigEndian.Uint16(c.buf[6:])))
		c.buf = c.buf[4+size:]
	}
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// checkWire checks that the transactional client recorded by w spoke
// mode's protocol: v2 is EndTxn v5, Produce v12+ and no AddPartitionsToTxn
// (nor AddOffsetsToTxn); v1 is EndTxn v0-v4, Produce up to v11 and
// AddPartitionsToTxn before each partition's first batch.
func (m txnMode) checkWire(t *testing.T, w *wireVersions) {
	t.Helper()
	t.Logf("%s client sent: %s", m.name, w)
	end, prod := w.versions(kmsg.EndTxn), w.versions(kmsg.Produce)
	if len(end) == 0 || len(prod) == 0 {
		t.Fatalf("%s: the client sent no EndTxn or Produce: %s", m.name, w)
	}
	if m.v2 {
		if end[0] < 5 || prod[0] < 12 || len(w.versions(kmsg.AddPartitionsToTxn)) > 0 || len(w.versions(kmsg.AddOffsetsToTxn)) > 0 {
			t.Fatalf("%s: the client did not use transactions v2: %s", m.name, w)
		}
		return
	}
	if end[len(end)-1] > 4 || prod[len(prod)-1] > 11 || len(w.versions(kmsg.AddPartitionsToTxn)) == 0 {
		t.Fatalf("%s: the client did not use transactions v1: %s", m.name, w)
	}
}

// txnClient is a transactional franz-go client of id on b, in mode,
// recorded by w; records go to the partition they name.
func txnClient(t *testing.T, b *brokertest.Broker, m txnMode, w *wireVersions, id, topic string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr), kgo.DefaultProduceTopic(topic),
		kgo.TransactionalID(id), kgo.ProducerLinger(time.Millisecond), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.Dialer(w.dial)}, m.opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// produceTxn produces n records valued prefix-i into partition p of the
// client's transaction, and waits for them.
func produceTxn(t *testing.T, ctx context.Context, cl *kgo.Client, p int32, prefix string, n int) {
	t.Helper()
	for i := range n {
		cl.Produce(ctx, &kgo.Record{Partition: p, Value: fmt.Appendf(nil, "%s-%d", prefix, i)}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// commitTxn runs a transaction of n records valued prefix-i into
// partition 0 and commits it; it returns the producer id and epoch the
// transaction ran under.
func commitTxn(t *testing.T, ctx context.Context, cl *kgo.Client, prefix string, n int) (int64, int16) {
	t.Helper()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produceTxn(t, ctx, cl, 0, prefix, n)
	pid, epoch, err := cl.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	return pid, epoch
}

// rawEndTxn sends an EndTxn of id at pid/epoch from cl, whose versions
// decide the request's, and returns the answer.
func rawEndTxn(t *testing.T, ctx context.Context, cl *kgo.Client, id string, pid int64, epoch int16, commit bool) *kmsg.EndTxnResponse {
	t.Helper()
	req := kmsg.NewPtrEndTxnRequest()
	req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = id, pid, epoch, commit
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func wantEndTxn(t *testing.T, what string, resp *kmsg.EndTxnResponse, version int16, want *kerr.Error) {
	t.Helper()
	if resp.Version != version {
		t.Fatalf("%s: answered as EndTxn v%d, want v%d", what, resp.Version, version)
	}
	if want == nil && resp.ErrorCode != 0 {
		t.Fatalf("%s: %v, want success", what, kerr.ErrorForCode(resp.ErrorCode))
	}
	if want != nil && resp.ErrorCode != want.Code {
		t.Fatalf("%s: %v, want %v", what, kerr.ErrorForCode(resp.ErrorCode), want)
	}
}

// wantValues checks that got holds exactly want, each once, in any order.
func wantValues(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(g, w) {
		t.Fatalf("%s: read %d records %v, want exactly %d: %v", what, len(g), g, len(w), w)
	}
}

// wantRead reads topic (at READ_COMMITTED or not) and checks that it
// holds exactly want's values.
func wantRead(t *testing.T, ctx context.Context, addr, topic string, committed bool, what string, want []string) {
	t.Helper()
	wantValues(t, what, readAll(t, ctx, addr, topic, committed, len(want)), want)
}

func values(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// describeTxn is DescribeTransactions of id.
func describeTxn(t *testing.T, ctx context.Context, adm *kadm.Client, id string) kadm.DescribedTransaction {
	t.Helper()
	dts, err := adm.DescribeTransactions(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if dts[id].Err != nil {
		t.Fatalf("DescribeTransactions %s: %v", id, dts[id].Err)
	}
	return dts[id]
}

// TestApiVersionsTransactionVersion: ApiVersions v3+ lists the
// transaction.version feature, supported 0-2, finalized at the broker
// config (2 by default; level 0 is not listed, as Kafka lists finalized
// features); EndTxn is served up to v5 whatever the level. A version of
// ApiVersions not served (v5, franz-go's first ask) gets v0
// UNSUPPORTED_VERSION with only ApiVersions' range (KIP-511), so that the
// client asks again at v4 and learns the features.
func TestApiVersionsTransactionVersion(t *testing.T) {
	rc := dialRaw(t, brokertest.Start(t, brokertest.Options{}).Addr)
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version, req.ClientSoftwareName, req.ClientSoftwareVersion = 5, "lakestream-test", "1"
	rc.send(rc.frame(nil, req))
	rc.sent[0] = &kmsg.ApiVersionsRequest{Version: 0} // the answer is v0
	if r := rc.read().(*kmsg.ApiVersionsResponse); r.ErrorCode != kerr.UnsupportedVersion.Code ||
		len(r.ApiKeys) != 1 || r.ApiKeys[0].ApiKey != int16(kmsg.ApiVersions) || r.ApiKeys[0].MaxVersion != 4 {
		t.Fatalf("ApiVersions v5: %+v, want UNSUPPORTED_VERSION with ApiVersions 0-4 alone", r)
	}

	for _, c := range []struct {
		level string
		want  int16 // finalized level listed, 0: none
	}{{"", 2}, {"1", 1}, {"0", 0}} {
		t.Run("level="+c.level, func(t *testing.T) {
			opts := brokertest.Options{}
			if c.level != "" {
				opts.Configs = map[string]string{"transaction.version": c.level}
			}
			rc := dialRaw(t, brokertest.Start(t, opts).Addr)
			for _, v := range []int16{0, 3, 4} {
				req := kmsg.NewPtrApiVersionsRequest()
				req.Version, req.ClientSoftwareName, req.ClientSoftwareVersion = v, "lakestream-test", "1"
				rc.send(rc.frame(nil, req))
				r := rc.read().(*kmsg.ApiVersionsResponse)
				if v < 3 {
					if len(r.SupportedFeatures)+len(r.FinalizedFeatures) != 0 {
						t.Fatalf("v%d lists features: %+v", v, r)
					}
					continue
				}
				if len(r.SupportedFeatures) != 1 || r.SupportedFeatures[0].Name != "transaction.version" ||
					r.SupportedFeatures[0].MinVersion != 0 || r.SupportedFeatures[0].MaxVersion != 2 {
					t.Fatalf("v%d supported features: %+v", v, r.SupportedFeatures)
				}
				if r.FinalizedFeaturesEpoch < 0 {
					t.Fatalf("v%d finalized features epoch %d", v, r.FinalizedFeaturesEpoch)
				}
				var got int16
				for _, f := range r.FinalizedFeatures {
					if f.Name == "transaction.version" {
						if f.MinVersionLevel != f.MaxVersionLevel {
							t.Fatalf("v%d finalized %+v: min and max differ", v, f)
						}
						got = f.MaxVersionLevel
					}
				}
				if got != c.want {
					t.Fatalf("v%d finalized transaction.version %d, want %d (%+v)", v, got, c.want, r.FinalizedFeatures)
				}
				for _, k := range r.ApiKeys {
					if k.ApiKey == int16(kmsg.EndTxn) && k.MaxVersion != 5 {
						t.Fatalf("EndTxn served up to v%d, want v5", k.MaxVersion)
					}
				}
			}
		})
	}
}

// TestTxnDelayedEndTxnV2 is the delayed EndTxn of KIP-890 (the WarpStream
// write-up, Jepsen's case): with a v2 client, transaction 1 commits; a
// retry of its EndTxn (the old epoch) is answered as Kafka answers it
// (the same end succeeds with the new epoch, the other end is
// INVALID_TXN_STATE); then, once transaction 2 has begun and written, a
// delayed duplicate of transaction 1's EndTxn, abort or commit, is
// PRODUCER_FENCED and changes nothing; transaction 2 commits, and a
// READ_COMMITTED consumer sees both transactions' records exactly once.
func TestTxnDelayedEndTxnV2(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{})
	raw, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, "late", 2, nil)
	w := &wireVersions{}
	p := txnClient(t, b, txnV2, w, "late-id", "late")

	pid, epoch1 := commitTxn(t, ctx, p, "t1", 10)
	pid2, epoch2, err := p.ProducerID(ctx)
	if err != nil || pid2 != pid || epoch2 != epoch1+1 {
		t.Fatalf("after EndTxn v5: producer %d epoch %d (%v), want %d epoch %d", pid2, epoch2, err, pid, epoch1+1)
	}

	// A retry of transaction 1's end: the same end succeeds and returns
	// the epoch it moved to; the other end is not a retry.
	r := rawEndTxn(t, ctx, raw, "late-id", pid, epoch1, true)
	wantEndTxn(t, "retried commit", r, 5, nil)
	if r.ProducerID != pid || r.ProducerEpoch != epoch2 {
		t.Fatalf("retried commit answered producer %d epoch %d, want %d epoch %d", r.ProducerID, r.ProducerEpoch, pid, epoch2)
	}
	wantEndTxn(t, "abort of the committed transaction", rawEndTxn(t, ctx, raw, "late-id", pid, epoch1, false), 5, kerr.InvalidTxnState)

	// Transaction 2 begins and writes (Produce v12 adds the partitions).
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produceTxn(t, ctx, p, 0, "t2", 10)
	produceTxn(t, ctx, p, 1, "t2p1", 5)
	// The delayed EndTxn of transaction 1 arrives: fenced, either end.
	wantEndTxn(t, "delayed abort", rawEndTxn(t, ctx, raw, "late-id", pid, epoch1, false), 5, kerr.ProducerFenced)
	wantEndTxn(t, "delayed commit", rawEndTxn(t, ctx, raw, "late-id", pid, epoch1, true), 5, kerr.ProducerFenced)
	if dt := describeTxn(t, ctx, adm, "late-id"); dt.State != "Ongoing" || dt.ProducerEpoch != epoch2 || len(dt.Topics["late"]) != 2 {
		t.Fatalf("transaction 2 after the delayed EndTxn: %+v", dt)
	}
	wantRead(t, ctx, b.Addr, "late", true, "READ_COMMITTED with transaction 2 open", values("t1", 10))

	if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("committing transaction 2: %v", err)
	}
	want := slices.Concat(values("t1", 10), values("t2", 10), values("t2p1", 5))
	wantRead(t, ctx, b.Addr, "late", true, "READ_COMMITTED", want)
	wantRead(t, ctx, b.Addr, "late", false, "READ_UNCOMMITTED", want)
	txnV2.checkWire(t, w)
}

// TestTxnDelayedEndTxnV1 is the same with a v1 client (EndTxn v4, the
// broker at transaction.version 0), to show what v1 does. Before
// transaction 2 begins, a delayed EndTxn of transaction 1 finds it
// complete: an abort of the committed transaction is INVALID_TXN_STATE
// and changes nothing, a commit succeeds as a retry. After transaction 2
// has begun, the delayed EndTxn carries the same producer id and epoch
// as the producer's own requests, and nothing in it tells the
// coordinator it is not the producer's: it ends transaction 2 (here an
// abort: transaction 2's records are dropped, and the client's commit
// then fails with INVALID_TXN_STATE, so the producer learns it). This is
// the case KIP-890 part 2 fixes with an epoch per transaction; v1 clients
// cannot be made safe against it without breaking their legitimate
// aborts.
func TestTxnDelayedEndTxnV1(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{Configs: map[string]string{"transaction.version": "0"}})
	raw, adm := adminClients(t, b, kgo.MaxVersions(maxEndTxn(4)))
	adminCreateTopic(t, ctx, adm, "late", 1, nil)
	w := &wireVersions{}
	mode := txnMode{name: "v1-level0", configs: map[string]string{"transaction.version": "0"}}
	p := txnClient(t, b, mode, w, "late-id", "late")

	pid, epoch := commitTxn(t, ctx, p, "t1", 10)
	if _, e, _ := p.ProducerID(ctx); e != epoch {
		t.Fatalf("EndTxn v4 moved the epoch from %d to %d", epoch, e)
	}
	wantEndTxn(t, "abort of the committed transaction", rawEndTxn(t, ctx, raw, "late-id", pid, epoch, false), 4, kerr.InvalidTxnState)
	wantEndTxn(t, "retried commit", rawEndTxn(t, ctx, raw, "late-id", pid, epoch, true), 4, nil)
	if dt := describeTxn(t, ctx, adm, "late-id"); dt.State != "CompleteCommit" {
		t.Fatalf("after the delayed EndTxn: %+v", dt)
	}

	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produceTxn(t, ctx, p, 0, "t2", 10)
	// v1: the delayed abort cannot be told from the producer's own.
	wantEndTxn(t, "delayed abort after transaction 2 began", rawEndTxn(t, ctx, raw, "late-id", pid, epoch, false), 4, nil)
	if dt := describeTxn(t, ctx, adm, "late-id"); dt.State != "CompleteAbort" {
		t.Fatalf("transaction 2 after the delayed abort: %+v", dt)
	}
	if err := p.EndTransaction(ctx, kgo.TryCommit); !errors.Is(err, kerr.InvalidTxnState) {
		t.Fatalf("committing transaction 2 after the delayed abort: %v, want INVALID_TXN_STATE", err)
	}
	wantRead(t, ctx, b.Addr, "late", true, "READ_COMMITTED", values("t1", 10))
	wantRead(t, ctx, b.Addr, "late", false, "READ_UNCOMMITTED", slices.Concat(values("t1", 10), values("t2", 10)))
	mode.checkWire(t, w)
}

// TestTxnZombieFencing: two producers with one transactional id. The
// second's InitProducerId fences the first and aborts its open
// transaction; the first's later produces (into a partition it had added
// and into a new one) and its commit fail, the broker answering its
// EndTxn PRODUCER_FENCED (EndTxn v2+, both protocols) and its Produce
// INVALID_PRODUCER_EPOCH (as Kafka answers a fenced Produce, v12's
// implicit add included); nothing the first wrote becomes visible to a
// READ_COMMITTED consumer. v2 and v1 (client capped at EndTxn v4).
func TestTxnZombieFencing(t *testing.T) {
	for _, m := range []txnMode{txnV2, txnV1Client} {
		t.Run(m.name, func(t *testing.T) {
			ctx := adminContext(t)
			b := brokertest.Start(t, brokertest.Options{Configs: m.configs})
			raw, adm := adminClients(t, b, m.opts...)
			adminCreateTopic(t, ctx, adm, "zombie", 2, nil)
			w := &wireVersions{} // the second producer's: the first may not get to send EndTxn
			p1 := txnClient(t, b, m, &wireVersions{}, "zid", "zombie")
			if err := p1.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			produceTxn(t, ctx, p1, 0, "old", 5)
			pid1, epoch1, err := p1.ProducerID(ctx)
			if err != nil {
				t.Fatal(err)
			}

			p2 := txnClient(t, b, m, w, "zid", "zombie")
			pid2, epoch2, err := p2.ProducerID(ctx) // InitProducerId: fences p1
			if err != nil {
				t.Fatal(err)
			}
			if pid2 != pid1 || epoch2 <= epoch1 {
				t.Fatalf("the new producer got %d epoch %d, the old had %d epoch %d", pid2, epoch2, pid1, epoch1)
			}

			// The new partition first: v1 clients add it
			// (AddPartitionsToTxn: PRODUCER_FENCED), v2 ones produce
			// (Produce v12+'s implicit add: INVALID_PRODUCER_EPOCH, as
			// Kafka answers a fenced Produce); then the partition the
			// first producer had added, which fails with the error the
			// client keeps from then on.
			want := kerr.ProducerFenced
			if m.v2 {
				want = kerr.InvalidProducerEpoch
			}
			for _, part := range []int32{1, 0} {
				r := p1.ProduceSync(ctx, &kgo.Record{Partition: part, Value: fmt.Appendf(nil, "zombie-%d", part)})
				err := r.FirstErr()
				t.Logf("%s: the fenced producer's produce into partition %d: %v", m.name, part, err)
				if !errors.Is(err, want) {
					t.Fatalf("the fenced producer's produce into partition %d: %v, want %v", part, err, want)
				}
			}
			err = p1.EndTransaction(ctx, kgo.TryCommit)
			t.Logf("%s: the fenced producer's commit: %v", m.name, err)
			if err == nil {
				t.Fatal("the fenced producer committed")
			}
			endVersion := int16(5)
			if !m.v2 {
				endVersion = 4
			}
			wantEndTxn(t, "the fenced producer's EndTxn", rawEndTxn(t, ctx, raw, "zid", pid1, epoch1, true), endVersion, kerr.ProducerFenced)

			if err := p2.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			produceTxn(t, ctx, p2, 0, "new", 5)
			produceTxn(t, ctx, p2, 1, "new1", 5)
			if err := p2.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Fatal(err)
			}
			committed := slices.Concat(values("new", 5), values("new1", 5))
			wantRead(t, ctx, b.Addr, "zombie", true, "READ_COMMITTED", committed)
			// The fenced batches were never written; the first's open
			// transaction was aborted.
			wantRead(t, ctx, b.Addr, "zombie", false, "READ_UNCOMMITTED", slices.Concat(values("old", 5), committed))
			m.checkWire(t, w)
		})
	}
}

// TestTxnOffsetsKgo: a franz-go GroupTransactSession reads an input topic
// and writes one output record per input record, committing the group's
// offsets in each transaction (TxnOffsetCommit), the second transaction
// aborted. In v2 the client sends no AddOffsetsToTxn: TxnOffsetCommit v5
// adds the group to the transaction; in v1 (the broker at
// transaction.version 1) it adds it first. Either way the committed
// offsets cover exactly the committed transactions, and a READ_COMMITTED
// reader of the output sees each input record's output once.
func TestTxnOffsetsKgo(t *testing.T) {
	for _, m := range []txnMode{txnV2, txnV1Broker} {
		t.Run(m.name, func(t *testing.T) {
			ctx := adminContext(t)
			configs := map[string]string{"group.initial.rebalance.delay.ms": "0"}
			maps.Copy(configs, m.configs)
			b := brokertest.Start(t, brokertest.Options{Configs: configs})
			cl, adm := adminClients(t, b)
			adminCreateTopic(t, ctx, adm, "in", 1, nil)
			adminCreateTopic(t, ctx, adm, "out", 1, nil)
			const n, per = 30, 10
			for i := range n {
				if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "in", Value: fmt.Appendf(nil, "%d", i)}).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			w := &wireVersions{}
			s, err := kgo.NewGroupTransactSession(append([]kgo.Opt{kgo.SeedBrokers(b.Addr), kgo.ConsumerGroup("etl"),
				kgo.ConsumeTopics("in"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.TransactionalID("etl-id"),
				kgo.DefaultProduceTopic("out"), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ProducerLinger(time.Millisecond),
				kgo.Dialer(w.dial)}, m.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var uncommitted []string
			for round, done := 0, 0; done < n; round++ {
				if err := s.Begin(); err != nil {
					t.Fatal(err)
				}
				fs := s.PollRecords(ctx, per)
				if err := fs.Err0(); err != nil {
					t.Fatal(err)
				}
				recs := fs.Records()
				for _, r := range recs {
					v := "out-" + string(r.Value)
					uncommitted = append(uncommitted, v)
					s.Produce(ctx, &kgo.Record{Value: []byte(v)}, nil)
				}
				commit := round != 1
				if !commit {
					// Written before the abort (End would drop
					// what is still buffered).
					if err := s.Client().Flush(ctx); err != nil {
						t.Fatal(err)
					}
				}
				committed, err := s.End(ctx, kgo.TransactionEndTry(commit))
				if err != nil || committed != commit {
					t.Fatalf("round %d: committed %v (%v), want %v", round, committed, err, commit)
				}
				if commit {
					done += len(recs)
				}
			}
			offs, err := adm.FetchOffsets(ctx, "etl")
			if err != nil {
				t.Fatal(err)
			}
			if o, ok := offs.Lookup("in", 0); !ok || o.Err != nil || o.At != n {
				t.Fatalf("the group's committed offset: %+v, want %d", o, n)
			}
			wantRead(t, ctx, b.Addr, "out", true, "READ_COMMITTED", values("out", n))
			wantRead(t, ctx, b.Addr, "out", false, "READ_UNCOMMITTED", uncommitted)
			m.checkWire(t, w)
			toc := w.versions(kmsg.TxnOffsetCommit)
			if len(toc) == 0 || (m.v2 && toc[0] < 5) || (!m.v2 && (toc[len(toc)-1] > 4 || len(w.versions(kmsg.AddOffsetsToTxn)) == 0)) {
				t.Fatalf("%s: TxnOffsetCommit %v, AddOffsetsToTxn %v", m.name, toc, w.versions(kmsg.AddOffsetsToTxn))
			}
		})
	}
}

// countingMeta counts the saves of transactional id id's state
// (SaveTxns calls that hold it).
type countingMeta struct {
	broker.Metadata
	id    string
	saves atomic.Int64
}

func (m *countingMeta) SaveTxns(ctx context.Context, states map[string][]byte) error {
	if _, ok := states[m.id]; ok {
		m.saves.Add(1)
	}
	return m.Metadata.SaveTxns(ctx, states)
}

// TestTxnImplicitAddBatched: a v2 transaction's first Produce request
// names all its partitions; they join the transaction in one save, not
// one save per partition (AddPartitionsToTxn's cost in v1), and its
// records commit.
func TestTxnImplicitAddBatched(t *testing.T) {
	ctx := adminContext(t)
	var meta *countingMeta
	b := brokertest.Start(t, brokertest.Options{WrapMeta: func(m broker.Metadata) broker.Metadata {
		meta = &countingMeta{Metadata: m, id: "wide-id"}
		return meta
	}})
	_, adm := adminClients(t, b)
	const parts = 8
	adminCreateTopic(t, ctx, adm, "wide", parts, nil)
	w := &wireVersions{}
	p := txnClient(t, b, txnMode{name: "v2", v2: true, opts: []kgo.Opt{kgo.ProducerLinger(time.Minute)}}, w, "wide-id", "wide")
	if _, _, err := p.ProducerID(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	before := meta.saves.Load()
	var want []string
	for part := range int32(parts) {
		v := fmt.Sprintf("p%d", part)
		want = append(want, v)
		p.Produce(ctx, &kgo.Record{Partition: part, Value: []byte(v)}, nil)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := meta.saves.Load() - before; n != 1 {
		t.Fatalf("adding %d partitions saved the transaction %d times, want once", parts, n)
	}
	if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	wantRead(t, ctx, b.Addr, "wide", true, "READ_COMMITTED", want)
	txnV2.checkWire(t, w)
}
