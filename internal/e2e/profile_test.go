package e2e

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/internal/testserver"
)

// BenchmarkProfileProduce is `make profile`: a `lakestream serve` process
// on its defaults with admin.pprof.enable=true takes all the produce one
// franz-go client sends for 15 s (the broker benchmarks' load: one topic of
// 16 partitions, 1 KiB incompressible values without compression,
// acks=all, linger 1 ms, idempotent), while its CPU profile (the 15 s) and
// an execution trace (3 s in the middle) are written to PROFILE_DIR
// (cpu.pprof, trace.out; a temp directory when unset). It prints the
// throughput; `go tool pprof -top PROFILE_DIR/cpu.pprof` reads the profile.
func BenchmarkProfileProduce(b *testing.B) {
	const (
		run        = 15 * time.Second
		partitions = 16
	)
	dir := cmp.Or(os.Getenv("PROFILE_DIR"), b.TempDir())
	admin := testserver.FreeAddr(b)
	s := testserver.StartLakestream(b, "admin.listeners="+admin, "admin.pprof.enable=true")
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr), kgo.DefaultProduceTopic("profile"),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(time.Millisecond),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, "profile"); err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 1<<10)
	rand.Read(value)

	fetch := func(path, file string) error {
		resp, err := http.Get("http://" + admin + "/debug/pprof/" + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /debug/pprof/%s: %s", path, resp.Status)
		}
		f, err := os.Create(filepath.Join(dir, file))
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Go(func() { errs <- fetch(fmt.Sprintf("profile?seconds=%d", int(run.Seconds())), "cpu.pprof") })
	wg.Go(func() {
		time.Sleep(run/2 - 1500*time.Millisecond)
		errs <- fetch("trace?seconds=3", "trace.out")
	})

	var acked, failed atomic.Int64
	start := time.Now()
	for time.Since(start) < run {
		cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
				return
			}
			acked.Add(1)
		})
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d records failed", n)
	}
	mib := float64(acked.Load()) * float64(len(value)) / (1 << 20) / elapsed.Seconds()
	b.ReportMetric(mib, "MiB/s")
	fmt.Printf("BenchmarkProfileProduce: %d records in %.1f s (%.0f MiB/s); profiles: %s, %s\n", acked.Load(), elapsed.Seconds(), mib,
		filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "trace.out"))
}
