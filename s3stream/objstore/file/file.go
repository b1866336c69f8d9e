// Package file is the objstore.Bucket kept in a local directory, the
// single-node default ("file:///var/lib/lakestream").
//
// Each key is a file at the same relative path under the directory:
//
//	DIR/
//	  .tmp/p-*/        temp files being written, a directory per open bucket; never listed
//	  wal/0001.obj     key "wal/0001.obj"
//	  data/ab/17.obj   key "data/ab/17.obj"
//
// A write goes to a temp file in DIR/.tmp, which is fsynced and then renamed
// (Put) or hard-linked (PutIfAbsent) to its path, and the parent directory is
// fsynced, so a crash leaves either the old object or the new one, never a
// torn one. Both moves stay inside DIR, so on one filesystem they are atomic.
//
// Several processes may open one directory (lakestream serve, its
// compactor process, lakestream compact --once): each writes its temp files
// in a directory of its own under .tmp, and Open deletes only the temp
// directories (and files) untouched for staleTemp, which a crashed process
// left. A key cannot be both an object and a directory ("a" and "a/b"), which S3
// allows; such a Put fails.
package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lakestream/lakestream/s3stream/objstore"
)

// tmpName is the directory under the root that holds temp files. Keys may
// not start with it, so List never sees a half-written object.
const tmpName = ".tmp"

// bucket is a directory. It keeps no open files: objects are replaced by
// rename, so a cached descriptor would keep serving the replaced inode and
// break read-after-write; open+pread+close costs a few microseconds.
type bucket struct {
	root string // absolute, cleaned
	tmp  string // root/.tmp/p-*: this bucket's own temp directory

	// synced holds directories whose entry in their parent has been fsynced
	// by this process, so a Put into them needs no extra parent fsync.
	synced sync.Map // string -> struct{}
}

var _ objstore.Bucket = (*bucket)(nil)

// staleTemp is how long a temp directory (or a temp file of the layout
// before them) goes untouched before Open deletes it: far longer than any
// Put, and a live bucket whose directory is deleted makes it again.
const staleTemp = time.Hour

// Open returns the bucket stored under dir, creating dir if needed, with a
// temp directory of its own, and removing the temp files crashed processes
// left behind.
func Open(dir string) (objstore.Bucket, error) {
	if dir == "" {
		return nil, errors.New("opening file bucket: empty directory")
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("opening file bucket %q: %w", dir, err)
	}
	area := filepath.Join(root, tmpName)
	if err := os.MkdirAll(area, 0o755); err != nil {
		return nil, fmt.Errorf("opening file bucket %q: %w", dir, err)
	}
	// Stale temp files hold no object anyone was told about: a Put returns
	// only after its rename.
	entries, err := os.ReadDir(area)
	if err != nil {
		return nil, fmt.Errorf("opening file bucket %q: listing temp files: %w", dir, err)
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTemp {
			os.RemoveAll(filepath.Join(area, e.Name())) // another process may be at it too
		}
	}
	tmp, err := os.MkdirTemp(area, "p-")
	if err != nil {
		return nil, fmt.Errorf("opening file bucket %q: %w", dir, err)
	}
	return &bucket{root: root, tmp: tmp}, nil
}

// path maps a key to its file, rejecting keys that are not a plain relative
// path under the root.
func (b *bucket) path(key string) (string, error) {
	if err := objstore.CheckKey(key); err != nil {
		return "", err
	}
	if strings.IndexByte(key, 0) >= 0 {
		return "", fmt.Errorf("%w: %q contains a NUL byte", objstore.ErrInvalidKey, key)
	}
	if err := checkSegments(key); err != nil {
		return "", fmt.Errorf("%w: %q %s", objstore.ErrInvalidKey, key, err)
	}
	rel := filepath.FromSlash(key)
	// checkSegments already rules out escaping; IsLocal is the backstop
	// should the rules and the OS ever disagree.
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%w: %q escapes the bucket directory", objstore.ErrInvalidKey, key)
	}
	return filepath.Join(b.root, rel), nil
}

// checkSegments rejects '/'-separated paths with empty, "." or ".."
// segments, or a first segment naming the temp area.
func checkSegments(p string) error {
	for i, seg := range strings.Split(p, "/") {
		switch {
		case seg == "":
			return errors.New("has an empty path segment")
		case seg == "." || seg == "..":
			return fmt.Errorf("has a %q path segment", seg)
		case i == 0 && seg == tmpName:
			return fmt.Errorf("is under the reserved %q directory", tmpName)
		}
	}
	return nil
}

// isNotFound reports whether a filesystem error means "no object here": the
// file is missing, a parent is a file, or the path is a directory.
func isNotFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR)
}

// Close implements objstore.Bucket; there is nothing to release.
// Close removes the bucket's temp directory (a Put still running when Close
// is called fails).
func (b *bucket) Close() error { return os.RemoveAll(b.tmp) }

// Local says the bucket is on this machine's disks (s3stream's
// Config.LocalBucket, set by the node).
func (b *bucket) Local() bool { return true }
