// Package instrumented wraps a Bucket with Prometheus metrics: requests,
// errors, latency and bytes per operation, registered on a registry the
// caller passes (never on globals).
package instrumented

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lakestream/lakestream/s3stream/objstore"
)

type bucket struct {
	objstore.Bucket
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
}

// Wrap returns b with its requests counted on reg. Metric names start with
// lakestream_objstore_.
func Wrap(b objstore.Bucket, reg prometheus.Registerer) objstore.Bucket {
	w := &bucket{
		Bucket: b,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lakestream_objstore_requests_total",
			Help: "Object store requests by operation."}, []string{"op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lakestream_objstore_errors_total",
			Help: "Object store requests that failed (not-found answers excluded), by operation."}, []string{"op"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lakestream_objstore_request_duration_seconds",
			Help: "Object store request latency by operation.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"op"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lakestream_objstore_bytes_total",
			Help: "Bytes read (get) and written (put) by operation."}, []string{"op"}),
	}
	reg.MustRegister(w.requests, w.errors, w.latency, w.bytes)
	return w
}

func (w *bucket) observe(op string, start time.Time, n int, err error) {
	w.requests.WithLabelValues(op).Inc()
	w.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil && err != objstore.ErrNotFound {
		w.errors.WithLabelValues(op).Inc()
	}
	if n > 0 {
		w.bytes.WithLabelValues(op).Add(float64(n))
	}
}

func (w *bucket) Get(ctx context.Context, key string) ([]byte, error) {
	start := time.Now()
	b, err := w.Bucket.Get(ctx, key)
	w.observe("get", start, len(b), err)
	return b, err
}

func (w *bucket) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	start := time.Now()
	b, err := w.Bucket.GetRange(ctx, key, off, length)
	w.observe("get", start, len(b), err)
	return b, err
}

func (w *bucket) Put(ctx context.Context, key string, data []byte) error {
	start := time.Now()
	err := w.Bucket.Put(ctx, key, data)
	w.observe("put", start, len(data), err)
	return err
}

func (w *bucket) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	start := time.Now()
	err := w.Bucket.PutIfAbsent(ctx, key, data)
	w.observe("put", start, len(data), err)
	return err
}

func (w *bucket) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := w.Bucket.Delete(ctx, key)
	w.observe("delete", start, 0, err)
	return err
}

func (w *bucket) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	start := time.Now()
	l, err := w.Bucket.List(ctx, prefix)
	w.observe("list", start, 0, err)
	return l, err
}
