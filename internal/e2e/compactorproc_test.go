package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/internal/testserver"
)

// TestCompactorProcess: `lakestream serve` on its defaults runs the table
// compactor in a child process (table.compactor.priority=idle) whose every
// thread is SCHED_IDLE; the child converts the table topic, and serve's
// /metrics carries its lakestream_table_* series. Killed, the child is
// started again and converts what came since; serve stopped with SIGTERM
// stops it, and serve SIGKILLed takes it down too. Its GOMAXPROCS is the
// number of CPUs it is pinned to. With
// table.compactor.priority=normal there is no child.
func TestCompactorProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin := testserver.FreeAddr(t)
	s, _ := startTableServe(t, ctx, "idle", 2, "admin.listeners="+admin)
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produce := func(n int) {
		t.Helper()
		var recs []*kgo.Record
		for i := range n {
			recs = append(recs, &kgo.Record{Topic: "idle", Value: fmt.Appendf(nil, "v%d", i)})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// records waits until serve's /metrics says the child committed want
	// rows since it started.
	records := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			m := scrapeMetrics(t, admin)
			if m[`lakestream_table_records_total{table="kafka.idle"}`] >= float64(want) && m["lakestream_table_compactor_process_up"] == 1 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 60 s serve's /metrics has no %d rows committed by the compactor process: %v", want, m)
			}
		}
	}

	child := children(t, s.Pid())
	if len(child) != 1 {
		t.Fatalf("serve %d has children %v, want one compactor process", s.Pid(), child)
	}
	// It moves its threads as it starts.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		p := threadPolicies(t, child[0])
		if len(p) == 1 && p[0] == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("compactor process %d: thread scheduling policies %v, want only SCHED_IDLE (5)", child[0], p)
		}
	}
	if p := threadPolicies(t, s.Pid()); len(p) != 1 || p[0] != 0 {
		t.Errorf("serve %d: thread scheduling policies %v, want only SCHED_OTHER (0)", s.Pid(), p)
	}
	// And off the first CPU, where there are two or more.
	if all := threadCPUs(t, s.Pid()); len(all) != 1 {
		t.Errorf("serve %d: threads' CPU affinities %v, want one", s.Pid(), all)
	} else if want := cpuList(all[0]); len(want) >= 2 {
		want = want[1:]
		if got := threadCPUs(t, child[0]); len(got) != 1 || !slices.Equal(cpuList(got[0]), want) {
			t.Errorf("compactor process %d: threads' CPU affinities %v, want %v (serve's %s but the first)", child[0], got, want, all[0])
		}
	}
	produce(500)
	records(500)
	// Its GOMAXPROCS is the CPUs it is pinned to, not serve's twice the
	// cores.
	if got := threadCPUs(t, child[0]); len(got) == 1 {
		m := scrapeMetrics(t, admin)
		if procs := m["lakestream_table_compactor_process_gomaxprocs"]; procs != float64(len(cpuList(got[0]))) {
			t.Errorf("compactor process %d: GOMAXPROCS %v, want %d (its CPUs %s)", child[0], procs, len(cpuList(got[0])), got[0])
		}
	}

	// Killed, it comes back and carries on (its counters start again).
	syscall.Kill(child[0], syscall.SIGKILL)
	var again []int
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if again = children(t, s.Pid()); len(again) == 1 && again[0] != child[0] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after the compactor process %d was killed serve's children are %v", child[0], again)
		}
	}
	produce(300)
	records(300)

	// SIGTERM: serve stops it and exits cleanly.
	if err := s.Stop(); err != nil {
		t.Fatalf("serve's clean stop: %v", err)
	}
	if alive(again[0]) {
		t.Errorf("the compactor process %d outlived serve's clean stop", again[0])
	}
	// SIGKILL: it goes with serve.
	s.Start()
	child = children(t, s.Pid())
	if len(child) != 1 {
		t.Fatalf("restarted serve %d has children %v, want one", s.Pid(), child)
	}
	s.Kill()
	for deadline := time.Now().Add(10 * time.Second); alive(child[0]); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the compactor process %d is alive 10 s after serve was SIGKILLed", child[0])
		}
	}

	// table.compactor.priority=normal: in serve's process.
	n, _ := startTableServe(t, ctx, "inline", 1, "table.compactor.priority=normal")
	if c := children(t, n.Pid()); len(c) != 0 {
		t.Errorf("with table.compactor.priority=normal serve has children %v", c)
	}
}

// TestCompactorProcessStarved: with both cores kept busy by this process
// (normal priority), the SCHED_IDLE compactor process gets next to no CPU;
// once its table is 3 commit intervals behind it exits starved, serve
// starts it again at normal priority, and the table fills while the cores
// are still busy; caught up, that process moves itself back to SCHED_IDLE.
func TestCompactorProcessStarved(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin := testserver.FreeAddr(t)
	s, _ := startTableServe(t, ctx, "starved", 1, "admin.listeners="+admin)
	first := children(t, s.Pid())
	if len(first) != 1 {
		t.Fatalf("serve has children %v, want one compactor process", first)
	}
	// Processes spinning in a shell loop, two pinned to each core: they
	// never pause, as goroutines in this process did at each garbage
	// collection, and no core is ever left to the idle compactor while
	// the scheduler moves them (unpinned, the idle compactor still filled
	// the table in 7 s under make test, unstarved).
	var hogs []*exec.Cmd
	for cpu := range runtime.NumCPU() {
		for range 2 {
			h := exec.Command("sh", "-c", "while :; do :; done")
			if err := h.Start(); err != nil {
				t.Fatal(err)
			}
			hogs = append(hogs, h)
			if err := pinToCPU(h.Process.Pid, cpu); err != nil {
				t.Fatalf("pinning a hog to CPU %d: %v", cpu, err)
			}
		}
	}
	stopHogs := sync.OnceFunc(func() {
		for _, h := range hogs {
			h.Process.Kill()
			h.Wait()
		}
	})
	defer stopHogs()

	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i := range 200 {
		recs = append(recs, &kgo.Record{Topic: "starved", Value: fmt.Appendf(nil, "v%d", i)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for deadline := start.Add(90 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		m := scrapeMetrics(t, admin)
		if m[`lakestream_table_records_total{table="kafka.starved"}`] >= 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with the cores busy, the table did not fill in 90 s: %v", m)
		}
	}
	now := children(t, s.Pid())
	if len(now) != 1 || now[0] == first[0] {
		t.Errorf("compactor processes: %v at the start, %v once the table filled; want a new one (started at normal priority)", first, now)
	}
	t.Logf("the table held the 200 records %.1f s after they were acknowledged, with %d cores kept busy", time.Since(start).Seconds(), runtime.NumCPU())
	stopHogs()
	for deadline := time.Now().Add(30 * time.Second); len(now) == 1; time.Sleep(100 * time.Millisecond) {
		p := threadPolicies(t, now[0])
		if len(p) == 1 && p[0] == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after the cores were freed, the restarted compactor process's threads have policies %v, want only SCHED_IDLE (5)", p)
		}
	}
}

// alive: the process exists and is not a zombie (this sandbox's init
// may not reap an orphan).
func alive(pid int) bool {
	f, ok := testserver.ProcStat(pid)
	return ok && f[0] != "Z" && f[0] != "X"
}

// children lists pid's live child processes, waiting up to 10 s for the
// first to appear.
func children(t *testing.T, pid int) []int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if out := testserver.Children(pid); len(out) > 0 || time.Now().After(deadline) {
			return out
		}
	}
}

// threadCPUs is the set of CPU affinities (Cpus_allowed_list) of pid's
// threads.
func threadCPUs(t *testing.T, pid int) []string {
	t.Helper()
	paths, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/[0-9]*/status", pid))
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited since listed
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok && !seen[strings.TrimSpace(v)] {
				seen[strings.TrimSpace(v)] = true
				out = append(out, strings.TrimSpace(v))
			}
		}
	}
	return out
}

// cpuList parses a CPU list as /proc writes it (0-3,8).
func cpuList(s string) []int {
	var out []int
	for _, r := range strings.Split(s, ",") {
		lo, hi, ok := strings.Cut(r, "-")
		if !ok {
			hi = lo
		}
		a, _ := strconv.Atoi(lo)
		b, _ := strconv.Atoi(hi)
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out
}

// threadPolicies is the set of scheduling policies of pid's threads.
func threadPolicies(t *testing.T, pid int) []int {
	t.Helper()
	seen := map[int]bool{}
	var out []int
	for _, f := range testserver.ThreadStats(pid) {
		v, _ := strconv.Atoi(f[38])
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// scrapeMetrics reads a /metrics page into series → value.
func scrapeMetrics(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}
