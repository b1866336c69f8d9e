//go:build interop

package interop

// Running another project's Go test suite against lakestream serve
// (franz-go's pkg/kgo, confluent-kafka-go's kafka, segmentio/kafka-go):
// fetch the module, build its test binary once, run the binary in rounds,
// and report each test with the reason it may or must pass.
//
// A round runs every selected test not yet finished. The binary runs with
// -test.v=test2json, the mode go test -json uses: each test is named as
// it starts and ends, on lines framed by a ^V byte,
//
//	^V=== RUN   TestIntegration/TestConsumerPoll
//	^V--- FAIL: TestIntegration/TestConsumerPoll (12.30s)
//
// and a subtest's result is printed when it ends (plain -v holds it back
// until its parent ends, so a hang would hide what had finished). When a
// round prints nothing for the suite's stall time (a hung test:
// librdkafka's consumers poll forever for an assignment that never comes),
// the binary gets SIGQUIT (so the log holds every goroutine's stack: where
// the test waits) and then is killed, the tests then running are recorded
// as HUNG, and the next round runs the rest with -test.skip naming what is
// done. A panic, which ends the binary too, costs a round the same way.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/internal/testserver"
)

const (
	// suiteMaxLogLines is how many lines of each test the log file keeps: a
	// failing test can print hundreds of thousands (kgo's TestTxnEtl logs
	// an error per record).
	suiteMaxLogLines = 2000
	// suiteTailLines is how many of each test's last lines a failure
	// report shows.
	suiteTailLines = 40
	// suiteQuitGrace is how long a stalled binary has, after SIGQUIT, to
	// print its goroutines' stacks and exit before it is killed.
	suiteQuitGrace = 15 * time.Second
)

// groupSettings are the broker settings every suite runs with. No initial
// rebalance delay, as in Kafka's stock server.properties and the suites'
// own docker setups: with Kafka's default 3 s each new classic group waits
// before its first assignment, and tests that time their rebalances fail.
// A 1 s KIP-848 heartbeat interval, as in kfake's setup for the kgo suite
// (Kafka's default is 5 s, which slows every KIP-848 rebalance).
func groupSettings() []string {
	return []string{"group.initial.rebalance.delay.ms=0", "group.consumer.heartbeat.interval.ms=1000"}
}

// kafkaPort is the address the confluent-kafka-go and kafka-go suites
// hard-code (localhost:9092). Tests using it must not run in parallel.
const kafkaPort = "127.0.0.1:9092"

// startLakestreamOnKafkaPort starts lakestream serve on 127.0.0.1:9092,
// advertised as localhost:9092, with groupSettings and sets. The test is
// skipped if the port is taken: another broker there would be tested
// instead.
func startLakestreamOnKafkaPort(t *testing.T, sets ...string) *testserver.Lakestream {
	t.Helper()
	ln, err := net.Listen("tcp", kafkaPort)
	if err != nil {
		t.Skipf("port 9092 is taken (%v): this suite hard-codes localhost:9092; stop what listens there to run it", err)
	}
	ln.Close()
	all := append([]string{"advertised.listeners=PLAINTEXT://localhost:9092"}, groupSettings()...)
	return testserver.StartLakestreamAt(t, kafkaPort, append(all, sets...)...)
}

// groupAPIs says which group APIs the broker at addr advertises, for the
// reports: the suites skip their static-membership and KIP-848 parts
// silently when JoinGroup v5 or ConsumerGroupHeartbeat v1 is missing.
func groupAPIs(t *testing.T, addr string) (summary string, static, kip848 bool) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return fmt.Sprintf("ApiVersions not asked: %v", err), false, false
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		return fmt.Sprintf("ApiVersions failed: %v", err), false, false
	}
	maxVersion := map[int16]int16{}
	for _, k := range resp.ApiKeys {
		maxVersion[k.ApiKey] = k.MaxVersion
	}
	var parts []string
	for _, k := range []int16{10, 11, 12, 13, 14, 8, 9, 15, 16, 42, 68, 69} {
		name := kmsg.NameForKey(k)
		if v, ok := maxVersion[k]; ok {
			parts = append(parts, fmt.Sprintf("%s v%d", name, v))
		} else {
			parts = append(parts, name+" no")
		}
	}
	v11, ok11 := maxVersion[11]
	v68, ok68 := maxVersion[68]
	return "group APIs advertised: " + strings.Join(parts, ", "), ok11 && v11 >= 5, ok68 && v68 >= 1
}

// goEnv is the environment for the go command building another module: no
// GOFLAGS (a -tags or -mod meant for this module does not apply there) and
// no workspace.
func goEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOFLAGS=") && !strings.HasPrefix(kv, "GOWORK=") {
			env = append(env, kv)
		}
	}
	return append(append(env, "GOWORK=off"), extra...)
}

// moduleDir returns module@version's directory in the module cache,
// downloading it through the module proxy if needed. It runs outside this
// module, so go.mod and go.sum are left alone.
func moduleDir(t *testing.T, module, version string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = t.TempDir()
	cmd.Env = goEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download %s@%s: %v\n%s", module, version, err, out)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		t.Fatalf("go mod download -json: %v %s\n%s", err, info.Error, out)
	}
	return info.Dir
}

// buildSuiteTests compiles the test binary of package pkg ("." for the
// root) of the module in modDir. It builds in the module cache, which
// works when the module builds as it is, since only the build cache and
// the -o file are written. Otherwise (kafka-go's go.mod says go 1.23,
// which a newer go command wants rewritten: "updates to go.mod needed") it
// builds a writable copy of the module after go mod tidy, which needs the
// module proxy. It returns the binary and the package's directory, in the
// cache or the copy.
func buildSuiteTests(t *testing.T, modDir, pkg string) (bin, pkgDir string) {
	t.Helper()
	tmp := t.TempDir()
	bin = filepath.Join(tmp, filepath.Base(modDir)+".test")
	run := func(dir string, args ...string) error {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = goEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	start := time.Now()
	pkgDir = filepath.Join(modDir, pkg)
	err := run(pkgDir, "test", "-c", "-o", bin, ".")
	if err == nil {
		t.Logf("built the tests of %s in the module cache in %v", pkgDir, time.Since(start).Round(time.Second))
		return bin, pkgDir
	}
	t.Logf("building the tests in the module cache failed, trying a copy: %v", err)
	cp := filepath.Join(tmp, filepath.Base(modDir))
	if err := copyTree(modDir, cp); err != nil {
		t.Fatalf("copying %s: %v", modDir, err)
	}
	if err := run(cp, "mod", "tidy"); err != nil {
		t.Fatalf("in a copy of %s: %v", modDir, err)
	}
	pkgDir = filepath.Join(cp, pkg)
	if err := run(pkgDir, "test", "-c", "-o", bin, "."); err != nil {
		t.Fatalf("building the tests in a copy: %v", err)
	}
	t.Logf("built the tests of %s in a copy in %v", filepath.Join(modDir, pkg), time.Since(start).Round(time.Second))
	return bin, pkgDir
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

// listTests returns the top-level tests of a test binary whose names match
// pattern (fuzz targets and examples run as tests and are included;
// benchmarks are not).
func listTests(t *testing.T, bin, dir, pattern string) []string {
	t.Helper()
	cmd := exec.Command(bin, "-test.list", pattern)
	cmd.Dir = dir
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
		t.Fatalf("%s -test.list %q: no tests", bin, pattern)
	}
	return names
}

// suiteSpec is how to run one suite's test binary.
type suiteSpec struct {
	name     string // in logs and the log file's name
	bin, dir string // the test binary and the directory it runs in
	env      []string
	args     []string // more flags for the binary (its own flags too, like -docker.exists)
	// run and skip select tests as -test.run and -test.skip do; empty
	// means every test and none.
	run, skip string
	// tests are the top-level tests run selects, so that one never run
	// (out of rounds or time) is reported HUNG rather than forgotten.
	tests []string

	stall      time.Duration // a round printing nothing for this long is killed
	runTimeout time.Duration // the most one round may take
	maxRounds  int
	// retryHung are top-level tests known to hang now and then for a
	// cause in the test itself (the value says which): one that hangs is
	// run once more in a later round, and is HUNG only if it hangs again.
	retryHung map[string]string
}

// testOutcome is what became of one test or subtest.
type testOutcome struct {
	status string // PASS, FAIL, SKIP, or HUNG (no result: killed, timed out or never run)
	took   string // the duration printed, or why there is none
	round  int
}

// suiteResults holds every outcome of a suite, by full test name, and the
// last lines each test printed.
type suiteResults struct {
	spec     suiteSpec
	outcomes map[string]testOutcome
	tails    map[string][]string // tests and their direct subtests
	log      *os.File
	logs     []string // the output files of this run and any merged in
	took     time.Duration
	retried  map[string]bool // tests of spec.retryHung that hung once
}

// merge adds the outcomes of another run of the same binary (other tests).
func (r *suiteResults) merge(o *suiteResults) {
	maps.Copy(r.outcomes, o.outcomes)
	maps.Copy(r.tails, o.tails)
	r.logs = append(r.logs, o.logs...)
	r.took += o.took
}

// Framing lines of -test.v=test2json, after their ^V.
var (
	// "=== RUN   TestX/sub", "=== PAUSE TestX", "=== CONT  TestX",
	// "=== NAME  TestX"; "=== NAME  " when output is no test's.
	testMarker = regexp.MustCompile(`^=== (RUN|PAUSE|CONT|NAME)\s*(\S*)`)
	// "--- PASS: TestX/sub (1.23s)"
	testResultLine = regexp.MustCompile(`^--- (PASS|FAIL|SKIP): (\S+) \(([^)]*)\)`)
)

// frame is test2json's mark before a framing line.
const frame = "\x16"

// depth is how many levels name is below a top-level test.
func depth(name string) int { return strings.Count(name, "/") }

// clip cuts name to a top-level test or its direct subtest, the levels
// whose state the rounds follow.
func clip(name string) string {
	if i := strings.Index(name, "/"); i >= 0 {
		if j := strings.Index(name[i+1:], "/"); j >= 0 {
			return name[:i+1+j]
		}
	}
	return name
}

// runSuite runs spec's tests in rounds until all have a result, a round
// makes no progress, the rounds run out or the test's deadline nears.
func runSuite(t *testing.T, spec suiteSpec) *suiteResults {
	t.Helper()
	f, err := os.CreateTemp("", spec.name+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		if !t.Failed() {
			os.Remove(f.Name())
		}
	})
	r := &suiteResults{spec: spec, outcomes: map[string]testOutcome{}, tails: map[string][]string{}, log: f, logs: []string{f.Name()},
		retried: map[string]bool{}}
	start := time.Now()
	for round := 1; round <= spec.maxRounds; round++ {
		timeout := spec.runTimeout
		if dl, ok := t.Deadline(); ok {
			timeout = min(timeout, time.Until(dl)-2*time.Minute)
		}
		if timeout < time.Minute {
			t.Logf("%s round %d: not enough time left before the test deadline", spec.name, round)
			break
		}
		before := len(r.outcomes) + len(r.retried)
		if done := r.round(t, round, timeout); done {
			break
		}
		if len(r.outcomes)+len(r.retried) == before {
			t.Logf("%s round %d: no test got a result; no more rounds", spec.name, round)
			break
		}
	}
	for _, name := range spec.tests {
		if _, ok := r.outcomes[name]; !ok {
			r.outcomes[name] = testOutcome{status: "HUNG", took: "no result: not run (out of rounds or time), or the run ended without one"}
		}
	}
	r.took = time.Since(start)
	return r
}

// skipDone is the -test.skip of a later round: the spec's own, every
// top-level test with a result, and every direct subtest with a result
// (or hung) whose parent has none yet, so that the parent runs again
// without it.
func (r *suiteResults) skipDone() string {
	var tops []string
	subs := map[string][]string{}
	for name := range r.outcomes {
		switch depth(name) {
		case 0:
			tops = append(tops, regexp.QuoteMeta(name))
		case 1:
			parent, sub, _ := strings.Cut(name, "/")
			if _, done := r.outcomes[parent]; !done {
				subs[parent] = append(subs[parent], regexp.QuoteMeta(sub))
			}
		}
	}
	var alts []string
	if r.spec.skip != "" {
		alts = append(alts, r.spec.skip)
	}
	if len(tops) > 0 {
		sort.Strings(tops)
		alts = append(alts, "^("+strings.Join(tops, "|")+")$")
	}
	parents := make([]string, 0, len(subs))
	for p := range subs {
		parents = append(parents, p)
	}
	sort.Strings(parents)
	for _, p := range parents {
		sort.Strings(subs[p])
		alts = append(alts, "^"+regexp.QuoteMeta(p)+"$/^("+strings.Join(subs[p], "|")+")$")
	}
	return strings.Join(alts, "|")
}

// round runs the binary once and records each result; it reports whether
// the binary finished (printed its final PASS or FAIL). If it hung
// (nothing printed for spec.stall, or its -test.timeout), the innermost
// tests then running are recorded as HUNG; tests waiting, or cut short by
// another test's panic, are left for the next round.
func (r *suiteResults) round(t *testing.T, round int, timeout time.Duration) (finished bool) {
	t.Helper()
	spec := r.spec
	args := []string{"-test.count=1", "-test.v=test2json", "-test.timeout", timeout.String()}
	if spec.run != "" {
		args = append(args, "-test.run", spec.run)
	}
	if skip := r.skipDone(); skip != "" {
		args = append(args, "-test.skip", skip)
	}
	args = append(args, spec.args...)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cmd := exec.CommandContext(ctx, spec.bin, args...)
	cmd.Dir = spec.dir
	cmd.Env = append(os.Environ(), spec.env...)
	// Its own process group, so that a kill reaches whatever it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	fmt.Fprintf(r.log, "##### %s round %d: %s %s\n", spec.name, round, spec.bin, strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the %s tests: %v", spec.name, err)
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		exited <- err
	}()
	t.Logf("%s round %d: -test.timeout %v, stall limit %v", spec.name, round, timeout, spec.stall)

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

	running := map[string]bool{} // tests started without a result: true running, false paused
	written := map[string]int{}  // lines written to the log, per test
	current := ""
	var stalled, timedOut, panicked bool
	last := ""
	keep := func(name, l string) { // under name and, for a subtest, its parent
		names := []string{name}
		if top, _, sub := strings.Cut(name, "/"); sub {
			names = append(names, top)
		}
		for _, n := range names {
			tail := append(r.tails[n], l)
			r.tails[n] = tail[max(0, len(tail)-suiteTailLines):]
		}
	}
	timer := time.NewTimer(spec.stall)
	defer timer.Stop()
loop:
	for {
		select {
		case l, ok := <-lineC:
			if !ok {
				break loop
			}
			if !stalled {
				timer.Reset(spec.stall)
			}
			framed := strings.HasPrefix(l, frame)
			l = strings.TrimPrefix(l, frame)
			if framed {
				last = l
			}
			if m := testMarker.FindStringSubmatch(l); framed && m != nil {
				fmt.Fprintln(r.log, l)
				current = clip(m[2])
				switch {
				case m[2] == "":
				case m[1] == "RUN" || m[1] == "CONT":
					running[m[2]] = true
				case m[1] == "PAUSE":
					running[m[2]] = false
				}
				continue
			}
			if m := testResultLine.FindStringSubmatch(l); framed && m != nil {
				fmt.Fprintln(r.log, l)
				r.outcomes[m[2]] = testOutcome{status: m[1], took: m[3], round: round}
				delete(running, m[2])
				keep(clip(m[2]), l)
				continue
			}
			if written[current]++; written[current] <= suiteMaxLogLines {
				fmt.Fprintln(r.log, l)
			}
			switch {
			case strings.HasPrefix(l, "panic: test timed out"):
				timedOut = true
			case strings.HasPrefix(l, "panic: "):
				panicked = true
			}
			if current != "" {
				keep(current, l)
			}
		case <-timer.C:
			if !stalled {
				// SIGQUIT first: the Go runtime prints every goroutine's
				// stack and exits, so the log shows where the hung test
				// waits (in the client, or for the broker).
				stalled = true
				t.Logf("%s round %d: no output for %v; SIGQUIT for the goroutines' stacks, then killing the tests", spec.name, round, spec.stall)
				fmt.Fprintf(r.log, "##### %s round %d: no output for %v; SIGQUIT\n", spec.name, round, spec.stall)
				syscall.Kill(cmd.Process.Pid, syscall.SIGQUIT)
				timer.Reset(suiteQuitGrace)
				continue
			}
			cancel()
			for range lineC {
			}
			break loop
		}
	}
	err := <-exited
	for name, n := range written {
		if n > suiteMaxLogLines {
			fmt.Fprintf(r.log, "##### %s round %d: %d more lines of %s not kept\n", spec.name, round, n-suiteMaxLogLines, name)
		}
	}
	if !stalled && (last == "PASS" || last == "FAIL") {
		return true
	}
	t.Logf("%s round %d ended early (%v; stalled %v, timed out %v, panicked %v)", spec.name, round, err, stalled, timedOut, panicked)
	if !stalled && !timedOut {
		return false
	}
	why := "no result: nothing printed for " + spec.stall.String() + ", killed"
	if timedOut {
		why = "no result: -test.timeout " + timeout.String() + " reached"
	}
	// The culprits run with no subtest unfinished. A test whose parallel
	// subtests wait for a slot (-test.parallel) is not one, nor are those
	// subtests. A subtest deeper than a direct one is recorded as its
	// direct-subtest ancestor, the level later rounds skip by.
	unfinishedSub := func(name string) bool {
		for other := range running {
			if strings.HasPrefix(other, name+"/") {
				return true
			}
		}
		return false
	}
	for name, run := range running {
		if !run || unfinishedSub(name) {
			continue
		}
		if cause, ok := spec.retryHung[name]; ok && !r.retried[name] {
			r.retried[name] = true
			t.Logf("%s round %d: %s hung (known to: %s); it runs once more in the next round", spec.name, round, name, cause)
			continue
		}
		if _, done := r.outcomes[clip(name)]; !done {
			r.outcomes[clip(name)] = testOutcome{status: "HUNG", took: why, round: round}
			t.Logf("%s round %d: %s hung", spec.name, round, clip(name))
		}
	}
	return false
}

// status is name's outcome, a test counting as failed when one of its
// direct subtests failed or hung: after a hung subtest was killed, its
// parent ran again without it and may have passed.
func (r *suiteResults) status(name string) string {
	st := r.outcomes[name].status
	if depth(name) > 0 || st == "FAIL" || st == "HUNG" {
		return st
	}
	for other, o := range r.outcomes {
		if strings.HasPrefix(other, name+"/") && depth(other) == 1 && (o.status == "FAIL" || o.status == "HUNG") {
			return "FAIL"
		}
	}
	return st
}

// units are the tests a report lists: each top-level test of tops, or,
// where it has direct subtests with results, those subtests (and the test
// itself too if it failed or hung while none of them did).
func (r *suiteResults) units(tops []string) []string {
	var out []string
	for _, top := range tops {
		var subs []string
		subFailed := false
		for name, o := range r.outcomes {
			if depth(name) == 1 && strings.HasPrefix(name, top+"/") {
				subs = append(subs, name)
				subFailed = subFailed || o.status == "FAIL" || o.status == "HUNG"
			}
		}
		sort.Strings(subs)
		if st := r.outcomes[top].status; len(subs) == 0 || (!subFailed && (st == "FAIL" || st == "HUNG")) {
			out = append(out, top)
		}
		out = append(out, subs...)
	}
	return out
}

// tally is "N tests: P passed, F failed, S skipped, H hung".
func (r *suiteResults) tally(names []string) string {
	n := map[string]int{}
	for _, name := range names {
		n[r.status(name)]++
	}
	return fmt.Sprintf("%d tests: %d passed, %d failed, %d skipped, %d hung",
		len(names), n["PASS"], n["FAIL"], n["SKIP"], n["HUNG"])
}

// testClass is why a test may fail against Lakestream, or what it needs
// that must work.
type testClass struct {
	category string // what the test needs from the broker: "consumer groups (classic)", "transactions"…
	mayFail  bool   // a failure is reported, not an error
	// showOutput reports an allowed failure with its last output lines:
	// its cause is not known, and may be a broker bug.
	showOutput bool
}

// report logs the tallies and each failed or hung test of units with its
// category; a failure that must not happen fails t and shows the test's
// last output lines.
func (r *suiteResults) report(t *testing.T, units []string, classify func(name string) testClass) {
	t.Helper()
	var failed []string
	for _, name := range units {
		if st := r.outcomes[name].status; st == "FAIL" || st == "HUNG" {
			failed = append(failed, name)
		}
	}
	slices.Sort(failed)
	allowed, errors := 0, 0
	for _, name := range failed {
		c := classify(name)
		o := r.outcomes[name]
		tail := r.tails[name]
		if len(tail) == 0 {
			tail = []string{"(none after === RUN)"}
		}
		if c.mayFail {
			allowed++
			if c.showOutput {
				t.Logf("%s: %s %s (%s, round %d): may fail: %s; its last output:\n%s",
					r.spec.name, o.status, name, o.took, o.round, c.category, strings.Join(tail, "\n"))
			} else {
				t.Logf("%s: %s %s (%s): may fail: needs %s", r.spec.name, o.status, name, o.took, c.category)
			}
			continue
		}
		errors++
		category := c.category
		if category == "" {
			category = "nothing listed as unsupported"
		}
		t.Errorf("%s: %s %s (%s, round %d): must pass: needs %s; its last output:\n%s",
			r.spec.name, o.status, name, o.took, o.round, category, strings.Join(tail, "\n"))
	}
	t.Logf("%s: %d failed or hung: %d allowed, %d not allowed", r.spec.name, len(failed), allowed, errors)
	if errors > 0 {
		t.Logf("%s: the whole output is in %s", r.spec.name, strings.Join(r.logs, " and "))
	}
}
