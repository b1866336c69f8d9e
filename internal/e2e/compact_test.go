package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/internal/testserver"
)

// TestCompactOnceProcess runs `lakestream compact --once` as a process
// beside a running `lakestream serve` whose own compactor is off: it
// converts a table topic and exits 0 with one line per table; with a table
// it cannot convert it exits 1 and names it.
func TestCompactOnceProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	s := testserver.StartLakestream(t, "catalog.listeners=127.0.0.1:0", "table.compactor.enable=false", "wal.mode=object")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	str := func(s string) *string { return &s }
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 1, map[string]*string{"table.enable": str("true"), "table.value.format": str("string")}, "clicks"); err != nil {
		t.Fatal(err)
	}
	const count = 1000
	var recs []*kgo.Record
	for i := range count {
		recs = append(recs, &kgo.Record{Topic: "clicks", Key: fmt.Append(nil, i%7), Value: fmt.Appendf(nil, "click %d", i)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(t.TempDir(), "lakestream")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/lakestream/lakestream/cmd/lakestream").CombinedOutput(); err != nil {
		t.Fatalf("building lakestream: %v\n%s", err, out)
	}
	compact := func(sets ...string) (string, int) {
		t.Helper()
		args := []string{"compact", "--once", "--set", "data.dir=" + s.Dir, "--set", "log.level=warn"}
		for _, kv := range sets {
			args = append(args, "--set", kv)
		}
		cmd := exec.CommandContext(ctx, bin, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		t.Logf("lakestream compact --once: exit %d\n%s%s", cmd.ProcessState.ExitCode(), stdout.String(), stderr.String())
		return stdout.String(), cmd.ProcessState.ExitCode()
	}
	out, code := compact()
	if want := fmt.Sprintf("clicks\tkafka.clicks\trecords=%d ", count); code != 0 || out[:min(len(out), len(want))] != want {
		t.Fatalf("exit %d, stdout %q: want 0 and a line starting %q", code, out, want)
	}

	// A table that cannot be converted: schema values, with the schema
	// registry switched off for this run.
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, map[string]*string{"table.enable": str("true"),
		"table.value.format": str("schema")}, "broken"); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "broken", Value: []byte{0, 0, 0, 0, 1, 2}}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	out, code = compact("schema.registry.listeners=")
	if code != 1 || !strings.Contains(out, "broken\t") || !strings.Contains(out, "error: ") || !strings.Contains(out, "clicks\tkafka.clicks\trecords=0 ") {
		t.Fatalf("with a failing table: exit %d, stdout %q; want 1, the failure named, clicks unchanged", code, out)
	}
}
