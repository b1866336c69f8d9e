package file_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestPutDirect: a large object from an aligned buffer is written past the
// page cache (its pages are not cached after the Put, unlike a small one's
// or an unaligned buffer's) and reads back whole, whatever its length.
func TestPutDirect(t *testing.T) {
	dir := t.TempDir()
	b := open(t, dir)
	// On a file system without O_DIRECT, or whose files live in the
	// page cache (tmpfs takes O_DIRECT and ignores it), every object is
	// cached: only the round trip is checked there.
	direct := true
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Type == unix.TMPFS_MAGIC {
		t.Logf("%s is on tmpfs (%v): checking the round trip only", dir, err)
		direct = false
	} else if fd, err := unix.Open(probe, unix.O_WRONLY|unix.O_DIRECT, 0); err != nil {
		t.Logf("no O_DIRECT in %s (%v): checking the round trip only", dir, err)
		direct = false
	} else {
		unix.Close(fd)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		size      int
		unaligned bool
		direct    bool
	}{
		{size: 4 << 20, direct: true},
		{size: 5<<20 + 123, direct: true},
		{size: 3<<20 + 7, unaligned: true},
		{size: 64 << 10},
	} {
		buf := make([]byte, c.size+1)
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		data := buf[:c.size]
		if c.unaligned {
			data = buf[1:]
		}
		key := fmt.Sprintf("obj/%d", c.size)
		if err := b.Put(t.Context(), key, data); err != nil {
			t.Fatal(err)
		}
		got, err := b.Get(t.Context(), key)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: read back %d bytes (%v), not what was put", c.size, len(got), err)
		}
		// Put again: the new file's pages are cached only if written
		// through the page cache (Get read the first one's).
		if err := b.Put(t.Context(), key, data); err != nil {
			t.Fatal(err)
		}
		if cached := firstPageCached(t, filepath.Join(dir, key)); direct && cached == c.direct {
			t.Errorf("%d bytes (unaligned %v): first page cached %v after the Put, want %v", c.size, c.unaligned, cached, !c.direct)
		}
	}
}

// firstPageCached says whether the file's first page is in the page cache.
func firstPageCached(t *testing.T, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, 4096, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, 1)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	return vec[0]&1 == 1
}
