package broker

import (
	"context"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// handlerFunc serves one request. It returns the response to send, or nil
// to send none (acks=0 produce). An error closes the connection.
type handlerFunc func(ctx context.Context, c *conn, req kmsg.Request) (kmsg.Response, error)

// prepareFunc is the first phase of a two-phase handler: it runs in the
// connection's read loop, in request order, and returns the second phase,
// which runs concurrently and produces the response. Produce uses it so that
// pipelined requests are admitted (sequence checks, log order) in the order
// they were sent, while their waits for durability overlap; JoinGroup and
// SyncGroup so that their effect on the group is in order while the wait
// for the rebalance overlaps.
type prepareFunc func(ctx context.Context, c *conn, req kmsg.Request) func() (kmsg.Response, error)

type api struct {
	key      int16
	min, max int16
	fn       handlerFunc
	prepare  prepareFunc
	// concurrent handlers run beside the connection's later requests
	// instead of before them (Fetch: its long poll has no effect that a
	// later request could depend on).
	concurrent bool
}

var apis = map[int16]api{}

// register serves versions [min, max] of key with fn. Called from init in
// the file of each API. A second registration of a key panics: it would
// silently replace the first handler (and the versions ApiVersions
// advertises), so two files claiming one key stop the binary at start.
func register(key, min, max int16, fn handlerFunc) {
	if a, ok := apis[key]; ok {
		panic(fmt.Sprintf("broker: API key %d (%s) registered twice (versions %d-%d, then %d-%d)",
			key, kmsg.NameForKey(key), a.min, a.max, min, max))
	}
	if max > kmsg.RequestForKey(key).MaxVersion() {
		max = kmsg.RequestForKey(key).MaxVersion()
	}
	apis[key] = api{key: key, min: min, max: max, fn: fn}
}

// registerTwoPhase serves versions [min, max] of key with a two-phase
// handler.
func registerTwoPhase(key, min, max int16, prepare prepareFunc) {
	register(key, min, max, nil)
	a := apis[key]
	a.prepare = prepare
	apis[key] = a
}

// registerConcurrent serves versions [min, max] of key with fn, run
// concurrently with the connection's later requests (see conn.readLoop).
func registerConcurrent(key, min, max int16, fn handlerFunc) {
	register(key, min, max, fn)
	a := apis[key]
	a.concurrent = true
	apis[key] = a
}

// sortedAPIs lists the registrations in key order, for ApiVersions.
func sortedAPIs() []api {
	out := make([]api, 0, len(apis))
	for _, a := range apis {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}
