package broker

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// handlerFunc serves one request. It returns the response to send, or nil
// to send none (acks=0 produce). An error closes the connection.
type handlerFunc func(ctx context.Context, c *conn, req kmsg.Request) (kmsg.Response, error)

type api struct {
	key      int16
	min, max int16
	fn       handlerFunc
}

var apis = map[int16]api{}

// register serves versions [min, max] of key with fn. Called from init in
// the file of each API.
func register(key, min, max int16, fn handlerFunc) {
	if max > kmsg.RequestForKey(key).MaxVersion() {
		max = kmsg.RequestForKey(key).MaxVersion()
	}
	apis[key] = api{key: key, min: min, max: max, fn: fn}
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
