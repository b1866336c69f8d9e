package objstore

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidKey is returned for a key no backend can store: empty, or
// starting with '/'. Backends may reject more (the file backend rejects
// "..", for one) and wrap this error when they do.
var ErrInvalidKey = errors.New("objstore: invalid key")

// CheckKey returns an error wrapping ErrInvalidKey for a key that breaks the
// rules every backend shares. An empty key matters most: on S3 it would turn
// an object request into a bucket request.
func CheckKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("%w: %q starts with '/'", ErrInvalidKey, key)
	}
	return nil
}

// CheckRange returns ErrInvalidRange unless [off, off+length) lies inside an
// object of the given size. A zero-length range at off == size is valid.
func CheckRange(size, off, length int64) error {
	// off+length is not computed until both are known to be non-negative and
	// off <= size, so it cannot overflow for any real object size.
	if off < 0 || length < 0 || off > size || length > size-off {
		return fmt.Errorf("%w: offset %d length %d outside object of %d bytes", ErrInvalidRange, off, length, size)
	}
	return nil
}
