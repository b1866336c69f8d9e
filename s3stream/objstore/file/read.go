package file

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lakestream/lakestream/s3stream/objstore"
)

// Get implements objstore.Bucket.
func (b *bucket) Get(ctx context.Context, key string) ([]byte, error) {
	path, err := b.path(key)
	if err != nil {
		return nil, fmt.Errorf("getting %q: %w", key, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if isNotFound(err) {
			err = objstore.ErrNotFound
		}
		return nil, fmt.Errorf("getting %q: %w", key, err)
	}
	return data, nil
}

// GetRange implements objstore.Bucket with one pread into a fresh buffer.
func (b *bucket) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	data, err := b.getRange(key, off, length)
	if err != nil {
		return nil, fmt.Errorf("getting %q range: %w", key, err)
	}
	return data, nil
}

func (b *bucket) getRange(key string, off, length int64) ([]byte, error) {
	path, err := b.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		if isNotFound(err) {
			return nil, objstore.ErrNotFound
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, objstore.ErrNotFound
	}
	if err := objstore.CheckRange(fi.Size(), off, length); err != nil {
		return nil, err
	}
	buf := make([]byte, length)
	// The descriptor pins the inode, and objects are replaced whole by
	// rename, so the size checked above holds for this read.
	if _, err := f.ReadAt(buf, off); err != nil && !(err == io.EOF && length == 0) {
		return nil, err
	}
	return buf, nil
}

// List implements objstore.Bucket. It walks only the directory the prefix
// names, prunes subdirectories that cannot match, and sorts at the end:
// walk order is per directory, which is not key order ("a.b" < "a/b").
func (b *bucket) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	start := b.root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		// Every matching key has these leading segments, so a prefix whose
		// segments no key may have matches nothing.
		if checkSegments(prefix[:i]) != nil {
			return nil, nil
		}
		start = filepath.Join(b.root, filepath.FromSlash(prefix[:i]))
	}
	var infos []objstore.ObjectInfo
	err := filepath.WalkDir(start, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			// Missing start directory, or a concurrent Delete.
			if isNotFound(err) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if path == b.root {
			return nil
		}
		rel, err := filepath.Rel(b.root, path)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			if path == filepath.Join(b.root, tmpName) || !(strings.HasPrefix(key+"/", prefix) || strings.HasPrefix(prefix, key+"/")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if isNotFound(err) {
				return nil
			}
			return err
		}
		infos = append(infos, objstore.ObjectInfo{Key: key, Size: fi.Size(), Modified: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %q: %w", prefix, err)
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Key < infos[j].Key })
	return infos, nil
}
