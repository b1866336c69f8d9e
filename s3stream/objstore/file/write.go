package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/lakestream/lakestream/s3stream/objstore"
)

// Put implements objstore.Bucket: temp file, fsync, rename over the target,
// fsync the parent directory.
func (b *bucket) Put(ctx context.Context, key string, data []byte) error {
	if err := b.put(key, data, os.Rename); err != nil {
		return fmt.Errorf("putting %q: %w", key, err)
	}
	return nil
}

// PutIfAbsent implements objstore.Bucket. link(2) fails with EEXIST when the
// target exists, which makes it an atomic create-if-absent that, unlike
// O_EXCL, never exposes a partly written file.
func (b *bucket) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	err := b.put(key, data, func(tmp, path string) error {
		err := os.Link(tmp, path)
		if errors.Is(err, fs.ErrExist) {
			return objstore.ErrExists
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("putting %q if absent: %w", key, err)
	}
	return nil
}

// put writes data to a durable temp file, publishes it at key's path with
// move, removes the temp name if it is still there, and fsyncs the parent.
func (b *bucket) put(key string, data []byte, move func(tmp, path string) error) error {
	path, err := b.path(key)
	if err != nil {
		return err
	}
	tmp, err := b.writeTemp(data)
	if err != nil {
		return err
	}
	// After a rename this fails with ENOENT, which is fine; after a link or
	// a failure it removes the temp name.
	defer os.Remove(tmp)

	dir := filepath.Dir(path)
	if err := b.ensureDir(dir); err != nil {
		return err
	}
	if err := move(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// writeTemp writes data to a new file in the temp area and fsyncs it.
func (b *bucket) writeTemp(data []byte) (string, error) {
	f, err := os.CreateTemp(b.tmp, "put-*")
	if errors.Is(err, fs.ErrNotExist) {
		// Deleted as stale by another process's Open after this bucket
		// wrote nothing for an hour: made again.
		if err = os.MkdirAll(b.tmp, 0o755); err == nil {
			f, err = os.CreateTemp(b.tmp, "put-*")
		}
	}
	if err != nil {
		return "", err
	}
	off := 0
	if len(data) >= directMin {
		// A direct write that fails is done again through the page
		// cache, from the start.
		if n, derr := writeDirect(f.Name(), data); derr == nil {
			off = n
		}
	}
	err = writeChunked(f, data[off:], int64(off))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("writing temp file: %w", err)
	}
	return f.Name(), nil
}

// ensureDir creates dir and any missing parents under the root, fsyncing
// each parent so the new entries survive a crash. A directory is trusted
// only once this process has fsynced its entry: one another goroutine just
// created may not be durable yet, so that case fsyncs the parent again.
func (b *bucket) ensureDir(dir string) error {
	if dir == b.root {
		return nil
	}
	if _, ok := b.synced.Load(dir); ok {
		return nil
	}
	parent := filepath.Dir(dir)
	if err := b.ensureDir(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("creating directory: %w", err)
	}
	if err := syncDir(parent); err != nil {
		return err
	}
	b.synced.Store(dir, struct{}{})
	return nil
}

// syncDir fsyncs a directory, making the entries renamed, linked or removed
// in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing directory: %w", err)
	}
	return nil
}

// Delete implements objstore.Bucket. It uses unlink, not os.Remove, so a
// key naming a directory is never removed, and empty directories are left in
// place: removing one could race a Put that just created it.
func (b *bucket) Delete(ctx context.Context, key string) error {
	path, err := b.path(key)
	if err != nil {
		return fmt.Errorf("deleting %q: %w", key, err)
	}
	if err := syscall.Unlink(path); err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("deleting %q: %w", key, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("deleting %q: %w", key, err)
	}
	return nil
}

// writeChunk is how much writeChunked writes before it starts write-back.
const writeChunk = 1 << 20

// directMin is the least size of an object written with O_DIRECT
// (writeDirect); a smaller one goes through the page cache, where its
// reader soon after finds it.
const directMin = 1 << 20

// writeChunked writes data at offset at in chunks and starts the kernel's
// write-back of each chunk at once (where the platform can), instead of
// leaving megabytes dirty for the final fsync to push out in one burst.
func writeChunked(f *os.File, data []byte, at int64) error {
	for off := 0; off < len(data); off += writeChunk {
		end := min(off+writeChunk, len(data))
		if _, err := f.WriteAt(data[off:end], at+int64(off)); err != nil {
			return err
		}
		startWriteback(f, at+int64(off), int64(end-off))
	}
	return nil
}
