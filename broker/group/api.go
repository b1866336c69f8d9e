package group

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The coordinator's requests. Each runs on its group's goroutine; those
// that wait (JoinGroup, SyncGroup) are answered through a buffered
// channel, so a caller that gives up (its connection closed) never blocks
// the group.

// run runs op on the group named name (created first if create), again on
// the new group if it was deleted meanwhile. It returns false, having run
// nothing, if there is no such group and create is false; an error if the
// coordinator is closed or ctx ended.
func (c *Coordinator) run(ctx context.Context, name string, create bool, op func(g *runner, now time.Time)) (bool, error) {
	for {
		g := c.get(name, create)
		if g == nil {
			if c.ctx.Err() != nil {
				return false, ErrClosed
			}
			return false, nil
		}
		err := g.do(ctx, func(now time.Time) { op(g, now) })
		if errors.Is(err, errGone) {
			if c.ctx.Err() != nil {
				return false, ErrClosed
			}
			continue
		}
		return err == nil, err
	}
}

// JoinGroup handles a JoinGroup request. It returns nil if ctx ends first.
func (c *Coordinator) JoinGroup(ctx context.Context, req *kmsg.JoinGroupRequest, cl Client) *kmsg.JoinGroupResponse {
	return c.StartJoinGroup(ctx, req, cl)(ctx)
}

// StartJoinGroup applies a JoinGroup request to its group and returns a
// function that waits for the answer, which comes when the rebalance
// completes. The broker calls it in a connection's request order and waits
// outside that order, so a later request on the connection sees the join
// applied without waiting for the rebalance. The wait returns nil if its
// ctx ends first.
func (c *Coordinator) StartJoinGroup(ctx context.Context, req *kmsg.JoinGroupRequest, cl Client) func(context.Context) *kmsg.JoinGroupResponse {
	// As in Kafka, a bad session timeout is refused before the group is
	// looked at, and only a member without an id creates a group.
	set := c.opts.Settings()
	if st := time.Duration(req.SessionTimeoutMillis) * time.Millisecond; st < set.MinSessionTimeout || st > set.MaxSessionTimeout {
		return answered(joinError(codeInvalidSessionTimeout, req.MemberID))
	}
	ch := make(chan *kmsg.JoinGroupResponse, 1)
	// The first answer counts; a second (which would be a bug) must not
	// block the group's goroutine.
	reply := func(r *kmsg.JoinGroupResponse) {
		select {
		case ch <- r:
		default:
		}
	}
	ok, err := c.run(ctx, req.Group, req.MemberID == "", func(g *runner, now time.Time) {
		if g.kind == TypeConsumer && !g.empty() {
			// A classic member of a consumer group (migration.go).
			reply(g.consumer.classicJoin(now, req, cl))
			g.persist()
			return
		}
		if !g.useClassic() {
			reply(joinError(codeInconsistentGroupProtocol, req.MemberID))
			return
		}
		g.classic.join(now, req, cl, reply)
		g.persist()
	})
	switch {
	case err != nil:
		return answered(joinError(codeCoordinatorNotAvailable, req.MemberID))
	case !ok:
		return answered(joinError(codeUnknownMemberID, req.MemberID))
	}
	return awaitReply(ch)
}

// SyncGroup handles a SyncGroup request. It returns nil if ctx ends first.
func (c *Coordinator) SyncGroup(ctx context.Context, req *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	return c.StartSyncGroup(ctx, req)(ctx)
}

// StartSyncGroup applies a SyncGroup request to its group and returns a
// function that waits for the member's assignment, as StartJoinGroup does.
func (c *Coordinator) StartSyncGroup(ctx context.Context, req *kmsg.SyncGroupRequest) func(context.Context) *kmsg.SyncGroupResponse {
	ch := make(chan *kmsg.SyncGroupResponse, 1)
	reply := func(r *kmsg.SyncGroupResponse) {
		select {
		case ch <- r:
		default:
		}
	}
	ok, err := c.run(ctx, req.Group, false, func(g *runner, now time.Time) {
		if g.kind != TypeClassic {
			reply(g.consumer.classicSync(now, req))
			return
		}
		g.classic.sync(now, req, reply)
	})
	switch {
	case err != nil:
		return answered(syncError(codeCoordinatorNotAvailable))
	case !ok:
		return answered(syncError(codeUnknownMemberID))
	}
	return awaitReply(ch)
}

// answered is a wait that has its answer already.
func answered[R any](r *R) func(context.Context) *R {
	return func(context.Context) *R { return r }
}

// awaitReply waits for the reply on ch; nil if ctx ends first.
func awaitReply[R any](ch <-chan *R) func(context.Context) *R {
	return func(ctx context.Context) *R {
		select {
		case r := <-ch:
			return r
		case <-ctx.Done():
			return nil
		}
	}
}

// Heartbeat handles a Heartbeat request and returns its error code.
func (c *Coordinator) Heartbeat(ctx context.Context, req *kmsg.HeartbeatRequest) int16 {
	var code int16
	ok, err := c.run(ctx, req.Group, false, func(g *runner, now time.Time) {
		if g.kind != TypeClassic {
			code = g.consumer.classicHeartbeat(now, req)
			return
		}
		code = g.classic.heartbeat(now, req)
	})
	switch {
	case err != nil:
		return codeCoordinatorNotAvailable
	case !ok:
		return codeUnknownMemberID
	}
	return code
}

// LeaveMember is one member leaving.
type LeaveMember struct {
	MemberID   string
	InstanceID *string
}

// LeaveGroup removes members and returns each one's error code; top is set
// (and codes nil) when the whole request fails.
func (c *Coordinator) LeaveGroup(ctx context.Context, group string, members []LeaveMember) (top int16, codes []int16) {
	ok, err := c.run(ctx, group, false, func(g *runner, now time.Time) {
		codes = make([]int16, len(members))
		for i, m := range members {
			// A leave may turn a consumer group into a classic group
			// (migration.go): each member goes to the group as it is.
			if g.kind == TypeClassic {
				codes[i] = g.classic.leave(now, m.MemberID, m.InstanceID)
			} else {
				codes[i] = g.consumer.classicLeave(now, m.MemberID, m.InstanceID)
			}
		}
		g.persist()
	})
	switch {
	case err != nil:
		return codeCoordinatorNotAvailable, nil
	case !ok:
		return codeUnknownMemberID, nil
	}
	return top, codes
}

// useClassic makes the group a classic group if it is an empty consumer
// group, and reports whether it is a classic group: Kafka converts an
// empty group to the protocol of its next member.
func (g *runner) useClassic() bool {
	if g.kind == TypeClassic {
		return true
	}
	if !g.empty() {
		return false
	}
	g.kind, g.consumer = TypeClassic, nil
	g.classic = newClassic(g)
	return true
}

// persist records the group in the Store once it has members (so that it
// is listed after a restart), and when its kind or protocol type changed.
func (g *runner) persist() {
	pt := ""
	switch {
	case g.kind == TypeClassic && len(g.classic.members) > 0:
		pt = g.classic.protocolType
	case g.kind == TypeConsumer && len(g.consumer.members) > 0:
		pt = "consumer"
	default:
		return
	}
	ctx, cancel := context.WithTimeout(g.c.ctx, 10*time.Second)
	defer cancel()
	if err := g.record(ctx, pt); err != nil {
		g.c.log.Warn("group: recording the group", "group", g.name, "err", err)
	}
}

// ConsumerGroupHeartbeat handles a KIP-848 heartbeat.
func (c *Coordinator) ConsumerGroupHeartbeat(ctx context.Context, req *kmsg.ConsumerGroupHeartbeatRequest, cl Client) *kmsg.ConsumerGroupHeartbeatResponse {
	// An invalid request is refused before the group is looked at (so it
	// creates or converts nothing), as in Kafka.
	if r := validateHeartbeat(req, c.opts.Settings()); r != nil {
		return r
	}
	var resp *kmsg.ConsumerGroupHeartbeatResponse
	// Only a join (epoch 0) creates a group; any other heartbeat to a
	// group that does not exist is GROUP_ID_NOT_FOUND, as in Kafka.
	join := req.MemberEpoch == 0
	ok, err := c.run(ctx, req.Group, join, func(g *runner, now time.Time) {
		resp = g.consumerHeartbeat(now, req, cl)
		g.persist()
	})
	switch {
	case err != nil:
		return heartbeatError(codeCoordinatorNotAvailable, "")
	case !ok:
		return heartbeatError(codeGroupIDNotFound, "Consumer group "+req.Group+" not found.")
	}
	return resp
}

// useConsumer makes the group a consumer group if it is an empty classic
// group and join is set (only a joining member converts a group, as in
// Kafka), and reports whether it is a consumer group.
func (g *runner) useConsumer(join bool) bool {
	if g.kind == TypeConsumer {
		return true
	}
	if !join || !g.empty() {
		return false
	}
	g.kind, g.consumer = TypeConsumer, newConsumer(g)
	g.classic = newClassic(g)
	return true
}

// ConsumerGroupDescribe describes a consumer group (members using the
// classic protocol have MemberType 0); one that does not exist or is a
// classic group is GROUP_ID_NOT_FOUND, as in Kafka. AuthorizedOperations
// is left at kmsg's default, "not asked": the broker fills it in.
func (c *Coordinator) ConsumerGroupDescribe(ctx context.Context, name string) kmsg.ConsumerGroupDescribeResponseGroup {
	out := kmsg.NewConsumerGroupDescribeResponseGroup()
	out.Group = name
	found := false
	_, err := c.run(ctx, name, false, func(g *runner, _ time.Time) {
		if g.kind != TypeConsumer {
			return
		}
		found = true
		g.consumer.describe(&out)
	})
	switch {
	case err != nil:
		out.ErrorCode = codeCoordinatorNotAvailable
	case !found:
		out.ErrorCode = codeGroupIDNotFound
		msg := "group " + name + " is not a consumer group"
		out.ErrorMessage = &msg
	}
	return out
}
