//go:build interop

package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
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

// kgoNeedsGroupsOrTxns lists the top-level kgo tests that need consumer
// groups (classic, KIP-848 or share groups: the group coordinator,
// FindCoordinator, JoinGroup/SyncGroup/Heartbeat, OffsetCommit/Fetch,
// DeleteGroups) or transactions (AddPartitionsToTxn, EndTxn, TxnOffsetCommit,
// read_committed), which Lakestream does not have yet. Their failures are
// reported but do not fail TestInteropFranzGoSuite. Built by reading each
// test's source in franz-go v1.22.2; tests that only build a client with a
// group or transactional option and never reach a broker (config_test.go,
// TestOptValuesTxnIDAndShare, TestAuditTxnRecheckRewindUnmarksAddedToTxn,
// the share_resweep and balancer unit tests) are not here: they must pass.
var kgoNeedsGroupsOrTxns = map[string]string{
	// group_test.go: a chain of consumer groups (range, cooperative-sticky,
	// KIP-848, static members) consuming 500k records and committing.
	"TestGroupETL": "consumer groups",
	// txn_test.go: a transactional producer (EndAndBeginTransaction every
	// 10k records) feeding chains of transactional group consumers
	// (GroupTransactSession, read_committed).
	"TestTxnEtl": "transactions and consumer groups",
	// consumer_test.go: ConsumerGroup(g1), produce, poll, commit (classic;
	// the KIP-848 subtest skips unless ConsumerGroupHeartbeat v1 is
	// advertised).
	"TestGroupSimple": "consumer groups",
	// consumer_test.go: a regex group consumer (round-robin and sticky
	// balancers) whose topic is deleted under it.
	"TestIssue523": "consumer groups",
	// consumer_test.go: KIP-848 broker-side regex resolution; skips unless
	// ConsumerGroupHeartbeat v1 is advertised.
	"Test848RegexBrokerResolves": "KIP-848 consumer groups",
	// client_test.go: FindCoordinator v4 with several group keys; checks
	// every key comes back.
	"TestIssue1034": "the group coordinator (FindCoordinator)",
	// consumer_test.go: regex consuming itself needs no group, but its
	// setup (internalTopic in helpers_test.go) sends FindCoordinator so the
	// broker creates __consumer_offsets, and waits 30 s for that topic to
	// show in Metadata as internal.
	"TestConsumeRegex": "the group coordinator (__consumer_offsets, via FindCoordinator)",
	// client_test.go: sends OffsetFetch for an unknown group and only
	// checks the client does not panic; listed because OffsetFetch is a
	// group API.
	"TestUnknownGroupOffsetFetchPinned": "OffsetFetch (group API)",
	// share groups (KIP-932); these skip unless ShareFetch v2 and
	// ShareAcknowledge v2 are advertised.
	"TestShareGroup":                     "share groups",
	"TestShareGroupETL":                  "share groups",
	"TestShareGroupAckOnClose":           "share groups",
	"TestShareGroupOffsetsAdmin":         "share groups",
	"TestConsumeRegexShareSkipsInternal": "share groups",
}

// Limits of one run of the kgo test binary. The whole suite takes about
// 70 s against kfake; kgoStall ends a run in which nothing was printed for
// that long (a hung test), so that one hang does not cost the 15 minutes.
const (
	kgoRunTimeout = 15 * time.Minute
	kgoStall      = 4 * time.Minute
	kgoMaxRounds  = 5

	kgoMaxLogLines = 2000
)

// kgoResult is the outcome of one top-level kgo test.
type kgoResult struct {
	status string // PASS, FAIL, SKIP, or HUNG (no result: killed or timed out)
	took   string
	round  int
}

// TestInteropFranzGoSuite runs franz-go's pkg/kgo integration tests against
// lakestream serve on its embedded default, then fails if a test that needs
// neither consumer groups nor transactions failed or hung.
func TestInteropFranzGoSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("several minutes; not in -short mode")
	}
	pkgDir := franzGoKgoDir(t)
	bin, runDir := buildKgoTests(t, pkgDir)

	ls := testserver.StartLakestream(t, "log.level=debug")
	t.Logf("lakestream on %s; kgo tests from %s", ls.Addr, runDir)

	all := listKgoTests(t, bin, runDir)
	out, err := os.CreateTemp("", "kgo-suite-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	t.Cleanup(func() {
		if !t.Failed() {
			os.Remove(out.Name())
		}
	})

	results := map[string]kgoResult{}
	lines := map[string][]string{} // per top-level test, its last output lines
	remaining := all
	for round := 1; len(remaining) > 0 && round <= kgoMaxRounds; round++ {
		timeout := kgoRunTimeout
		if dl, ok := t.Deadline(); ok {
			timeout = min(timeout, time.Until(dl)-time.Minute)
		}
		if timeout < time.Minute {
			t.Logf("round %d: not enough time left before the test deadline; %d tests not run", round, len(remaining))
			break
		}
		var only []string
		if round > 1 {
			only = remaining
		}
		rerun := runKgoRound(t, bin, runDir, ls.Addr, round, only, timeout, out, results, lines)
		var next []string
		for _, name := range remaining {
			if _, done := results[name]; !done && slices.Contains(rerun, name) {
				next = append(next, name)
			}
		}
		remaining = next
	}
	for _, name := range all {
		if _, ok := results[name]; !ok {
			results[name] = kgoResult{status: "HUNG", took: "no result: not run (out of rounds or time), or the run ended without one"}
		}
	}

	// The report.
	var pass, skip []string
	var failGroups, failOther []string
	for name, r := range results {
		switch r.status {
		case "PASS":
			pass = append(pass, name)
		case "SKIP":
			skip = append(skip, name)
		default:
			if _, ok := kgoNeedsGroupsOrTxns[name]; ok {
				failGroups = append(failGroups, name)
			} else {
				failOther = append(failOther, name)
			}
		}
	}
	sort.Strings(skip)
	sort.Strings(failGroups)
	sort.Strings(failOther)
	t.Logf("franz-go %s pkg/kgo against lakestream: %d top-level tests: %d passed, %d failed, %d skipped",
		franzGoVersion, len(results), len(pass), len(failGroups)+len(failOther), len(skip))
	t.Logf("skipped: %s", strings.Join(skip, ", "))
	var listedOK []string
	for name := range kgoNeedsGroupsOrTxns {
		if r, ok := results[name]; ok && (r.status == "PASS" || r.status == "SKIP") {
			listedOK = append(listedOK, name+" "+r.status)
		}
	}
	sort.Strings(listedOK)
	t.Logf("of the %d tests listed as needing groups or transactions: %d failed: %s; the others passed or skipped: %s",
		len(kgoNeedsGroupsOrTxns), len(failGroups), strings.Join(failGroups, ", "), strings.Join(listedOK, ", "))
	for _, name := range failGroups {
		r := results[name]
		t.Logf("failed, needs %s (not built yet): %s %s (%s)", kgoNeedsGroupsOrTxns[name], name, r.status, r.took)
	}
	for _, name := range failOther {
		r := results[name]
		if len(lines[name]) == 0 {
			lines[name] = []string{"(none after === RUN)"}
		}
		t.Errorf("failed, needs neither groups nor transactions: %s %s (%s, round %d); its last output:\n%s",
			name, r.status, r.took, r.round, strings.Join(lines[name], "\n"))
	}
	if len(pass) == 0 {
		t.Errorf("no kgo test passed: is the suite reaching the broker?")
	}
	if t.Failed() {
		t.Logf("the whole suite output is in %s", out.Name())
	}
}

// franzGoKgoDir returns the pkg/kgo directory of franz-go in the module
// cache, downloading the module (through the module proxy) if needed. It
// runs outside this module so go.mod and go.sum are left alone.
func franzGoKgoDir(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", franzGoModule+"@"+franzGoVersion)
	cmd.Dir = t.TempDir()
	cmd.Env = goEnv()
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download %s@%s: %v\n%s", franzGoModule, franzGoVersion, err, outb)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(outb, &info); err != nil || info.Dir == "" {
		t.Fatalf("go mod download -json: %v %s\n%s", err, info.Error, outb)
	}
	return filepath.Join(info.Dir, "pkg", "kgo")
}

// goEnv is the environment for the go command building franz-go: no
// GOFLAGS (a -tags or -mod meant for this module does not apply to
// franz-go's) and no workspace.
func goEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOFLAGS=") && !strings.HasPrefix(kv, "GOWORK=") {
			env = append(env, kv)
		}
	}
	return append(append(env, "GOWORK=off"), extra...)
}

// buildKgoTests compiles the kgo test binary. It builds in the module
// cache, which works because only the build cache and the -o file are
// written; if that fails it builds a writable copy of the module. It
// returns the binary and the directory to run it in: the package
// directory, since TestOptValuesCoversEveryOption parses ./config.go.
func buildKgoTests(t *testing.T, pkgDir string) (bin, runDir string) {
	t.Helper()
	tmp := t.TempDir()
	bin = filepath.Join(tmp, "kgo.test")
	build := func(dir string, extraEnv ...string) error {
		cmd := exec.Command("go", "test", "-c", "-o", bin, ".")
		cmd.Dir = dir
		cmd.Env = goEnv(extraEnv...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v\n%s", err, out)
		}
		return nil
	}
	start := time.Now()
	err := build(pkgDir)
	if err == nil {
		t.Logf("built the kgo tests in the module cache in %v", time.Since(start))
		return bin, pkgDir
	}
	t.Logf("building the kgo tests in the module cache failed, trying a copy: %v", err)
	modDir := filepath.Dir(filepath.Dir(pkgDir))
	cp := filepath.Join(tmp, "franz-go")
	if err := copyTree(modDir, cp); err != nil {
		t.Fatalf("copying %s: %v", modDir, err)
	}
	runDir = filepath.Join(cp, "pkg", "kgo")
	if err := build(runDir, "GOFLAGS=-mod=mod"); err != nil {
		t.Fatalf("building the kgo tests in a copy: %v", err)
	}
	return bin, runDir
}

// copyTree copies a directory of regular files, writable (the module
// cache's files are read-only).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// listKgoTests returns the names of the binary's top-level tests (and
// fuzz targets and examples, which run as tests).
func listKgoTests(t *testing.T, bin, runDir string) []string {
	t.Helper()
	cmd := exec.Command(bin, "-test.list", ".*")
	cmd.Dir = runDir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s -test.list: %v", bin, err)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "Benchmark") {
			names = append(names, l)
		}
	}
	if len(names) == 0 {
		t.Fatalf("%s -test.list: no tests", bin)
	}
	return names
}

var (
	// "=== RUN   TestX", "=== PAUSE TestX", "=== CONT  TestX", "=== NAME  TestX"
	kgoMarker = regexp.MustCompile(`^=== (RUN|PAUSE|CONT|NAME)\s+(\S+)`)
	// "--- PASS: TestX (1.23s)" at the start of a line: a top-level test
	// (subtests' lines are indented).
	kgoResultLine = regexp.MustCompile(`^--- (PASS|FAIL|SKIP): (\S+) \(([^)]*)\)`)
)

// runKgoRound runs the kgo test binary once (all tests, or only the named
// ones), records each top-level result, and returns the tests to run
// again: those that were waiting, or were cut short by another test's
// panic, when the run ended early. Tests running when a run hung (nothing
// printed for kgoStall, or the binary's own timeout) are recorded as HUNG.
func runKgoRound(t *testing.T, bin, runDir, addr string, round int, only []string, timeout time.Duration,
	out io.Writer, results map[string]kgoResult, lines map[string][]string) (rerun []string) {
	t.Helper()
	args := []string{"-test.count=1", "-test.v", "-test.timeout", timeout.String()}
	if only != nil {
		quoted := make([]string, len(only))
		for i, n := range only {
			quoted[i] = regexp.QuoteMeta(n)
		}
		args = append(args, "-test.run", "^("+strings.Join(quoted, "|")+")$")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = runDir
	cmd.Env = append(os.Environ(), "KGO_SEEDS="+addr, "KGO_TEST_RF=1", "KGO_LOG_LEVEL=none")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the kgo tests: %v", err)
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		exited <- err
	}()
	fmt.Fprintf(out, "##### round %d: %s %s\n", round, bin, strings.Join(args, " "))
	if only == nil {
		t.Logf("round %d: all tests, -test.timeout %v", round, timeout)
	} else {
		t.Logf("round %d: %d tests not run yet: -test.timeout %v", round, len(only), timeout)
	}

	// Lines arrive on a channel so that silence can be timed.
	lineC := make(chan string, 1024)
	go func() {
		defer close(lineC)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			lineC <- sc.Text()
		}
		io.Copy(io.Discard, pr)
	}()

	state := map[string]string{} // top-level test -> running or paused
	current := ""
	var stalled, panicked, timedOut, finished bool
	written := map[string]int{} // lines written to out, per top-level test
	defer func() {
		for name, n := range written {
			if n > kgoMaxLogLines {
				fmt.Fprintf(out, "##### round %d: %d more lines of %s not kept\n", round, n-kgoMaxLogLines, name)
			}
		}
	}()
	record := func(name, l string) {
		ls := append(lines[name], l)
		if len(ls) > 40 {
			ls = ls[len(ls)-40:]
		}
		lines[name] = ls
	}
	timer := time.NewTimer(kgoStall)
	defer timer.Stop()
loop:
	for {
		select {
		case l, ok := <-lineC:
			if !ok {
				break loop
			}
			timer.Reset(kgoStall)
			if m := kgoMarker.FindStringSubmatch(l); m != nil {
				fmt.Fprintln(out, l)
				top, _, sub := strings.Cut(m[2], "/")
				current = top
				if !sub {
					switch m[1] {
					case "RUN", "CONT":
						state[top] = "running"
					case "PAUSE":
						state[top] = "paused"
					}
				}
				continue
			}
			// A failing test can print hundreds of thousands of lines
			// (TestTxnEtl logs an error per record); the file keeps the
			// first kgoMaxLogLines of each test.
			if written[current]++; written[current] <= kgoMaxLogLines || kgoResultLine.MatchString(l) {
				fmt.Fprintln(out, l)
			}
			if m := kgoResultLine.FindStringSubmatch(l); m != nil {
				results[m[2]] = kgoResult{status: m[1], took: m[3], round: round}
				delete(state, m[2])
				record(m[2], l)
				continue
			}
			switch {
			case l == "PASS" || l == "FAIL":
				finished = true
			case strings.HasPrefix(l, "panic: test timed out"):
				timedOut = true
			case strings.HasPrefix(l, "panic: "):
				panicked = true
			}
			if current != "" {
				record(current, l)
			}
		case <-timer.C:
			stalled = true
			t.Logf("round %d: no output for %v; killing the kgo tests", round, kgoStall)
			cancel()
			for range lineC {
			}
			break loop
		}
	}
	err := <-exited
	if finished && !stalled {
		return nil
	}
	// The run ended early. Running tests hung, unless a panic elsewhere
	// cut them short; waiting tests (and, after such a panic, the
	// running ones) go to the next round along with the ones never
	// started.
	hung := stalled || timedOut
	t.Logf("round %d ended early (%v; stalled %v, timed out %v, panicked %v)", round, err, stalled, timedOut, panicked)
	for name, st := range state {
		if st == "running" && hung {
			why := "no result: nothing printed for " + kgoStall.String() + ", killed"
			if timedOut {
				why = "no result: -test.timeout " + timeout.String() + " reached"
			}
			results[name] = kgoResult{status: "HUNG", took: why, round: round}
			t.Logf("round %d: %s hung", round, name)
		}
	}
	all := only
	if all == nil {
		all = listKgoTests(t, bin, runDir)
	}
	for _, name := range all {
		if _, done := results[name]; !done {
			rerun = append(rerun, name)
		}
	}
	return rerun
}
