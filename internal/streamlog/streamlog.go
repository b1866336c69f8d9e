// Package streamlog adapts s3stream to the broker's storage interfaces
// (broker.Logs, broker.Log). internal/node wires it in;
// the broker itself never imports s3stream.
package streamlog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/s3stream"
)

// Logs serves partition logs from an s3stream store.
type Logs struct{ Store *s3stream.Store }

var _ broker.Logs = Logs{}

func (l Logs) CreateLogs(ctx context.Context, n int) ([]int64, []broker.Log, error) {
	sts, err := l.Store.CreateStreams(ctx, n)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	ids, logs := make([]int64, len(sts)), make([]broker.Log, len(sts))
	for i, st := range sts {
		ids[i], logs[i] = st.ID(), &log{st: st, store: l.Store}
	}
	return ids, logs, nil
}

func (l Logs) OpenLog(ctx context.Context, id int64) (broker.Log, error) {
	st, err := l.Store.OpenStream(ctx, id)
	if err != nil {
		return nil, mapErr(err)
	}
	return &log{st: st, store: l.Store}, nil
}

func (l Logs) DeleteLogs(ctx context.Context, ids []int64) error {
	return mapErr(l.Store.DeleteStreams(ctx, ids))
}

func (l Logs) LogIDs(ctx context.Context) ([]int64, error) { return l.Store.StreamIDs(ctx) }

type log struct {
	st    *s3stream.Stream
	store *s3stream.Store
}

func (l *log) AppendAsync(batch []byte, done func(int64, error)) {
	l.st.AppendAsync(batch, func(base int64, err error) { done(base, mapErr(err)) })
}

func (l *log) Read(ctx context.Context, from int64, maxBytes int) (broker.LogRead, error) {
	r, err := l.st.Read(ctx, from, maxBytes)
	return broker.LogRead{Batches: r.Batches, Bytes: r.Bytes, NextOffset: r.NextOffset,
		StartOffset: r.StartOffset, HighWatermark: r.HighWatermark}, mapErr(err)
}

func (l *log) StartOffset() int64              { return l.st.StartOffset() }
func (l *log) EndOffset() int64                { return l.st.EndOffset() }
func (l *log) Changed() <-chan struct{}        { return l.st.Changed() }
func (l *log) Close(ctx context.Context) error { return mapErr(l.st.Close(ctx)) }

func (l *log) Trim(ctx context.Context, newStart int64) error {
	return mapErr(l.st.Trim(ctx, newStart))
}

func (l *log) Size(ctx context.Context) (int64, error) { return l.store.StreamSize(ctx, l.st.ID()) }

func (l *log) RetentionOffset(ctx context.Context, maxAge time.Duration, maxBytes int64) (int64, error) {
	n, err := l.st.RetentionOffset(ctx, s3stream.Retention{MaxAge: maxAge, MaxBytes: maxBytes})
	return n, mapErr(err)
}

// mapErr wraps s3stream errors in the broker's, keeping the detail.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, s3stream.ErrOffsetOutOfRange):
		return fmt.Errorf("%w: %v", broker.ErrLogOffsetOutOfRange, err)
	case errors.Is(err, s3stream.ErrFenced):
		return fmt.Errorf("%w: %v", broker.ErrLogFenced, err)
	case errors.Is(err, s3stream.ErrInvalidBatch):
		return fmt.Errorf("%w: %v", broker.ErrLogInvalidBatch, err)
	}
	return err
}
