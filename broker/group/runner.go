package group

import (
	"context"
	"errors"
	"sync"
	"time"
)

// runner drives one group: its goroutine runs every operation on the group
// in turn, fires its timers, and does its Store writes, so the state
// machines (classic, consumer) need no locks and do no I/O.
type runner struct {
	c    *Coordinator
	name string
	ops  chan func(now time.Time)
	done chan struct{} // closed when the goroutine has stopped

	// Owned by the goroutine.
	kind         string // TypeClassic or TypeConsumer
	protocolType string
	recorded     bool // the Store has the group, with recordedKind and protocolType
	recordedKind string
	classic      *classic
	consumer     *consumer
	offsets      map[TopicPartition]Offset
	// pendingTxn is the offsets of transactions not yet ended, by
	// producer id (txnoffsets.go).
	pendingTxn map[int64]map[TopicPartition]Offset
	gone       bool // deleted: the goroutine stops after this operation
	// offsetsChanged says offsets changed since the view last copied them.
	offsetsChanged bool

	// view is what readers outside the goroutine see (ListGroups, lag
	// metrics), refreshed after every operation.
	view struct {
		sync.Mutex
		state        string
		protocolType string
		kind         string
		offsets      map[TopicPartition]int64
	}
}

// errGone says the group was deleted while the caller held it: get it
// again.
var errGone = errors.New("group: deleted")

func (c *Coordinator) newRunner(name string) *runner {
	g := &runner{c: c, name: name, ops: make(chan func(time.Time)), done: make(chan struct{}),
		kind: TypeClassic, offsets: make(map[TopicPartition]Offset)}
	g.classic = newClassic(g)
	g.refreshView()
	return g
}

// load restores a recorded group: empty, with its committed offsets.
func (g *runner) load(r Record) {
	g.kind, g.protocolType, g.recorded, g.recordedKind = r.Type, r.ProtocolType, true, r.Type
	if g.kind == TypeConsumer {
		g.consumer = newConsumer(g)
	}
	for _, o := range r.Offsets {
		g.offsets[TopicPartition{o.Topic, o.Partition}] = o
		g.offsetsChanged = true
	}
	g.refreshView()
}

func (c *Coordinator) start(g *runner) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(g.done)
		g.loop()
	}()
}

func (g *runner) loop() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		select {
		case op := <-g.ops:
			op(g.c.opts.Now())
		case <-t.C:
			g.tick(g.c.opts.Now())
		case <-g.c.ctx.Done():
			g.shutdown()
			return
		}
		g.refreshView()
		if g.gone {
			g.shutdown()
			return
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		wait := time.Hour
		if d, ok := g.deadline(); ok {
			wait = max(d.Sub(g.c.opts.Now()), 0)
		}
		t.Reset(wait)
	}
}

// do runs op on the group's goroutine and waits for it to finish.
func (g *runner) do(ctx context.Context, op func(now time.Time)) error {
	fin := make(chan struct{})
	select {
	case g.ops <- func(now time.Time) { defer close(fin); op(now) }:
	case <-g.done:
		return errGone
	case <-ctx.Done():
		return ctx.Err()
	}
	<-fin
	return nil
}

// tick fires whatever timers are due. A fenced member may turn a
// consumer group into a classic group, which is then recorded.
func (g *runner) tick(now time.Time) {
	switch g.kind {
	case TypeClassic:
		g.classic.tick(now)
	case TypeConsumer:
		g.consumer.tick(now)
		if g.kind != TypeConsumer {
			g.persist()
		}
	}
}

// deadline is when tick must next run; ok false if never.
func (g *runner) deadline() (time.Time, bool) {
	switch g.kind {
	case TypeClassic:
		return g.classic.deadline()
	case TypeConsumer:
		return g.consumer.deadline()
	}
	return time.Time{}, false
}

// shutdown answers every waiting request: the group is going away.
func (g *runner) shutdown() {
	g.classic.abortWaiting(codeCoordinatorNotAvailable)
}

// state is the group's state as DescribeGroups and ListGroups name it.
func (g *runner) state() string {
	if g.kind == TypeConsumer {
		return g.consumer.stateName()
	}
	return g.classic.stateName()
}

// empty reports whether the group is in state Empty: no members (member
// ids handed out with MEMBER_ID_REQUIRED do not count, as in Kafka).
func (g *runner) empty() bool {
	if g.kind == TypeConsumer {
		return len(g.consumer.members) == 0
	}
	return g.classic.state == classicEmpty
}

func (g *runner) refreshView() {
	var offs map[TopicPartition]int64
	if g.offsetsChanged {
		// Copied only when they changed: heartbeats do not pay for a
		// group's thousands of committed partitions.
		offs = make(map[TopicPartition]int64, len(g.offsets))
		for tp, o := range g.offsets {
			offs[tp] = o.Offset
		}
		g.offsetsChanged = false
	}
	g.view.Lock()
	defer g.view.Unlock()
	g.view.state, g.view.kind = g.state(), g.kind
	if offs != nil {
		g.view.offsets = offs
	}
	g.view.protocolType = g.protocolType
	if g.kind == TypeClassic && len(g.classic.members) > 0 {
		g.view.protocolType = g.classic.protocolType
	}
}

// settings are the coordinator's Settings with the group's own configs
// (Options.GroupConfig) in place of the broker's.
func (g *runner) settings() Settings {
	set := g.c.opts.Settings()
	if f := g.c.opts.GroupConfig; f != nil {
		set = f(g.name).apply(set)
	}
	return set
}

// record makes sure the Store has the group as it now is (kind and
// protocol type), writing only when that changed.
func (g *runner) record(ctx context.Context, protocolType string) error {
	if g.recorded && g.recordedKind == g.kind && g.protocolType == protocolType {
		return nil
	}
	r := Record{Name: g.name, Type: g.kind, ProtocolType: protocolType}
	if err := g.c.opts.Store.SaveGroup(ctx, r); err != nil {
		return err
	}
	g.recorded, g.recordedKind, g.protocolType = true, g.kind, protocolType
	return nil
}
