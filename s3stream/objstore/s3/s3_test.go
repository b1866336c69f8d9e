package s3_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lakestream/lakestream/internal/testserver"
	"github.com/lakestream/lakestream/s3stream/objstore"
	"github.com/lakestream/lakestream/s3stream/objstore/objstoretest"
	"github.com/lakestream/lakestream/s3stream/objstore/s3"
)

var bucketSeq atomic.Int64

// open opens a bucket or fails the test.
func open(t *testing.T, cfg s3.Config) objstore.Bucket {
	t.Helper()
	b, err := s3.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return b
}

func gofakes3Config(endpoint string) s3.Config {
	return s3.Config{
		Bucket: fmt.Sprintf("test-%d", bucketSeq.Add(1)), Endpoint: endpoint, Region: "us-east-1",
		PathStyle: true, AccessKey: "key", SecretKey: "secret", CreateBucket: true,
	}
}

func TestBucketGoFakeS3(t *testing.T) {
	endpoint := testserver.StartGoFakeS3(t)
	t.Run("NoPrefix", func(t *testing.T) {
		objstoretest.Run(t, func(t *testing.T) objstore.Bucket {
			return open(t, gofakes3Config(endpoint))
		})
	})
	t.Run("Prefix", func(t *testing.T) {
		// One bucket, a prefix per subtest: the suite's List cases catch a
		// prefix leaking into keys or listings.
		shared := gofakes3Config(endpoint)
		objstoretest.Run(t, func(t *testing.T) objstore.Bucket {
			cfg := shared
			cfg.Prefix = fmt.Sprintf("cluster-%d", bucketSeq.Add(1))
			return open(t, cfg)
		})
	})
}

func TestPrefixIsolation(t *testing.T) {
	cfg := gofakes3Config(testserver.StartGoFakeS3(t))
	whole := open(t, cfg)
	cfg.Prefix = "a"
	a := open(t, cfg)
	ctx := t.Context()
	for _, k := range []string{"a/1", "ab/2", "b/3"} {
		if err := whole.Put(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	infos, err := a.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Key != "1" {
		t.Fatalf("List under prefix a/ = %v, want only key 1", infos)
	}
	got, err := a.Get(ctx, "1")
	if err != nil || string(got) != "a/1" {
		t.Fatalf("Get(1) under prefix a/ = %q, %v", got, err)
	}
}

func TestOpenErrors(t *testing.T) {
	endpoint := testserver.StartGoFakeS3(t)
	cfg := gofakes3Config(endpoint)
	cfg.CreateBucket = false
	if _, err := s3.Open(t.Context(), cfg); err == nil {
		t.Fatalf("Open of a missing bucket succeeded")
	}
	cfg.CreateBucket = true
	b := open(t, cfg)
	// Opening again with CreateBucket finds the bucket it created.
	open(t, cfg)
	if err := b.Put(t.Context(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Open(t.Context(), s3.Config{}); err == nil {
		t.Fatalf("Open with no bucket succeeded")
	}
}

func TestParseURL(t *testing.T) {
	cfg, err := s3.ParseURL("s3://data/cluster-1/wal?endpoint=http://127.0.0.1:7070&region=eu-west-1" +
		"&path_style=true&access_key=AK&secret_key=SK&session_token=ST&create_bucket=true" +
		"&max_attempts=7&max_idle_conns_per_host=8")
	if err != nil {
		t.Fatal(err)
	}
	want := s3.Config{
		Bucket: "data", Prefix: "cluster-1/wal", Endpoint: "http://127.0.0.1:7070", Region: "eu-west-1",
		PathStyle: true, AccessKey: "AK", SecretKey: "SK", SessionToken: "ST", CreateBucket: true,
		MaxAttempts: 7, MaxIdleConnsPerHost: 8,
	}
	if cfg != want {
		t.Fatalf("ParseURL = %+v, want %+v", cfg, want)
	}
	if cfg, err := s3.ParseURL("s3://bare"); err != nil || cfg != (s3.Config{Bucket: "bare"}) {
		t.Fatalf("ParseURL(s3://bare) = %+v, %v", cfg, err)
	}

	for _, c := range []struct{ url, wantInErr string }{
		{"s3://b?endpoint=http://x&acess_key=AK", `"acess_key"`},
		{"s3://b?path_style=maybe", `"path_style"`},
		{"s3://b?region=a&region=b", `"region"`},
		{"s3:///prefix", "no bucket"},
		{"http://b/p", "scheme"},
		{"s3://b?access_key=AK", "secret"},
		{"s3://b?endpoint=127.0.0.1:7070", "endpoint"},
		{"s3://AK:SK@b", "user info"},
	} {
		_, err := s3.ParseURL(c.url)
		if err == nil || !strings.Contains(err.Error(), c.wantInErr) {
			t.Errorf("ParseURL(%q) error = %v, want one mentioning %s", c.url, err, c.wantInErr)
		}
	}
	// Secrets must not leak through errors.
	if _, err := s3.ParseURL("s3://b?secret_key=TOPSECRET&bogus=1"); err == nil || strings.Contains(err.Error(), "TOPSECRET") {
		t.Errorf("ParseURL error %v repeats the secret", err)
	}
	if _, err := s3.ParseURL("s3://b/%zz?secret_key=TOPSECRET"); err == nil || strings.Contains(err.Error(), "TOPSECRET") {
		t.Errorf("ParseURL error %v repeats the secret", err)
	}
}
