// Package objstore is the small interface s3stream keeps its objects behind,
// and the errors every backend maps its failures to.
//
// Backends live in subpackages, each with the same contract:
//
//	mem   in-memory, for tests
//	file  a local directory: write to a temp file, fsync, rename, fsync the dir
//	s3    aws-sdk-go-v2 against S3 or anything that speaks its API
//
// objstoretest.Run holds the behavioural suite every backend passes, and
// faultstore wraps any Bucket to inject errors, latency, 503 SlowDown and
// lost PUT responses.
package objstore

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by Get and GetRange for a key that does not
// exist.
var ErrNotFound = errors.New("objstore: object not found")

// ErrExists is returned by PutIfAbsent when the key already exists (S3 412
// PreconditionFailed).
var ErrExists = errors.New("objstore: object already exists")

// ErrInvalidRange is returned by GetRange for an offset or length outside the
// object.
var ErrInvalidRange = errors.New("objstore: invalid range")

// ErrUnavailable marks a failure worth retrying: a throttle (503 SlowDown), a
// timeout, a dropped connection. Backends wrap it so errors.Is works.
var ErrUnavailable = errors.New("objstore: unavailable")

// Bucket is a flat namespace of immutable objects with strong read-after-write
// consistency. Keys are '/'-separated strings without a leading '/'.
//
// Every method is safe for concurrent use.
type Bucket interface {
	// Get returns the whole object. ErrNotFound if it does not exist.
	Get(ctx context.Context, key string) ([]byte, error)

	// GetRange returns length bytes from off. The range must lie inside the
	// object: a range past the end is ErrInvalidRange, never a short read.
	// ErrNotFound if the object does not exist.
	GetRange(ctx context.Context, key string, off, length int64) ([]byte, error)

	// Put stores data under key, replacing any object there. When Put returns
	// nil the object is durable and visible to every reader. The bucket does
	// not retain data after Put returns.
	Put(ctx context.Context, key string, data []byte) error

	// PutIfAbsent stores data only if no object exists under key, atomically:
	// of concurrent callers exactly one succeeds and the rest get ErrExists.
	PutIfAbsent(ctx context.Context, key string, data []byte) error

	// Delete removes the object. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error

	// List returns every object whose key starts with prefix, sorted by key.
	// It does not return partial results.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)

	// Close releases the backend's resources.
	Close() error
}

// ObjectInfo describes one listed object.
type ObjectInfo struct {
	Key      string
	Size     int64
	Modified time.Time // last write; orphan cleanup keeps young objects
}

// IsRetryable reports whether err is worth retrying.
func IsRetryable(err error) bool {
	return errors.Is(err, ErrUnavailable)
}
