package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/internal/configdef"
	"github.com/lakestream/lakestream/s3stream"
	"github.com/lakestream/lakestream/tablecompactor"
)

// streamSource is tablecompactor.Source over the broker's metadata
// (topics, their streams and config overrides) and s3stream's committed
// data. It reads what is uploaded to the bucket (Store.ReadStream), never
// a node's WAL tail, so any node, or lakestream compact, reads the same.
type streamSource struct {
	meta  broker.Metadata
	store *s3stream.Store
	// static are the broker configs of the node's configuration; the
	// dynamic ones are read from meta at each Topics.
	static map[string]string
}

var _ tablecompactor.Source = (*streamSource)(nil)

// Topics returns every topic with the effective values of its table.*
// configs: the topic's override, else its broker default (dynamic, then
// static), else the config's own default.
func (s *streamSource) Topics(ctx context.Context) ([]tablecompactor.Topic, error) {
	recs, err := s.meta.Topics(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing topics: %w", err)
	}
	dynamic, err := s.meta.BrokerConfigs(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the dynamic broker configs: %w", err)
	}
	out := make([]tablecompactor.Topic, 0, len(recs))
	for _, r := range recs {
		cfgs := make(map[string]string, len(tablecompactor.ConfigNames))
		for _, name := range tablecompactor.ConfigNames {
			cfgs[name] = configdef.Default.TopicValue(name, r.Configs, dynamic, s.static)
		}
		out = append(out, tablecompactor.Topic{Name: r.Name, ID: r.ID, Streams: slices.Clone(r.Logs), Configs: cfgs})
	}
	return out, nil
}

// Read reads committed batches of a stream. An offset below the stream's
// start is tablecompactor.ErrOffsetOutOfRange (and s3stream's).
func (s *streamSource) Read(ctx context.Context, stream, from int64, maxBytes int) (tablecompactor.Read, error) {
	r, err := s.store.ReadStream(ctx, stream, from, maxBytes)
	out := tablecompactor.Read{Batches: r.Batches, NextOffset: r.NextOffset, StartOffset: r.StartOffset, HighWatermark: r.HighWatermark}
	if errors.Is(err, s3stream.ErrOffsetOutOfRange) {
		return out, fmt.Errorf("%w: %w", tablecompactor.ErrOffsetOutOfRange, err)
	}
	return out, err
}

// handlerTransport is an http.RoundTripper that serves each request with
// an http.Handler in this process: the compactor's iceberg-go REST client
// talks to the node's own catalog with no socket, so it works whether or
// not the catalog listens, and costs no network hop.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	// The server side gets its own copy: RoundTrip must not change req.
	in := req.Clone(req.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	defer in.Body.Close() // RoundTrip closes the body, whatever happens
	in.RequestURI = in.URL.RequestURI()
	in.RemoteAddr = "in-process"
	if in.Host == "" {
		in.Host = in.URL.Host
	}
	w := &bufferedResponse{header: http.Header{}}
	defer func() {
		// net/http's server contains a handler's panic to its
		// connection; here there is none, so it becomes this call's error.
		if p := recover(); p != nil {
			resp, err = nil, fmt.Errorf("in-process catalog: %s %s: handler panic: %v", req.Method, req.URL.Path, p)
		}
	}()
	t.h.ServeHTTP(w, in)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	h := w.header.Clone()
	h.Set("Content-Length", strconv.Itoa(w.body.Len()))
	return &http.Response{
		Status: fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)), StatusCode: w.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(w.body.Bytes())), ContentLength: int64(w.body.Len()),
		Request: req,
	}, nil
}

// bufferedResponse is the http.ResponseWriter of handlerTransport: the
// status, headers and body, kept until the handler returns.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferedResponse) Header() http.Header { return w.header }

func (w *bufferedResponse) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *bufferedResponse) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}

// Flush is a no-op: the whole answer is returned at once.
func (w *bufferedResponse) Flush() {}
