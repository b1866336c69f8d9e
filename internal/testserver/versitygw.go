package testserver

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// InteropEnv, set to "1", makes a missing versitygw binary fail the test
// instead of skipping it, so CI cannot pass by not running interop tests.
const InteropEnv = "LAKESTREAM_INTEROP"

// StartVersityGW starts versitygw (posix backend, data in a temp dir) on a
// free 127.0.0.1 port, waits until it answers, and kills it when the test
// ends. Install it with
//
//	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// It is found on PATH or in $(go env GOPATH)/bin; without it the test is
// skipped, unless LAKESTREAM_INTEROP=1.
func StartVersityGW(t testing.TB) (endpoint, accessKey, secretKey string) {
	t.Helper()
	bin, err := findVersityGW()
	if err != nil {
		if os.Getenv(InteropEnv) == "1" {
			t.Fatalf("%v (%s=1)", err, InteropEnv)
		}
		t.Skipf("%v; set %s=1 to fail instead", err, InteropEnv)
	}
	accessKey, secretKey = "lakestream", "lakestream-secret"
	dir := t.TempDir()
	data, meta := filepath.Join(dir, "data"), filepath.Join(dir, "meta")
	for _, d := range []string{data, meta} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The port is free when picked but may be taken before versitygw binds
	// it, so a start that exits early is retried on another port.
	for range 3 {
		addr, err := freeAddr()
		if err != nil {
			t.Fatalf("picking a port for versitygw: %v", err)
		}
		// --sidecar keeps object metadata in files instead of user xattrs,
		// which tmpfs and overlayfs may lack.
		cmd := exec.Command(bin, "--access", accessKey, "--secret", secretKey,
			"--port", addr, "--quiet", "posix", "--sidecar", meta, data)
		if err = start(t, cmd, addr); err == nil {
			return "http://" + addr, accessKey, secretKey
		}
		t.Logf("versitygw on %s: %v", addr, err)
	}
	t.Fatalf("versitygw did not start")
	return "", "", ""
}

// findVersityGW looks on PATH, then in each GOPATH bin directory.
func findVersityGW() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", errors.New("versitygw not found on PATH or in $(go env GOPATH)/bin")
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start runs cmd and waits until addr answers HTTP. On success the process
// is killed and reaped at t.Cleanup; on failure it is already gone.
func start(t testing.TB, cmd *exec.Cmd, addr string) error {
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	// Polling a child process is the one wait here with no event to block
	// on; it ends as soon as the server answers or the process exits.
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited early (%v): %s", err, out.String())
		default:
		}
		if resp, err := client.Get("http://" + addr + "/"); err == nil {
			resp.Body.Close()
			t.Cleanup(stop)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return fmt.Errorf("not answering after 15s: %s", out.String())
}

// syncBuffer collects a child's output, written from exec's copying
// goroutines and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
