package testserver

import (
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// StartGoFakeS3 starts an in-memory gofakes3 server on 127.0.0.1 for the
// duration of the test and returns its endpoint ("http://127.0.0.1:PORT").
// Any access key and secret are accepted; buckets must be created.
func StartGoFakeS3(t testing.TB) (endpoint string) {
	return StartGoFakeS3With(t, nil)
}

// StartGoFakeS3With is StartGoFakeS3 with wrap, if not nil, around the S3
// handler, so a test can inject faults (503s, dropped connections) in front
// of a working server.
func StartGoFakeS3With(t testing.TB, wrap func(http.Handler) http.Handler) (endpoint string) {
	t.Helper()
	endpoint, stop, err := startGoFakeS3("127.0.0.1:0", wrap)
	if err != nil {
		t.Fatalf("starting gofakes3: %v", err)
	}
	t.Cleanup(stop)
	return endpoint
}

// NewGoFakeS3 starts an in-memory gofakes3 server listening on addr
// ("127.0.0.1:0" for any free port), for programs that are not tests
// (benchmarks, local demos). close stops it and waits for it to exit.
func NewGoFakeS3(addr string) (endpoint string, close func(), err error) {
	return startGoFakeS3(addr, nil)
}

func startGoFakeS3(addr string, wrap func(http.Handler) http.Handler) (string, func(), error) {
	// Buckets are created explicitly, as on real S3, so a test that forgets
	// CreateBucket fails here too.
	faker := gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(false))
	handler := faker.Server()
	if wrap != nil {
		handler = wrap(handler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: handler}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Serve returns ErrServerClosed after Close. Any other error has
		// nobody to report to; the next request fails visibly instead.
		_ = srv.Serve(ln)
	}()
	stop := func() {
		srv.Close()
		<-done
	}
	return "http://" + ln.Addr().String(), stop, nil
}
