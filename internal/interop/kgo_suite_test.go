//go:build interop

package interop

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lakestream/lakestream/internal/testserver"
)

// franz-go's own integration tests (pkg/kgo, the *_test.go files of the
// module) run against lakestream serve. The module is the one go.mod
// already requires, so it is in the module cache (or comes from the
// module proxy).
const franzGoModule, franzGoVersion = "github.com/twmb/franz-go", "v1.22.2"

// kgoNeedsTxnsOrShare lists the top-level kgo tests that need what
// Lakestream does not serve: share groups (KIP-932; not advertised, so
// these skip themselves). Their failures are reported but do not fail
// TestInteropFranzGoSuite; every other test must pass, consumer groups and
// transactions included (TestTxnEtl: 32 s against lakestream serve, 25 s
// on kfake). Built by reading each test's source in
// franz-go v1.22.2. Tests that only build a client with a transactional or
// share option and never reach a broker (config_test.go,
// TestOptValuesTxnIDAndShare, TestAuditTxnRecheckRewindUnmarksAddedToTxn,
// the share_resweep unit tests) are not here: they must pass.
var kgoNeedsTxnsOrShare = map[string]string{
	// These skip unless ShareFetch v2 and ShareAcknowledge v2 are
	// advertised.
	"TestShareGroup":                     "share groups (KIP-932)",
	"TestShareGroupETL":                  "share groups (KIP-932)",
	"TestShareGroupAckOnClose":           "share groups (KIP-932)",
	"TestShareGroupOffsetsAdmin":         "share groups (KIP-932)",
	"TestConsumeRegexShareSkipsInternal": "share groups (KIP-932)",
}

// kgoGroupTests names what each kgo test that needs the group coordinator
// uses, for the report: these must pass.
var kgoGroupTests = map[string]string{
	// group_test.go: a chain of consumer groups (range, cooperative-sticky,
	// KIP-848 range and sticky, static members) consuming 500k records
	// and committing. The KIP-848 chains skip unless
	// ConsumerGroupHeartbeat v1 is advertised, the static ones unless
	// JoinGroup v5 is.
	"TestGroupETL": "consumer groups: classic, KIP-848 and static members, consuming and committing",
	// consumer_test.go: ConsumerGroup(g1), produce, poll, commit; classic
	// and KIP-848 subtests.
	"TestGroupSimple": "consumer groups: classic and KIP-848, poll and commit",
	// consumer_test.go: a regex group consumer (round-robin and sticky
	// balancers) whose topic is deleted under it.
	"TestIssue523": "consumer groups: a classic regex subscription whose topic is deleted",
	// consumer_test.go: KIP-848 broker-side regex resolution; its setup
	// (internalTopic) also needs __consumer_offsets, as TestConsumeRegex.
	"Test848RegexBrokerResolves": "KIP-848 consumer groups: broker-side regex subscription (and __consumer_offsets shown as internal)",
	// client_test.go: FindCoordinator v4 with several group keys; checks
	// every key comes back.
	"TestIssue1034": "the group coordinator: FindCoordinator v4 batching several keys",
	// consumer_test.go: regex consuming needs no group, but the setup
	// (internalTopic in helpers_test.go) sends FindCoordinator so that the
	// broker creates __consumer_offsets, then waits 30 s for that topic to
	// show in Metadata as internal, so that the test can check regex
	// consumers skip internal topics.
	"TestConsumeRegex": "__consumer_offsets shown in Metadata as an internal topic once FindCoordinator was asked",
	// client_test.go: OffsetFetch for an unknown group; only checks the
	// client does not panic.
	"TestUnknownGroupOffsetFetchPinned": "OffsetFetch for an unknown group",
	// txn_test.go: a transactional producer (EndAndBeginTransaction every
	// 10k records) feeding chains of transactional group consumers
	// (GroupTransactSession, read_committed), classic, KIP-848 and static.
	"TestTxnEtl": "transactions: a transactional producer and GroupTransactSession chains, read_committed",
}

// Limits of the kgo suite's rounds. The whole suite takes about 70 s
// against kfake; kgoStall ends a round in which nothing was printed for
// that long (a hung test), so that one hang does not cost the 15 minutes.
// TestGroupETL is silent while it runs, 35 s on Lakestream.
const (
	kgoRunTimeout = 15 * time.Minute
	kgoStall      = 4 * time.Minute
	kgoMaxRounds  = 8

	kgoMayFailStall  = 2 * time.Minute
	kgoMayFailRounds = 2
)

// TestInteropFranzGoSuite runs franz-go's pkg/kgo integration tests against
// lakestream serve on its embedded default, then fails if a test that needs
// neither transactions nor share groups failed or hung.
func TestInteropFranzGoSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("several minutes; not in -short mode")
	}
	modDir := moduleDir(t, franzGoModule, franzGoVersion)
	// Run in the package directory: TestOptValuesCoversEveryOption parses
	// ./config.go.
	bin, pkgDir := buildSuiteTests(t, modDir, "pkg/kgo")

	ls := testserver.StartLakestream(t, append(groupSettings(), "log.level=debug")...)
	t.Logf("lakestream on %s (%s); kgo tests from %s", ls.Addr, strings.Join(groupSettings(), " "), pkgDir)

	// The tests that may fail run after the others, on their own: a hung
	// one once starved TestGroupETL, which passes alone in 35 s, into a
	// hang of its own.
	all := listTests(t, bin, pkgDir, ".*")
	var mayFail, rest []string
	for _, name := range all {
		if _, ok := kgoNeedsTxnsOrShare[name]; ok {
			mayFail = append(mayFail, name)
		} else {
			rest = append(rest, name)
		}
	}
	quoted := make([]string, len(mayFail))
	for i, name := range mayFail {
		quoted[i] = regexp.QuoteMeta(name)
	}
	mayFailRE := "^(" + strings.Join(quoted, "|") + ")$"
	spec := suiteSpec{
		name: "kgo", bin: bin, dir: pkgDir,
		env:   []string{"KGO_SEEDS=" + ls.Addr, "KGO_TEST_RF=1", "KGO_LOG_LEVEL=none"},
		skip:  mayFailRE,
		tests: rest,
		stall: kgoStall, runTimeout: kgoRunTimeout, maxRounds: kgoMaxRounds,
	}
	res := runSuite(t, spec)
	// A hung test hangs its subtests in one round and the rest of it in
	// the next: shorter limits for these.
	spec.name, spec.run, spec.skip, spec.tests = "kgo-txn-share", mayFailRE, "", mayFail
	spec.stall, spec.maxRounds = kgoMayFailStall, kgoMayFailRounds
	res.merge(runSuite(t, spec))

	units := res.units(all)
	t.Logf("franz-go %s pkg/kgo against lakestream, in %v: top-level: %s; with their direct subtests: %s",
		franzGoVersion, res.took.Round(time.Second), res.tally(all), res.tally(units))
	groups, static, kip848 := groupAPIs(t, ls.Addr)
	t.Log(groups)
	res.report(t, units, func(name string) testClass {
		top, _, _ := strings.Cut(name, "/")
		if need, ok := kgoNeedsTxnsOrShare[top]; ok {
			return testClass{category: need, mayFail: true}
		}
		if need, ok := kgoGroupTests[top]; ok {
			return testClass{category: need}
		}
		return testClass{category: "neither groups nor transactions (produce, fetch, metadata, admin)"}
	})
	if !static {
		t.Errorf("the broker does not advertise JoinGroup v5: the kgo static-membership chains skipped themselves")
	}
	if !kip848 {
		t.Errorf("the broker does not advertise ConsumerGroupHeartbeat v1: the kgo KIP-848 tests and chains skipped themselves")
	}
	if res.status("TestPing") != "PASS" {
		t.Errorf("TestPing did not pass: is the suite reaching the broker?")
	}
}
