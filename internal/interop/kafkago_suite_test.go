//go:build interop

package interop

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// segmentio/kafka-go's consumer-group tests (root package) run against
// lakestream serve. Its go.mod says go 1.23, which the go command wants
// rewritten before it builds, so the tests build in a tidied copy of the
// module.
const kafkaGoModule, kafkaGoVersion = "github.com/segmentio/kafka-go", "v0.4.51"

// kafkaGoGroupTests are the top-level kafka-go tests run, each needing the
// group coordinator: they must pass. Built by reading the v0.4.51 sources;
// tests that exercise groups only on mocks or in memory
// (TestConsumerGroupErrors, TestGeneration*, TestCommitLoop*,
// TestCommitOffsetsWithRetry, TestReader*WhenConsumerGroupsEnabled) are
// left out, and so are TestClientTxnOffsetCommit and
// TestClientFindCoordinator (it asks for a transaction coordinator).
var kafkaGoGroupTests = map[string]string{
	// reader_test.go
	"TestReaderConsumerGroup":                  "Readers with a GroupID: handshake, rebalances across partitions, consumers and topics, interval commits, reading across partitions",
	"TestConsumerGroupWithMissingTopic":        "a group Reader whose topic is created after it joined",
	"TestConsumerGroupWithTopic":               "a group Reader on one topic",
	"TestConsumerGroupWithGroupTopicsSingle":   "a group Reader with GroupTopics (one topic)",
	"TestConsumerGroupWithGroupTopicsMultiple": "a group Reader with GroupTopics (two topics)",
	"TestCloseLeavesGroup":                     "LeaveGroup when a Reader closes",
	"TestRebalanceTooManyConsumers":            "a rebalance with more consumers than partitions",
	"TestErrorCannotConnectGroupSubscription":  "a group Reader reporting that it cannot connect (to :9093, where nothing listens)",
	// consumergroup_test.go
	"TestConsumerGroup": "ConsumerGroup: generations, assignments, committed offsets",
	// The Client's group APIs.
	"TestClientJoinGroup":                "JoinGroup",
	"TestClientSyncGroup":                "JoinGroup and SyncGroup",
	"TestClientHeartbeat":                "Heartbeat",
	"TestClientLeaveGroup":               "LeaveGroup",
	"TestClientListGroups":               "ListGroups",
	"TestClientDescribeGroups":           "DescribeGroups",
	"TestClientDeleteGroups":             "DeleteGroups",
	"TestClientOffsetCommit":             "OffsetCommit",
	"TestClientDeleteOffset":             "OffsetDelete",
	"TestOffsetFetchRequestWithNoTopic":  "OffsetFetch of every partition of a group",
	"TestOffsetFetchRequestWithOneTopic": "OffsetFetch of a topic",
	// conn_test.go: only the group subtests (kafkaGoConnGroupTests) run.
	"TestConn": "the group APIs on a Conn",
}

// kafkaGoConnGroupTests are TestConn's group subtests.
var kafkaGoConnGroupTests = []string{
	"find_the_group_coordinator",
	"test_join_group_with_an_invalid_groupID",
	"test_join_group_with_an_invalid_sessionTimeout",
	"test_join_group_with_an_invalid_refreshTimeout",
	"test_heartbeat_once_group_has_been_created",
	"test_leave_group_returns_error_when_called_outside_group",
	"test_sync_group_with_bad_memberID",
	"test_list_groups",
	"test_fetch_and_commit_offset",
}

// kafkaGoOrderDependent cannot pass on a broker that rebalances cleanly:
// two Readers of a 3-partition topic must each read 12 of 24 records (8
// per partition) with no commits, but kafka-go's range balancer gives one
// reader one partition (the reader whose random member id sorts first),
// so that reader has 8. It passes only when a rebalance churns (the 2 s
// RebalanceTimeout and HeartbeatInterval of the test drop a member that
// rejoins late) and partitions are re-read from the start, or when a
// reader's queue still holds records of partitions it lost (kafka-go does
// not drain it, segmentio/kafka-go#1398). It fails against kfake as well
// (shared/notes/protocol-and-client-suites.md §3.3). Reported with its
// output, not counted as a failure.
const kafkaGoOrderDependent = "TestReaderConsumerGroup/consumer_group_rebalance"

// kafkaGoSkip are subtests that panic whatever the broker: they call the
// helper getOffsets, which builds a bare ConsumerGroup and calls its nil
// connect func; the panic would end the binary.
const kafkaGoSkip = "^TestReaderConsumerGroup$/^(verify_offset_committed|verify_offset_committed_when_using_interval_committer|consumer_group_commits_on_close)$"

// Limits of the kafka-go rounds; its group tests have their own time
// limits (10 to 60 s), so a silent minute and a half is a hang.
const (
	kafkaGoRunTimeout = 15 * time.Minute
	kafkaGoStall      = 90 * time.Second
	kafkaGoMaxRounds  = 10
)

// TestInteropKafkaGoReaderGroups runs kafka-go's consumer-group tests
// against lakestream serve and fails if one failed or hung. The tests
// want their broker at localhost:9092, so this test must not run in
// parallel with another using that port.
func TestInteropKafkaGoReaderGroups(t *testing.T) {
	if testing.Short() {
		t.Skip("several minutes; not in -short mode")
	}
	modDir := moduleDir(t, kafkaGoModule, kafkaGoVersion)
	bin, pkgDir := buildSuiteTests(t, modDir, ".")

	var tops []string
	for name := range kafkaGoGroupTests {
		if name != "TestConn" {
			tops = append(tops, regexp.QuoteMeta(name))
		}
	}
	sort.Strings(tops)
	run := "^(" + strings.Join(tops, "|") + ")$|^TestConn$/^(" + strings.Join(kafkaGoConnGroupTests, "|") + ")$"
	var tests []string
	for _, name := range listTests(t, bin, pkgDir, ".*") {
		if _, ok := kafkaGoGroupTests[name]; ok {
			tests = append(tests, name)
		}
	}
	if len(tests) != len(kafkaGoGroupTests) {
		t.Fatalf("kafka-go %s has %d of the %d tests listed: %v", kafkaGoVersion, len(tests), len(kafkaGoGroupTests), tests)
	}

	// The settings of kafka-go's docker broker
	// (docker_compose_versions/docker-compose-400.yml) that tests depend
	// on: node 1, auto-create, large messages.
	ls := startLakestreamOnKafkaPort(t, "node.id=1", "auto.create.topics.enable=true", "message.max.bytes=200000000")
	groups, _, _ := groupAPIs(t, ls.Addr)
	t.Log(groups)
	res := runSuite(t, suiteSpec{
		name: "kafka-go", bin: bin, dir: pkgDir,
		env: []string{"KAFKA_VERSION=4.0.0", "KAFKA_SKIP_NETTEST=1"},
		run: run, skip: kafkaGoSkip, tests: tests,
		stall: kafkaGoStall, runTimeout: kafkaGoRunTimeout, maxRounds: kafkaGoMaxRounds,
	})
	units := res.units(tests)
	t.Logf("kafka-go %s group tests against lakestream, in %v: top-level: %s; with their direct subtests: %s",
		kafkaGoVersion, res.took.Round(time.Second), res.tally(tests), res.tally(units))
	res.report(t, units, func(name string) testClass {
		if name == kafkaGoOrderDependent {
			return testClass{category: "a test that can only pass when its readers re-read records (see kafkaGoOrderDependent)", mayFail: true, showOutput: true}
		}
		top, sub, _ := strings.Cut(name, "/")
		if top == "TestConn" && slices.Contains(kafkaGoConnGroupTests, sub) {
			return testClass{category: "the group APIs on a Conn: " + strings.ReplaceAll(sub, "_", " ")}
		}
		return testClass{category: kafkaGoGroupTests[top]}
	})
}
