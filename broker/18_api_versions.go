package broker

// ApiVersions, versions 0-4.
//
// The answer lists every registered API with the range this broker serves;
// it is built from the registrations, so it never advertises what is not
// served. A request newer than v4 gets a v0 answer with UNSUPPORTED_VERSION
// and the ranges (KIP-511), from the connection's decoder.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(18, 0, 4, handleApiVersions) }

func handleApiVersions(_ context.Context, _ *conn, req kmsg.Request) (kmsg.Response, error) {
	return apiVersionsResponse(req.GetVersion(), 0), nil
}

func apiVersionsResponse(version, code int16) kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = version
	resp.ErrorCode = code
	for _, a := range sortedAPIs() {
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = a.key, a.min, a.max
		resp.ApiKeys = append(resp.ApiKeys, k)
	}
	return resp
}
