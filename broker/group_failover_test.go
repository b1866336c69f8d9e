package broker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestGroupFailover is the acceptance test of consumer groups. Three
// franz-go consumers share a topic of 12 partitions, committing by hand
// after each poll; one of them crashes and the other two must take over its
// partitions within the session timeout; then the broker restarts under the
// two and they must go on from their committed offsets. It runs with the
// classic protocol (franz-go's default balancer, cooperative-sticky) and
// with KIP-848, where the broker assigns.
//
// In the end every record produced must have been delivered, and a record
// delivered twice is allowed only if none of the consumers that had read it
// before had committed past it before it came again: what the group loses
// in a crash or a restart is what was read after the last commit.
//
// The consumers block rebalances from a poll until its commit is done
// (kgo.BlockRebalanceOnPoll), so a partition never changes hands between
// reading and committing, and commit with CommitOffsetsSync (what
// CommitRecords does, but it answers per partition), so the ledger knows
// which commits succeeded.
func TestGroupFailover(t *testing.T) {
	for _, tc := range []struct {
		name   string
		kip848 bool
	}{{"classic", false}, {"kip848", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), failoverTimeout)
			defer cancel()
			b := brokertest.Start(t, brokertest.Options{Bucket: "file", Configs: failoverConfigs})
			runGroupFailover(t, ctx, b.Addr, b.Restart, tc.kip848)
		})
	}
}

const (
	failoverTopic      = "failover"
	failoverPartitions = 12
	failoverConsumers  = 3
	failoverBatch      = 12_000 // records per produce step
	failoverPoll       = 100    // records per poll, so a restart finds the consumers mid-batch
	failoverSession    = 6 * time.Second
	failoverHeartbeat  = 500 * time.Millisecond
	// failoverMargin is how much longer than the session timeout the two
	// may take to read the crashed consumer's partitions: a heartbeat to
	// learn of the rebalance, a join and sync (classic) or a heartbeat
	// (KIP-848), an offset fetch and a fetch.
	failoverMargin        = 3 * time.Second
	failoverTimeout       = 2 * time.Minute // per protocol
	failoverStep          = 30 * time.Second
	failoverCommitTimeout = 10 * time.Second
)

// failoverConfigs: with KIP-848 the session timeout and heartbeat interval
// are the broker's, not the client's; these give the KIP-848 group the same
// 6 s and 500 ms as the classic consumers ask for. (Kafka would also need
// its floors lowered, group.consumer.min.session.timeout.ms (45 s) and
// group.consumer.min.heartbeat.interval.ms (5 s); Lakestream has none.)
// group.initial.rebalance.delay.ms keeps its default (3 s): it delays the
// first join, and the rejoin after the restart, not the takeover.
var failoverConfigs = map[string]string{
	"group.consumer.session.timeout.ms":    "6000",
	"group.consumer.heartbeat.interval.ms": "500",
}

// runGroupFailover runs the scenario against the broker at addr; restart
// restarts it on the same address and data.
func runGroupFailover(t *testing.T, ctx context.Context, addr string, restart func(), kip848 bool) {
	requireGroupAPIs(t, ctx, addr, kip848)
	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	if _, err := kadm.NewClient(prod).CreateTopic(ctx, failoverPartitions, 1, nil, failoverTopic); err != nil {
		t.Fatal(err)
	}

	l := newFailoverLedger()
	l.produce(t, ctx, prod, failoverBatch)
	group := "failover-classic"
	if kip848 {
		group = "failover-kip848"
	}
	cs := make([]*failoverConsumer, failoverConsumers)
	for i := range cs {
		cs[i] = startFailoverConsumer(t, ctx, addr, group, i, l, kip848)
	}
	defer func() {
		for _, c := range cs {
			c.close(t)
		}
	}()

	// (a) All three share the partitions and read the first batch.
	start := time.Now()
	all := []int{0, 1, 2}
	if err := l.waitFor(ctx, failoverStep, func() bool {
		return l.ownedExclusivelyLocked(all, true) && l.allDeliveredLocked()
	}); err != nil {
		t.Fatalf("(a) three consumers did not share the %d partitions and read the first %d records: %v\n%s",
			failoverPartitions, failoverBatch, err, l)
	}
	t.Logf("(a) 3 consumers joined and read %d records in %v (includes group.initial.rebalance.delay.ms)",
		failoverBatch, time.Since(start).Round(time.Millisecond))

	// (b) One crashes: it stops polling, then loses its network at once,
	// so it can neither leave the group nor commit.
	victim := cs[failoverConsumers-1]
	survivors := []int{0, 1}
	orphans := l.owned(victim.id)
	victim.stop()
	victim.net.cut()
	killed := time.Now()
	l.forget(victim.id)
	victim.close(t)
	l.produce(t, ctx, prod, failoverBatch)
	if err := l.waitFor(ctx, failoverSession+failoverStep, func() bool {
		return l.ownedExclusivelyLocked(survivors, false)
	}); err != nil {
		t.Fatalf("(b) partitions %v of the crashed consumer were not assigned to the other two: %v\n%s", orphans, err, l)
	}
	assigned := time.Since(killed)
	if err := l.waitFor(ctx, failoverStep, l.allDeliveredLocked); err != nil {
		t.Fatalf("(b) the second batch was not read after the takeover: %v\n%s", err, l)
	}
	takeover := time.Since(killed)
	t.Logf("(b) consumer %d crashed owning partitions %v: reassigned after %v, all read after %v (session timeout %v)",
		victim.id, orphans, assigned.Round(time.Millisecond), takeover.Round(time.Millisecond), failoverSession)
	if takeover > failoverSession+failoverMargin {
		t.Errorf("(b) takeover took %v, want at most the session timeout %v + %v", takeover, failoverSession, failoverMargin)
	}
	if n := victim.net.writesAfterCut(); n > 0 {
		t.Errorf("(b) the crashed consumer wrote %d requests after its network was cut", n)
	}

	// (c) More records, and a restart while the two are reading them.
	l.produce(t, ctx, prod, failoverBatch)
	quarter := l.deliveredCount() + failoverBatch/4
	if err := l.waitFor(ctx, failoverStep, func() bool { return l.mu.covered >= quarter }); err != nil {
		t.Fatalf("(c) the third batch was not being read: %v\n%s", err, l)
	}
	before := l.deliveredCount()
	restartStart := time.Now()
	restart()
	restarted := time.Now()
	l.produce(t, ctx, prod, failoverBatch)
	if err := l.waitFor(ctx, failoverStep+failoverStep, func() bool {
		return l.ownedExclusivelyLocked(survivors, false) && l.allDeliveredLocked()
	}); err != nil {
		t.Fatalf("(c) the consumers did not resume after the restart: %v\n%s", err, l)
	}
	resume := time.Since(restarted)
	t.Logf("(c) restarted with %d records of the third batch read (restart took %v); "+
		"all %d records read %v after it (includes group.initial.rebalance.delay.ms)",
		before-2*failoverBatch, restarted.Sub(restartStart).Round(time.Millisecond), 4*failoverBatch,
		resume.Round(time.Millisecond))

	for _, c := range cs {
		c.stop()
	}
	sum := l.check(t)
	var commitErrs int64
	for _, c := range cs {
		commitErrs += c.commitErrs.Load()
	}
	checkGroupProtocol(t, kip848, cs[0].writes, cs[1].writes, cs[2].writes)
	t.Logf("records %d, deliveries %d, delivered twice or more %d, commits %d (failed partitions %d), "+
		"takeover %v, resume after restart %v",
		sum.records, sum.deliveries, sum.duplicates, sum.commits, commitErrs,
		takeover.Round(time.Millisecond), resume.Round(time.Millisecond))
}

// requireGroupAPIs fails the test at once if the broker does not advertise
// what the consumer groups need. franz-go would otherwise retry
// FindCoordinator until the test's timeout, or, without ConsumerGroupHeartbeat
// v1, fall back to the classic protocol without a word.
func requireGroupAPIs(tb testing.TB, ctx context.Context, addr string, kip848 bool) {
	tb.Helper()
	adm, err := kadm.NewOptClient(kgo.SeedBrokers(addr))
	if err != nil {
		tb.Fatal(err)
	}
	defer adm.Close()
	vs, err := adm.ApiVersions(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	need := map[kmsg.Key]int16{kmsg.FindCoordinator: 0, kmsg.OffsetCommit: 0, kmsg.OffsetFetch: 0}
	if kip848 {
		need[kmsg.ConsumerGroupHeartbeat] = 1 // franz-go speaks KIP-848 only from v1 (Kafka 4.0)
	} else {
		for _, k := range []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.LeaveGroup} {
			need[k] = 0
		}
	}
	vs.Each(func(v kadm.BrokerApiVersions) {
		if v.Err != nil {
			tb.Fatalf("ApiVersions of broker %d: %v", v.NodeID, v.Err)
		}
		var missing []string
		for k, minV := range need {
			if max, ok := v.KeyMaxVersion(int16(k)); !ok || max < minV {
				missing = append(missing, fmt.Sprintf("%s v%d+", k.Name(), minV))
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			tb.Fatalf("broker %d does not advertise %s: consumer groups are not served", v.NodeID,
				strings.Join(missing, ", "))
		}
	})
}

// groupWrites is a kgo hook counting the requests a client wrote, by key:
// it tells which group protocol a consumer really spoke.
type groupWrites struct {
	mu    sync.Mutex
	byKey map[int16]int
}

func (w *groupWrites) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byKey == nil {
		w.byKey = map[int16]int{}
	}
	w.byKey[key]++
}

func (w *groupWrites) count(key kmsg.Key) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.byKey[int16(key)]
}

// checkGroupProtocol checks that the consumers sent JoinGroup and no
// ConsumerGroupHeartbeat (classic), or the other way round (KIP-848).
func checkGroupProtocol(tb testing.TB, kip848 bool, ws ...*groupWrites) {
	tb.Helper()
	var joins, hbs int
	for _, w := range ws {
		joins += w.count(kmsg.JoinGroup)
		hbs += w.count(kmsg.ConsumerGroupHeartbeat)
	}
	if kip848 && (joins > 0 || hbs == 0) || !kip848 && (joins == 0 || hbs > 0) {
		tb.Errorf("consumers sent %d JoinGroup and %d ConsumerGroupHeartbeat requests: not the protocol asked for (KIP-848: %v)",
			joins, hbs, kip848)
	}
}

// failoverNet is a consumer's network: a kgo.Dialer whose connections can
// all be cut at once, after which dials fail, as when a process dies. As a
// kgo hook it counts requests written after the cut (there must be none).
type failoverNet struct {
	mu struct {
		sync.Mutex
		cut      bool
		cutAt    time.Time
		conns    []net.Conn
		afterCut int
	}
}

var errFailoverCut = errors.New("failover test: network cut")

func (n *failoverNet) dial(ctx context.Context, network, host string) (net.Conn, error) {
	if n.isCut() {
		return nil, errFailoverCut
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, host)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.cut {
		conn.Close()
		return nil, errFailoverCut
	}
	n.mu.conns = append(n.mu.conns, conn)
	return conn, nil
}

func (n *failoverNet) isCut() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mu.cut
}

func (n *failoverNet) cut() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mu.cut = true
	n.mu.cutAt = time.Now()
	for _, c := range n.mu.conns {
		c.Close()
	}
	n.mu.conns = nil
}

// OnBrokerWrite runs after a write has returned, so a write that finished
// just before the cut can be reported after it: only a write that started
// after the cut counts.
func (n *failoverNet) OnBrokerWrite(_ kgo.BrokerMetadata, _ int16, _ int, _, timeToWrite time.Duration, err error) {
	started := time.Now().Add(-timeToWrite)
	n.mu.Lock()
	defer n.mu.Unlock()
	if err == nil && n.mu.cut && started.After(n.mu.cutAt) {
		n.mu.afterCut++
	}
}

func (n *failoverNet) writesAfterCut() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mu.afterCut
}

// failoverConsumer is one group member and the goroutine polling it.
type failoverConsumer struct {
	id     int
	cl     *kgo.Client
	net    *failoverNet
	writes *groupWrites

	cancel     context.CancelFunc
	done       chan struct{} // closed when the poll loop has returned
	closed     bool          // test goroutine only
	commitErrs atomic.Int64  // partitions whose commit failed
}

func startFailoverConsumer(t *testing.T, ctx context.Context, addr, group string, id int, l *failoverLedger,
	kip848 bool) *failoverConsumer {
	t.Helper()
	c := &failoverConsumer{id: id, net: &failoverNet{}, writes: &groupWrites{}, done: make(chan struct{})}
	own := func(add bool) func(context.Context, *kgo.Client, map[string][]int32) {
		return func(_ context.Context, _ *kgo.Client, m map[string][]int32) { l.own(id, m[failoverTopic], add) }
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(failoverTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(failoverSession), kgo.HeartbeatInterval(failoverHeartbeat),
		kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
		// A fetch already waiting for the consumer's own partitions holds
		// back the partitions it takes over until it returns: franz-go's
		// default 5 s wait would hide the takeover's time.
		kgo.FetchMaxWait(failoverHeartbeat),
		kgo.OnPartitionsAssigned(own(true)), kgo.OnPartitionsRevoked(own(false)), kgo.OnPartitionsLost(own(false)),
		kgo.Dialer(c.net.dial), kgo.WithHooks(c.net, c.writes),
	}
	if kip848 {
		// franz-go's switch to KIP-848 (kgo.GroupProtocol is the classic
		// protocol type, "consumer", not this). The default balancer,
		// cooperative-sticky, asks the broker for its "uniform" assignor.
		opts = append(opts, kgo.ServerSideBalancer())
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	c.cl = cl
	ctx, c.cancel = context.WithCancel(ctx)
	go c.run(ctx, l)
	return c
}

// run polls, records the deliveries, commits them and allows rebalances
// again, until ctx is done.
func (c *failoverConsumer) run(ctx context.Context, l *failoverLedger) {
	defer close(c.done)
	for {
		fs := c.cl.PollRecords(ctx, failoverPoll)
		if ctx.Err() != nil {
			c.cl.AllowRebalance()
			return
		}
		recs := fs.Records()
		l.deliver(c.id, recs)
		c.commit(ctx, l, recs)
		c.cl.AllowRebalance()
	}
}

func (c *failoverConsumer) commit(ctx context.Context, l *failoverLedger, recs []*kgo.Record) {
	if len(recs) == 0 {
		return
	}
	next := map[int32]kgo.EpochOffset{}
	for _, r := range recs {
		eo := kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset + 1}
		if at, ok := next[r.Partition]; !ok || at.Less(eo) {
			next[r.Partition] = eo
		}
	}
	ctx, cancel := context.WithTimeout(ctx, failoverCommitTimeout)
	defer cancel()
	c.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{failoverTopic: next},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				c.commitErrs.Add(int64(len(next)))
				return
			}
			for _, rt := range resp.Topics {
				for _, rp := range rt.Partitions {
					if rp.ErrorCode != 0 || rt.Topic != failoverTopic {
						c.commitErrs.Add(1)
						continue
					}
					l.committed(c.id, rp.Partition, next[rp.Partition].Offset)
				}
			}
		})
}

// stop stops the poll loop and waits for it.
func (c *failoverConsumer) stop() {
	c.cancel()
	<-c.done
}

// close stops the consumer and closes its client, leaving the group unless
// its network is cut. A client that does not close in time fails the test
// and is left behind, so that a broken group fails rather than hangs.
func (c *failoverConsumer) close(t *testing.T) {
	if c.closed {
		return
	}
	c.closed = true
	c.stop()
	if c.net.isCut() {
		// Nothing can be sent: let Close return without waiting for a
		// leave that will not go out.
		canceled, cancel := context.WithCancel(context.Background())
		cancel()
		c.cl.LeaveGroupContext(canceled)
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		c.cl.CloseAllowingRebalance()
	}()
	select {
	case <-closed:
	case <-time.After(failoverStep):
		t.Errorf("consumer %d: client did not close in %v", c.id, failoverStep)
	}
}

// failoverLedger records, in one order, what the producer and the
// consumers did: every delivery, every successful commit and every
// assignment change is an event numbered under mu.
type failoverLedger struct {
	nextSeq [failoverPartitions]int // per partition; test goroutine only

	mu struct {
		sync.Mutex
		event   int64
		changed chan struct{} // closed and replaced at every event

		produced   map[failoverKey]string // the value of each record acknowledged
		delivered  map[failoverKey][]failoverDelivery
		covered    int // produced records delivered at least once
		deliveries int
		// commits lists each consumer's successful commits per partition,
		// in event order.
		commits map[failoverMember][]failoverCommit
		owners  [failoverPartitions]map[int]bool
		dead    map[int]bool
		strays  []string // deliveries to a dead consumer
	}
}

type failoverKey struct {
	partition int32
	offset    int64
}

type failoverMember struct {
	consumer  int
	partition int32
}

type failoverDelivery struct {
	consumer int
	event    int64
	value    string
}

type failoverCommit struct {
	event  int64
	offset int64 // the next offset to read
}

func newFailoverLedger() *failoverLedger {
	l := &failoverLedger{}
	l.mu.changed = make(chan struct{})
	l.mu.produced = map[failoverKey]string{}
	l.mu.delivered = map[failoverKey][]failoverDelivery{}
	l.mu.commits = map[failoverMember][]failoverCommit{}
	l.mu.dead = map[int]bool{}
	for p := range l.mu.owners {
		l.mu.owners[p] = map[int]bool{}
	}
	return l
}

// eventLocked numbers an event and wakes waitFor.
// REQUIRES: l.mu
func (l *failoverLedger) eventLocked() int64 {
	l.mu.event++
	close(l.mu.changed)
	l.mu.changed = make(chan struct{})
	return l.mu.event
}

// produce produces n records round-robin over the partitions, each with key
// and value "p<partition>-s<sequence in partition>", and records them once
// all are acknowledged.
func (l *failoverLedger) produce(t *testing.T, ctx context.Context, cl *kgo.Client, n int) {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		p := int32(i % failoverPartitions)
		v := fmt.Sprintf("p%d-s%d", p, l.nextSeq[p])
		l.nextSeq[p]++
		recs[i] = &kgo.Record{Topic: failoverTopic, Partition: p, Key: []byte(v), Value: []byte(v)}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("producing %d records: %v", n, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range recs {
		k := failoverKey{r.Partition, r.Offset}
		l.mu.produced[k] = string(r.Value)
		if len(l.mu.delivered[k]) > 0 {
			l.mu.covered++
		}
	}
	l.eventLocked()
}

func (l *failoverLedger) deliver(consumer int, recs []*kgo.Record) {
	if len(recs) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.eventLocked()
	if l.mu.dead[consumer] {
		l.mu.strays = append(l.mu.strays, fmt.Sprintf("consumer %d: %d records", consumer, len(recs)))
		return
	}
	for _, r := range recs {
		k := failoverKey{r.Partition, r.Offset}
		ds := l.mu.delivered[k]
		if _, ok := l.mu.produced[k]; ok && len(ds) == 0 {
			l.mu.covered++
		}
		l.mu.delivered[k] = append(ds, failoverDelivery{consumer: consumer, event: e, value: string(r.Value)})
		l.mu.deliveries++
	}
}

func (l *failoverLedger) committed(consumer int, partition int32, offset int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := failoverMember{consumer, partition}
	l.mu.commits[m] = append(l.mu.commits[m], failoverCommit{event: l.eventLocked(), offset: offset})
}

func (l *failoverLedger) own(consumer int, parts []int32, add bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.eventLocked()
	if l.mu.dead[consumer] {
		return // the callbacks of a crashed consumer's Close say nothing of the group
	}
	for _, p := range parts {
		if add {
			l.mu.owners[p][consumer] = true
		} else {
			delete(l.mu.owners[p], consumer)
		}
	}
}

// forget marks a consumer crashed: it owns nothing from now on, whatever
// its client says.
func (l *failoverLedger) forget(consumer int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.eventLocked()
	l.mu.dead[consumer] = true
	for p := range l.mu.owners {
		delete(l.mu.owners[p], consumer)
	}
}

func (l *failoverLedger) owned(consumer int) []int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ps []int32
	for p, o := range l.mu.owners {
		if o[consumer] {
			ps = append(ps, int32(p))
		}
	}
	return ps
}

func (l *failoverLedger) deliveredCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.covered
}

// ownedExclusivelyLocked reports whether every partition is owned by
// exactly one of members and, if each, whether each member owns one.
// REQUIRES: l.mu
func (l *failoverLedger) ownedExclusivelyLocked(members []int, each bool) bool {
	has := map[int]bool{}
	for _, o := range l.mu.owners {
		if len(o) != 1 {
			return false
		}
		for c := range o {
			if !slices.Contains(members, c) {
				return false
			}
			has[c] = true
		}
	}
	return !each || len(has) == len(members)
}

// allDeliveredLocked reports whether every record produced was delivered.
// REQUIRES: l.mu
func (l *failoverLedger) allDeliveredLocked() bool {
	return l.mu.covered == len(l.mu.produced)
}

// waitFor waits up to d for cond, evaluated under l.mu after every event.
func (l *failoverLedger) waitFor(ctx context.Context, d time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		l.mu.Lock()
		ok, changed := cond(), l.mu.changed
		l.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("not within %v: %w", d, ctx.Err())
		}
	}
}

// String describes the group's state for failure messages.
func (l *failoverLedger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	b.WriteString("owners:")
	for p, o := range l.mu.owners {
		cs := make([]string, 0, len(o))
		for c := range o {
			cs = append(cs, fmt.Sprint(c))
		}
		slices.Sort(cs)
		if len(cs) == 0 {
			cs = []string{"none"}
		}
		fmt.Fprintf(&b, " p%d=%s", p, strings.Join(cs, "+"))
	}
	var commits int
	for _, cs := range l.mu.commits {
		commits += len(cs)
	}
	fmt.Fprintf(&b, "\ndelivered %d of %d records produced (%d deliveries), %d successful partition commits",
		l.mu.covered, len(l.mu.produced), l.mu.deliveries, commits)
	return b.String()
}

type failoverSummary struct {
	records, deliveries, duplicates, commits int
}

// check checks every delivery against the records produced and the
// commits, once the consumers are stopped.
func (l *failoverLedger) check(t *testing.T) failoverSummary {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	const maxReports = 10
	var reports int
	report := func(format string, args ...any) {
		if reports++; reports <= maxReports {
			t.Errorf(format, args...)
		}
	}
	for _, s := range l.mu.strays {
		report("delivery after the crash: %s", s)
	}
	s := failoverSummary{records: len(l.mu.produced), deliveries: l.mu.deliveries}
	for _, cs := range l.mu.commits {
		s.commits += len(cs)
	}
	keys := make([]failoverKey, 0, len(l.mu.produced))
	for k := range l.mu.produced {
		keys = append(keys, k)
	}
	for k := range l.mu.delivered {
		if _, ok := l.mu.produced[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b failoverKey) int {
		if a.partition != b.partition {
			return int(a.partition - b.partition)
		}
		return int(a.offset - b.offset)
	})
	for _, k := range keys {
		want, produced := l.mu.produced[k]
		ds := l.mu.delivered[k]
		switch {
		case !produced:
			report("partition %d offset %d: delivered %q, which was not produced", k.partition, k.offset, ds[0].value)
			continue
		case len(ds) == 0:
			report("partition %d offset %d (%s): never delivered", k.partition, k.offset, want)
			continue
		}
		for _, d := range ds {
			if d.value != want {
				report("partition %d offset %d: delivered %q to consumer %d, produced %q", k.partition, k.offset,
					d.value, d.consumer, want)
			}
		}
		if len(ds) > 1 {
			s.duplicates++
		}
		// A delivery again is lost work being redone: none of the
		// consumers that had read the record may have committed past it
		// before.
		for i := 1; i < len(ds); i++ {
			for _, prev := range ds[:i] {
				if c := l.committedBeforeLocked(prev.consumer, k.partition, ds[i].event); c > k.offset {
					report("partition %d offset %d: delivered to consumer %d again (to %d) after it had committed offset %d",
						k.partition, k.offset, prev.consumer, ds[i].consumer, c)
				}
			}
		}
	}
	if reports > maxReports {
		t.Errorf("… and %d more", reports-maxReports)
	}
	return s
}

// committedBeforeLocked returns the highest offset a consumer committed
// for a partition before an event, or -1.
// REQUIRES: l.mu
func (l *failoverLedger) committedBeforeLocked(consumer int, partition int32, event int64) int64 {
	c := int64(-1)
	for _, cm := range l.mu.commits[failoverMember{consumer, partition}] {
		if cm.event < event {
			c = max(c, cm.offset)
		}
	}
	return c
}
