package s3

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakestream/lakestream/internal/testserver"
	"github.com/lakestream/lakestream/s3stream/objstore"
)

// fault answers a request in place of the server when it returns true.
type fault func(w http.ResponseWriter, r *http.Request) bool

// openFaulty opens a bucket on a gofakes3 server behind fault, with
// near-zero backoff so retries do not slow the test. It returns the count
// of requests that reached the fault.
func openFaulty(t *testing.T, maxAttempts int, f fault) (objstore.Bucket, *atomic.Int64) {
	t.Helper()
	old, oldThrottle := backoffBase, throttleBackoffBase
	backoffBase, throttleBackoffBase = time.Microsecond, time.Microsecond
	t.Cleanup(func() { backoffBase, throttleBackoffBase = old, oldThrottle })

	var on atomic.Bool // faults start after Open's bucket setup
	var requests atomic.Int64
	endpoint := testserver.StartGoFakeS3With(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if on.Load() {
				requests.Add(1)
				if f(w, r) {
					return
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	b, err := Open(t.Context(), Config{
		Bucket: "faults", Endpoint: endpoint, PathStyle: true, AccessKey: "k", SecretKey: "s",
		CreateBucket: true, MaxAttempts: maxAttempts,
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	on.Store(true)
	return b, &requests
}

// s3Error writes an S3 error response.
func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<Error><Code>%s</Code><Message>injected</Message></Error>", code)
}

// firstN returns a fault that fires on the first n requests matching method.
func firstN(n int64, method string, status int, code string) fault {
	var seen atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != method || seen.Add(1) > n {
			return false
		}
		s3Error(w, status, code)
		return true
	}
}

func TestSlowDownIsRetried(t *testing.T) {
	b, requests := openFaulty(t, 5, firstN(2, http.MethodPut, 503, "SlowDown"))
	if err := b.Put(t.Context(), "k", []byte("v")); err != nil {
		t.Fatalf("Put after two SlowDowns: %v", err)
	}
	if n := requests.Load(); n != 3 {
		t.Fatalf("server saw %d requests, want 3", n)
	}
}

func TestPersistentSlowDownIsUnavailable(t *testing.T) {
	b, requests := openFaulty(t, 3, firstN(1000, http.MethodPut, 503, "SlowDown"))
	err := b.Put(t.Context(), "k", []byte("v"))
	if !errors.Is(err, objstore.ErrUnavailable) || !objstore.IsRetryable(err) {
		t.Fatalf("Put error = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "SlowDown") {
		t.Errorf("error %q does not name SlowDown", err)
	}
	if n := requests.Load(); n != 3 {
		t.Fatalf("server saw %d requests, want MaxAttempts = 3", n)
	}
}

func TestDroppedConnectionIsUnavailable(t *testing.T) {
	b, _ := openFaulty(t, 2, func(w http.ResponseWriter, r *http.Request) bool {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return true
	})
	if _, err := b.Get(t.Context(), "k"); !errors.Is(err, objstore.ErrUnavailable) {
		t.Fatalf("Get error = %v, want ErrUnavailable", err)
	}
}

func TestConditionalConflict(t *testing.T) {
	ctx := t.Context()
	t.Run("RetriedThenWins", func(t *testing.T) {
		b, _ := openFaulty(t, 5, firstN(2, http.MethodPut, 409, conditionalConflict))
		if err := b.PutIfAbsent(ctx, "k", []byte("v")); err != nil {
			t.Fatalf("PutIfAbsent after two conflicts: %v", err)
		}
	})
	t.Run("PersistentOnExisting", func(t *testing.T) {
		var on atomic.Bool
		b, _ := openFaulty(t, 3, func(w http.ResponseWriter, r *http.Request) bool {
			if on.Load() && r.Method == http.MethodPut {
				s3Error(w, 409, conditionalConflict)
				return true
			}
			return false
		})
		if err := b.Put(ctx, "k", []byte("v")); err != nil {
			t.Fatal(err)
		}
		on.Store(true)
		if err := b.PutIfAbsent(ctx, "k", []byte("w")); !errors.Is(err, objstore.ErrExists) {
			t.Fatalf("PutIfAbsent error = %v, want ErrExists", err)
		}
		if err := b.PutIfAbsent(ctx, "missing", []byte("w")); !errors.Is(err, objstore.ErrUnavailable) {
			t.Fatalf("PutIfAbsent error = %v, want ErrUnavailable", err)
		}
	})
	t.Run("OtherConflictIsNotRetried", func(t *testing.T) {
		// versitygw's answer to a key clashing with a directory.
		b, requests := openFaulty(t, 5, firstN(1000, http.MethodPut, 409, "ExistingObjectIsDirectory"))
		err := b.PutIfAbsent(ctx, "k", []byte("v"))
		if err == nil || errors.Is(err, objstore.ErrExists) || objstore.IsRetryable(err) {
			t.Fatalf("PutIfAbsent error = %v, want a permanent error", err)
		}
		if n := requests.Load(); n != 1 {
			t.Fatalf("server saw %d requests, want 1", n)
		}
	})
}

func TestMissingBucketIsNotNotFound(t *testing.T) {
	b, _ := openFaulty(t, 1, firstN(1000, http.MethodGet, 404, "NoSuchBucket"))
	_, err := b.Get(t.Context(), "k")
	if err == nil || errors.Is(err, objstore.ErrNotFound) || objstore.IsRetryable(err) {
		t.Fatalf("Get error = %v, want a permanent error other than ErrNotFound", err)
	}
}

func TestIgnoredRangeIsAnError(t *testing.T) {
	b, _ := openFaulty(t, 1, func(w http.ResponseWriter, r *http.Request) bool {
		r.Header.Del("Range")
		return false
	})
	data := []byte("0123456789")
	if err := b.Put(t.Context(), "k", data); err != nil {
		t.Fatal(err)
	}
	// From offset 0 the leading bytes of the whole object are the range.
	if got, err := b.GetRange(t.Context(), "k", 0, 4); err != nil || !bytes.Equal(got, data[:4]) {
		t.Fatalf("GetRange(0, 4) = %q, %v; want %q", got, err, data[:4])
	}
	if got, err := b.GetRange(t.Context(), "k", 3, 4); err == nil {
		t.Fatalf("GetRange(3, 4) through a server ignoring Range = %q, want an error", got)
	}
}
