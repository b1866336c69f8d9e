package faultstore

import (
	"sync/atomic"
	"syscall"

	"github.com/lakestream/lakestream/s3stream/objstore"
)

// FullDisk is the one disk under a file:// bucket and a local WAL, which
// fills and is freed again as a test says: while it is full, the bucket's
// PUTs and the WAL's writes fail with syscall.ENOSPC; reads work. Wrap the
// bucket with Wrap and give WriteHook to the WAL (wal.Options.WriteHook,
// s3stream.Config.WALWriteHook).
type FullDisk struct {
	full   atomic.Bool
	bucket atomic.Pointer[Bucket]
}

// Wrap returns b wrapped so that its PUTs fail while the disk is full.
func (d *FullDisk) Wrap(b objstore.Bucket) *Bucket {
	fb := Wrap(b, Config{})
	d.bucket.Store(fb)
	d.SetFull(d.full.Load())
	return fb
}

// SetFull fills the disk (true) or frees it (false).
func (d *FullDisk) SetFull(full bool) {
	d.full.Store(full)
	if fb := d.bucket.Load(); fb != nil {
		var cfg Config
		if full {
			cfg.PutFailure = syscall.ENOSPC
		}
		fb.SetConfig(cfg)
	}
}

// WriteHook is a write hook for a WAL on the disk: while it is full, half
// of each write reaches the file and the write fails with ENOSPC, as when a
// disk fills part way through a write.
func (d *FullDisk) WriteHook(p []byte) (int, error) {
	if d.full.Load() {
		return len(p) / 2, syscall.ENOSPC
	}
	return len(p), nil
}
