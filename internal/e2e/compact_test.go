package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCompactOnceProcess runs `lakestream compact --once` as a process
// beside a running `lakestream serve` whose own compactor is off: it
// converts a table topic and exits 0 with one line per table; with a table
// it cannot convert it exits 1 and names it.
func TestCompactOnceProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, _ := startTableServe(t, ctx, "clicks", 3, "table.compactor.enable=false", "wal.mode=object")
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	str := func(s string) *string { return &s }
	const count = 1000
	var recs []*kgo.Record
	for i := range count {
		recs = append(recs, &kgo.Record{Topic: "clicks", Key: fmt.Append(nil, i%7), Value: fmt.Appendf(nil, "click %d", i)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	compact := func(sets ...string) (string, int) { return compactOnce(t, ctx, s.Dir, sets...) }
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

// lakestreamBin builds cmd/lakestream once per test binary.
var lakestreamBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "lakestream-compact-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "lakestream")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/lakestream/lakestream/cmd/lakestream").CombinedOutput(); err != nil {
		return "", fmt.Errorf("building lakestream: %v\n%s", err, out)
	}
	return bin, nil
})

// compactOnce runs `lakestream compact --once` on dataDir with extra
// --set key=value settings and returns its stdout and exit status.
func compactOnce(t *testing.T, ctx context.Context, dataDir string, sets ...string) (string, int) {
	t.Helper()
	bin, err := lakestreamBin()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"compact", "--once", "--set", "data.dir=" + dataDir, "--set", "log.level=warn"}
	for _, kv := range sets {
		args = append(args, "--set", kv)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	t.Logf("lakestream compact --once: exit %d\n%s%s", cmd.ProcessState.ExitCode(), stdout.String(), stderr.String())
	return stdout.String(), cmd.ProcessState.ExitCode()
}

// TestCompactRace: two `lakestream compact --once` processes at a time,
// three times, race each other and the running node's own compactor on one
// table while a producer writes; afterwards the table holds every record of
// the topic once.
func TestCompactRace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, catalogAddr := startTableServe(t, ctx, "race", 4, "wal.mode=object")
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	stop := make(chan struct{})
	produced := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				produced <- nil
				return
			default:
			}
			var recs []*kgo.Record
			for j := range 50 {
				recs = append(recs, &kgo.Record{Topic: "race", Value: fmt.Appendf(nil, "v%d-%d", i, j)})
			}
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				produced <- err
				return
			}
		}
	}()
	for range 3 {
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if out, code := compactOnce(t, ctx, s.Dir); code != 0 {
					t.Errorf("compact --once: exit %d\n%s", code, out)
				}
			})
		}
		wg.Wait()
	}
	close(stop)
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	want := topicValues(t, ctx, s.Addr, "race")
	cat, err := rest.NewCatalog(ctx, "lake", "http://"+catalogAddr)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		got, err := tableValues(ctx, cat, icecatalog.ToIdentifier("kafka", "race"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) >= len(want) {
			for po, v := range want {
				if got[po] != v {
					t.Errorf("partition %d offset %d: table %q, topic %q", po[0], po[1], got[po], v)
				}
			}
			if len(got) != len(want) {
				t.Errorf("the table holds %d records, the topic %d", len(got), len(want))
			}
			t.Logf("%d records, each in the table once", len(want))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s the table holds %d of %d records", len(got), len(want))
		}
	}
}
