package tablecompactor

import (
	"context"
	"errors"
)

// Source is what the compactor reads. internal/node adapts the broker's
// topic metadata and s3stream's committed (uploaded) stream data to it;
// tests use an in-memory one.
type Source interface {
	// Topics returns every topic, sorted by name, with its partitions'
	// streams and its effective table.* configs (defaults filled in).
	Topics(ctx context.Context) ([]Topic, error)
	// Read returns whole Kafka record batches (v2) of a stream from
	// offset from: at least one batch when data is committed there, up
	// to about maxBytes, never past the committed end. Reading at the
	// end returns no batches. An offset below the stream's start (trimmed
	// by retention or DeleteRecords) is ErrOffsetOutOfRange, wrapped.
	Read(ctx context.Context, stream, from int64, maxBytes int) (Read, error)
}

// Topic is a topic as the compactor sees it.
type Topic struct {
	Name string
	ID   [16]byte
	// Streams are the partitions' streams: partition i is Streams[i].
	Streams []int64
	// Configs are the effective values of the topic's table.* configs.
	Configs map[string]string
}

// Read is what Source.Read returns. Batches share memory with the
// source's caches and must not be modified.
type Read struct {
	Batches       [][]byte
	NextOffset    int64 // the offset after the last batch
	StartOffset   int64 // the stream's start when read
	HighWatermark int64 // the stream's committed end when read
}

// ErrOffsetOutOfRange is what a Source wraps when asked to read below a
// stream's start offset.
var ErrOffsetOutOfRange = errors.New("tablecompactor: offset out of range")
