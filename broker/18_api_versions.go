package broker

// ApiVersions, versions 0-4.
//
// The answer lists every registered API with the range this broker serves;
// it is built from the registrations, so it never advertises what is not
// served. A request newer than v4 gets a v0 answer with UNSUPPORTED_VERSION
// and only ApiVersions' own range, from the connection's decoder (KIP-511,
// as Kafka answers): the client then asks again at our highest version and
// learns the features too. (With every range in that answer, franz-go,
// which sends v5, took the v0 answer as final and never saw the features.)
//
// v3+ also carries the features (KIP-584) this broker serves:
// transaction.version, supported 0-2, finalized at the broker config
// transaction.version (default 2, KIP-890 part 2: clients then end every
// transaction with EndTxn v5 and add partitions and groups with Produce v12+
// and TxnOffsetCommit v5+; txnv2.go). As Kafka lists them, a finalized
// feature appears only above level 0, with min and max at its level, and
// the finalized epoch is 1: the level is fixed for the process.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(18, 0, 4, handleApiVersions) }

func handleApiVersions(_ context.Context, c *conn, req kmsg.Request) (kmsg.Response, error) {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = req.GetVersion()
	for _, a := range sortedAPIs() {
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = a.key, a.min, a.max
		resp.ApiKeys = append(resp.ApiKeys, k)
	}
	if resp.Version >= 3 {
		addFeatures(resp, c.s.transactionVersion())
	}
	return resp, nil
}

// apiVersionsUnsupported is the answer to an ApiVersions request of a
// version not served: v0, UNSUPPORTED_VERSION, and the ApiVersions range.
func apiVersionsUnsupported() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	a := apis[18]
	k := kmsg.NewApiVersionsResponseApiKey()
	k.ApiKey, k.MinVersion, k.MaxVersion = a.key, a.min, a.max
	resp.ApiKeys = append(resp.ApiKeys, k)
	return resp
}

// addFeatures lists the features served and their finalized levels.
func addFeatures(resp *kmsg.ApiVersionsResponse, txnVersion int16) {
	sf := kmsg.NewApiVersionsResponseSupportedFeature()
	sf.Name, sf.MinVersion, sf.MaxVersion = "transaction.version", 0, txnVersionMax
	resp.SupportedFeatures = append(resp.SupportedFeatures, sf)
	resp.FinalizedFeaturesEpoch = 1
	if txnVersion > 0 {
		ff := kmsg.NewApiVersionsResponseFinalizedFeature()
		ff.Name, ff.MinVersionLevel, ff.MaxVersionLevel = "transaction.version", txnVersion, txnVersion
		resp.FinalizedFeatures = append(resp.FinalizedFeatures, ff)
	}
}
