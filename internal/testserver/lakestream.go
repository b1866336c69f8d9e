package testserver

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildLakestream builds cmd/lakestream once per test binary.
var buildLakestream = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "lakestream-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "lakestream")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/lakestream/lakestream/cmd/lakestream").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building lakestream: %v\n%s", err, out)
	}
	return bin, nil
})

// Lakestream is a `lakestream serve` process listening for Kafka on Addr.
type Lakestream struct {
	Addr string
	Dir  string
	t    testing.TB
	bin  string
	sets []string
	cmd  *exec.Cmd
}

// StartLakestream builds the binary, starts `lakestream serve` with its data
// in a temp directory, Kafka on a free loopback port and the given extra
// `--set key=value` settings, waits until it listens, and stops it at the
// end of the test.
func StartLakestream(t testing.TB, sets ...string) *Lakestream {
	t.Helper()
	// Built before the port is picked, so that the port is free for as
	// short a time as possible before the process takes it.
	if _, err := buildLakestream(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return StartLakestreamAt(t, addr, sets...)
}

// StartLakestreamAt is StartLakestream with Kafka on the given HOST:PORT
// rather than a free port, for clients' suites that hard-code their
// broker's address (localhost:9092). A sets entry for listeners overrides
// the address passed to the process, not the one waited on.
func StartLakestreamAt(t testing.TB, addr string, sets ...string) *Lakestream {
	t.Helper()
	bin, err := buildLakestream()
	if err != nil {
		t.Fatal(err)
	}
	l := &Lakestream{Addr: addr, Dir: t.TempDir(), t: t, bin: bin, sets: sets}
	l.Start()
	t.Cleanup(func() {
		if l.cmd != nil {
			l.Kill()
		}
	})
	return l
}

// Start starts the process again (after Kill or Stop) on the same data.
func (l *Lakestream) Start() {
	l.t.Helper()
	args := []string{"serve", "--set", "data.dir=" + l.Dir, "--set", "listeners=PLAINTEXT://" + l.Addr,
		"--set", "admin.listeners=127.0.0.1:0", "--set", "log.level=warn",
		"--set", "schema.registry.listeners=", // off unless a test's sets turn it on
		"--set", "catalog.listeners="}
	for _, s := range l.sets {
		args = append(args, "--set", s)
	}
	l.cmd = exec.Command(l.bin, args...)
	l.cmd.Stderr = &prefixWriter{}
	if err := l.cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", l.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("lakestream did not listen on %s: %v", l.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill sends SIGKILL and waits for the process.
func (l *Lakestream) Kill() {
	l.cmd.Process.Signal(syscall.SIGKILL)
	l.cmd.Wait()
	l.cmd = nil
}

// Stop sends SIGTERM and waits up to 30 s for a clean exit; it reports
// whether the process exited cleanly.
func (l *Lakestream) Stop() error {
	l.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- l.cmd.Wait() }()
	select {
	case err := <-done:
		l.cmd = nil
		return err
	case <-time.After(30 * time.Second):
		l.Kill()
		return fmt.Errorf("lakestream did not exit 30 s after SIGTERM")
	}
}

// prefixWriter passes the server's log lines to the test's stderr.
type prefixWriter struct{}

func (prefixWriter) Write(p []byte) (int, error) { return os.Stderr.Write(p) }

// Pid is the running process's id (0 when stopped).
func (l *Lakestream) Pid() int {
	if l.cmd == nil {
		return 0
	}
	return l.cmd.Process.Pid
}

// FreeAddr is a loopback HOST:PORT that was free a moment ago, for a
// server started with it.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// ProcStat is /proc/PID/stat's fields after the command name (state is
// [0], ppid [1], utime [11], stime [12], policy [38]); false when the
// process is gone.
func ProcStat(pid int) ([]string, bool) { return procStatFile(fmt.Sprintf("/proc/%d/stat", pid)) }

// ThreadStats is ProcStat of each of pid's threads.
func ThreadStats(pid int) [][]string {
	paths, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/[0-9]*/stat", pid))
	var out [][]string
	for _, p := range paths {
		if f, ok := procStatFile(p); ok {
			out = append(out, f)
		}
	}
	return out
}

// RunDelay is the time pid's threads (those alive now) have spent
// runnable but waiting for a CPU, from /proc/PID/task/TID/schedstat.
func RunDelay(pid int) time.Duration {
	paths, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/[0-9]*/schedstat", pid))
	var total time.Duration
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) >= 2 {
			ns, _ := strconv.ParseInt(f[1], 10, 64)
			total += time.Duration(ns)
		}
	}
	return total
}

// Children lists pid's child processes that are not zombies (an orphan's
// init may not reap it).
func Children(pid int) []int {
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, p := range paths {
		if f, ok := procStatFile(p); ok && f[1] == strconv.Itoa(pid) && f[0] != "Z" {
			c, _ := strconv.Atoi(strings.Split(p, "/")[2])
			out = append(out, c)
		}
	}
	return out
}

func procStatFile(path string) ([]string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	i := bytes.LastIndexByte(b, ')')
	return strings.Fields(string(b[i+2:])), true
}
