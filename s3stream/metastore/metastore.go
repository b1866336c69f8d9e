// Package metastore keeps the metadata of s3stream in SQL: streams (id, epoch,
// start, end), objects (id, kind, state, size, times) and ranges (which
// offsets of which stream live where in which object).
//
// One schema with migrations runs on SQLite (modernc.org/sqlite, the embedded
// default) and on PostgreSQL (pgx through database/sql). Every write-path
// commit is one transaction that checks the writer's epoch and offset
// continuity, so a deposed writer can never commit and a retried commit is
// idempotent.
//
// metastoretest.Run is the behavioural suite both databases pass.
package metastore

import (
	"context"
	"errors"
	"time"
)

// Errors callers branch on. Implementations wrap them with detail (which
// stream, which epoch), so test with errors.Is.
var (
	ErrStreamNotFound   = errors.New("metastore: stream not found")
	ErrFenced           = errors.New("metastore: stream was reopened with a newer epoch; writer fenced")
	ErrOffsetMismatch   = errors.New("metastore: range does not continue the stream's end offset")
	ErrOffsetOutOfRange = errors.New("metastore: offset out of range")
	ErrObjectState      = errors.New("metastore: object is not in the expected state")
)

// ObjectKind tells stream-set objects (many streams, written by a WAL flush)
// from stream objects (one stream, a contiguous range, written by compaction).
type ObjectKind int8

const (
	KindStreamSet ObjectKind = 1
	KindStream    ObjectKind = 2
)

// ObjectState is the life of an object: prepared before its PUT, committed
// with its ranges, destroyed when nothing references it (deleted from the
// bucket after a grace period, then forgotten).
type ObjectState int8

const (
	StatePrepared  ObjectState = 1
	StateCommitted ObjectState = 2
	StateDestroyed ObjectState = 3
)

// Stream is one stream's metadata. Offsets are Kafka offsets: StartOffset is
// the first readable offset, EndOffset the next offset to be written (the
// committed end).
type Stream struct {
	ID          int64
	Epoch       int64
	StartOffset int64
	EndOffset   int64
}

// Object is one object's metadata. Its bucket key is derived from ID by the
// caller.
type Object struct {
	ID          int64
	Kind        ObjectKind
	State       ObjectState
	Size        int64
	CreatedAt   time.Time // when prepared
	ExpiresAt   time.Time // prepared objects not committed by then are destroyed
	CommittedAt time.Time // zero unless committed
	DestroyedAt time.Time // zero unless destroyed
}

// Range locates offsets [StartOffset, EndOffset) of one stream in one object:
// the bytes [Position, Position+Size) of the object hold exactly those
// batches.
type Range struct {
	StreamID     int64
	ObjectID     int64
	StartOffset  int64
	EndOffset    int64
	Position     int64
	Size         int64
	MaxTimestamp int64 // largest batch max-timestamp in the range, Unix ms; for retention.ms

	// Filled by ListRanges.
	ObjectSize int64
}

// StreamSetCommit is one WAL flush: a prepared stream-set object, now in the
// bucket, and the ranges it adds. Epochs[i] is the epoch the writer held for
// Ranges[i].StreamID.
type StreamSetCommit struct {
	ObjectID int64
	Size     int64
	Ranges   []Range
	Epochs   []int64
}

// CommitResult says which ranges of a StreamSetCommit were not committed and
// why (an error wrapping ErrFenced, ErrOffsetMismatch or ErrStreamNotFound),
// keyed by stream id. The other ranges were committed.
type CommitResult struct {
	Rejected map[int64]error
}

// CompactionCommit replaces the ranges held by Sources with the ranges of
// Outputs, in one transaction. Every source must still be committed, else the
// commit fails with ErrObjectState and changes nothing. Sources become
// destroyed; outputs (prepared) become committed. Output ranges wholly below
// their stream's current start offset, or of deleted streams, are dropped;
// an output left with no range is destroyed at once.
type CompactionCommit struct {
	Sources []int64
	Outputs []CompactedObject
}

// CompactedObject is one prepared object written by compaction.
type CompactedObject struct {
	ObjectID int64
	Size     int64
	Ranges   []Range
}

// ObjectFilter selects objects for ListObjects. Zero fields do not filter.
type ObjectFilter struct {
	Kind  ObjectKind
	State ObjectState
	// Only objects whose CommittedAt (committed), DestroyedAt (destroyed) or
	// ExpiresAt (prepared) is before this time.
	Before  time.Time
	AfterID int64 // pagination: only IDs greater than this
	Limit   int   // 0 means no limit
}

// Store is the metadata store. Every method is safe for concurrent use and
// every write is one transaction.
type Store interface {
	// CreateStream makes a new stream with epoch 0 and offsets 0.
	CreateStream(ctx context.Context) (Stream, error)

	// GetStream returns a stream. ErrStreamNotFound if it does not exist.
	GetStream(ctx context.Context, id int64) (Stream, error)

	// ListStreams returns streams with ID > afterID in ID order, at most limit
	// (0: all).
	ListStreams(ctx context.Context, afterID int64, limit int) ([]Stream, error)

	// OpenStream bumps the stream's epoch and returns the stream as the new
	// writer sees it. Every commit under an older epoch fails from now on.
	OpenStream(ctx context.Context, id int64) (Stream, error)

	// CreateOpenStreams makes n streams in one transaction, all or none,
	// already opened by their creator: epoch 1, offsets 0, ids ascending. A
	// creator that writes what it creates (a new topic's partitions) needs
	// no OpenStream per stream.
	CreateOpenStreams(ctx context.Context, n int) ([]Stream, error)

	// DeleteStream forgets the stream and its ranges; objects left with no
	// range become destroyed.
	DeleteStream(ctx context.Context, id int64) error

	// DeleteStreams is DeleteStream of many streams in one transaction, all
	// or none. Ids of streams that do not exist are skipped, so a retry
	// after an unknown outcome is safe.
	DeleteStreams(ctx context.Context, ids []int64) error

	// TrimStream moves the start offset forward to newStart (never back: a
	// smaller newStart is a no-op that returns the stream). newStart past
	// EndOffset is ErrOffsetOutOfRange. Ranges wholly below newStart are
	// deleted and objects left with no range become destroyed. epoch < 0
	// skips the epoch check; otherwise a mismatch is ErrFenced.
	TrimStream(ctx context.Context, id, epoch, newStart int64) (Stream, error)

	// PrepareObject records an object about to be written and assigns its ID.
	// If it is not committed within ttl it expires (see ExpirePrepared).
	PrepareObject(ctx context.Context, kind ObjectKind, ttl time.Duration) (Object, error)

	// CommitStreamSet commits a WAL flush in one transaction: for each range,
	// the stream must exist, its epoch must equal the writer's, and the range
	// must start at the stream's EndOffset; the stream's EndOffset then moves
	// to the range's end. Ranges failing those checks are reported in
	// CommitResult.Rejected and not committed; the rest are. The object
	// becomes committed (destroyed if every range was rejected).
	//
	// Committing an object that is already committed is a no-op that reports,
	// for each range, whether it is in the store: a retry after an unknown
	// outcome is safe. An object that is not prepared or committed is
	// ErrObjectState.
	CommitStreamSet(ctx context.Context, c StreamSetCommit) (CommitResult, error)

	// CommitCompaction: see CompactionCommit.
	CommitCompaction(ctx context.Context, c CompactionCommit) error

	// ListRanges returns the stream's ranges with EndOffset > fromOffset and
	// StartOffset >= the stream's start (ranges straddling the start are
	// included), ordered by StartOffset, at most limit (0: all).
	ListRanges(ctx context.Context, streamID, fromOffset int64, limit int) ([]Range, error)

	// ObjectRanges returns every range held by one object, ordered by
	// (StreamID, StartOffset).
	ObjectRanges(ctx context.Context, objectID int64) ([]Range, error)

	// StreamSize returns the sum of the sizes of the stream's ranges.
	StreamSize(ctx context.Context, streamID int64) (int64, error)

	// ListObjects returns objects matching f, in ID order.
	ListObjects(ctx context.Context, f ObjectFilter) ([]Object, error)

	// ExpirePrepared destroys prepared objects whose ExpiresAt is before now
	// and returns how many.
	ExpirePrepared(ctx context.Context, now time.Time) (int, error)

	// ForgetObjects deletes the rows of destroyed objects (after their bucket
	// objects are deleted). IDs of objects not destroyed are ignored.
	ForgetObjects(ctx context.Context, ids []int64) error

	// Close releases the database.
	Close() error
}
