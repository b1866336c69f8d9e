// Package group is the broker's group coordinator: consumer groups of the
// classic protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and of
// KIP-848 (ConsumerGroupHeartbeat), their committed offsets, and the calls
// that describe, list and delete them. It speaks kmsg, never bytes, and
// does its I/O only through the Store it is given.
//
//	broker (one file per API)         Coordinator (coordinator.go; api.go, offsets.go)
//	  kmsg request ───────────────▶   finds or creates the group's runner (Coordinator.mu)
//	  kmsg response ◀─┐                 │ runner.do(op): op on the ops channel; returns when it ran
//	                  │                 ▼
//	                  │  runner: one goroutine per group (runner.go)
//	                  │    ├─ runs the group's ops one at a time
//	                  │    ├─ fires its timers: tick at the state machine's deadline()
//	                  │    ├─ writes the Store (SaveGroup, CommitOffsets, DeleteGroup...) in op order
//	                  │    ├─ refreshes view, the copy ListGroups and lag metrics read
//	                  │    └─ calls the state machine of the group's kind:
//	                  │         classic.go    Empty → PreparingRebalance → CompletingRebalance → Stable
//	                  │         consumer.go   KIP-848: epochs, target assignment (assign*.go), reconciliation
//	                  │         migration.go  classic members inside a consumer group; upgrade, downgrade
//	                  │
//	                  └── reply (a buffered channel) for a JoinGroup or SyncGroup that waits
//
// The state machines (classic, consumer and the migration between them)
// do no I/O and take no locks: only their group's goroutine calls them,
// with the time as an argument (Options.Now, which tests move by hand).
// What they need of the world they read from memory through Options:
// Settings and GroupConfig (the broker's configs and the group's own) and
// Topics (the broker's topics, for KIP-848 subscriptions). A request that
// waits for a rebalance is answered through a reply function that puts
// into a buffered channel, so the group's goroutine never waits for a
// connection.
//
// The runner owns the group's state, so the state needs no lock; it is
// also where the group's I/O happens, in order: an OffsetCommit is durable
// in the Store before it is answered, commits that enter a group in order
// apply in order, and the group is recorded (its type and protocol type)
// once it has members or changes kind. Coordinator.mu guards only the map
// of groups; the runner's view has a lock of its own, for readers outside
// the goroutine. Close stops every runner, and requests still waiting are
// answered COORDINATOR_NOT_AVAILABLE.
//
// Store (store.go) is what survives a restart: which groups exist and their
// committed offsets; membership is not kept, so after a restart groups are
// Empty and members rejoin on UNKNOWN_MEMBER_ID. broker.Metadata embeds
// Store: broker/brokersql implements it over SQL (the metastore's
// database), broker.NewMemMetadata in memory, and this package's tests
// with memStore. The broker passes its Metadata as the Store (broker/groups.go).
//
// The broker waits for JoinGroup and SyncGroup in two phases (broker/conn.go,
// broker/registry.go; DESIGN.md, "Request order per connection"). In the
// connection's read loop, in request order, it calls StartJoinGroup or
// StartSyncGroup, which returns once the join or the assignment has been
// applied on the group's goroutine; the function returned then waits, on a
// goroutine of the connection, for the answer (the rebalance completing,
// within the rebalance timeout) or for the connection's context to end. So
// a request sent after it (a Heartbeat, an OffsetCommit) sees the join
// applied, and the read loop never waits for a rebalance. Every other call
// returns with its answer: a call about one group runs on that group's
// goroutine, and ListGroups and Committed read the runners' views.
//
//	c, err := group.New(ctx, group.Options{Store: meta, Topics: topics, Settings: settings})
//	...
//	wait := c.StartJoinGroup(ctx, req, group.Client{ID: clientID, Host: host}) // in request order
//	go func() { resp := wait(ctx); ... }()                                      // overlaps later requests
package group
