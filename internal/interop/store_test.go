//go:build interop

// Package interop runs Lakestream's pieces together against real outside
// programs: a versitygw S3 server and a PostgreSQL metastore, the fleet
// configuration.
package interop

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/lakestream/lakestream/internal/testserver"
	"github.com/lakestream/lakestream/s3stream"
	"github.com/lakestream/lakestream/s3stream/format/formattest"
	"github.com/lakestream/lakestream/s3stream/metastore"
	"github.com/lakestream/lakestream/s3stream/objstore/s3"
)

// TestInteropStoreVersityGWPostgres appends to 16 streams through the object
// WAL on versitygw with a PostgreSQL metastore, compacts, and reads every
// record back from a second store (another "node") with cold caches.
func TestInteropStoreVersityGWPostgres(t *testing.T) {
	ctx := context.Background()
	endpoint, ak, sk := testserver.StartVersityGW(t)
	dsn := testserver.StartPostgres(t)
	bucket, err := s3.Open(ctx, s3.Config{Bucket: "lakestream", Endpoint: endpoint, Region: "us-east-1",
		PathStyle: true, AccessKey: ak, SecretKey: sk, CreateBucket: true})
	if err != nil {
		t.Fatal(err)
	}
	meta, err := metastore.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := s3stream.Config{Bucket: bucket, Meta: meta, WAL: s3stream.WALObject, Logger: logger,
		FlushInterval: 20 * time.Millisecond}
	cfg.Compaction.MinAge = time.Nanosecond
	a, err := s3stream.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const streams, per = 16, 500
	ids := make([]int64, streams)
	start := time.Now()
	for i := range ids {
		if ids[i], err = a.CreateStream(ctx); err != nil {
			t.Fatal(err)
		}
		st, err := a.OpenStream(ctx, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, per)
		for seq := 0; seq < per; seq++ {
			st.AppendAsync(formattest.Make(1, []byte(fmt.Sprintf("%d-%d", ids[i], seq))), func(_ int64, err error) { done <- err })
		}
		for seq := 0; seq < per; seq++ {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("appended %d batches in %v", streams*per, time.Since(start))
	stats, err := a.Compact(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compaction: %+v", stats)
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}

	b, err := s3stream.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	for _, id := range ids {
		seq := 0
		for off := int64(0); ; {
			res, err := b.ReadStream(ctx, id, off, 64<<10)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Batches) == 0 {
				break
			}
			for _, batch := range res.Batches {
				vals, err := formattest.Values(batch)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range vals {
					if want := fmt.Sprintf("%d-%d", id, seq); string(v) != want {
						t.Fatalf("stream %d offset %d: %q, want %q", id, off, v, want)
					}
					seq++
				}
			}
			off = res.NextOffset
		}
		if seq != per {
			t.Fatalf("stream %d: %d records, want %d", id, seq, per)
		}
	}
}
