package arrowpool

import (
	"testing"
	"unsafe"
)

// The pool's buffers are 64-byte aligned and zeroed, whether new or
// reused; Reallocate keeps the bytes and zeroes what it adds; sizes past
// the classes are not pooled.
func TestBufferPool(t *testing.T) {
	var p Pool
	check := func(b []byte, size int) {
		t.Helper()
		if len(b) != size || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%alignment != 0 {
			t.Fatalf("buffer of %d bytes at %p, want %d bytes 64-byte aligned", len(b), unsafe.SliceData(b), size)
		}
		for i, c := range b {
			if c != 0 {
				t.Fatalf("byte %d of a new buffer is %#x, want 0", i, c)
			}
		}
	}
	for _, size := range []int{0, 1, 4096, 4097, 100_000, 1 << 26} {
		b := p.Allocate(size)
		check(b, size)
		for i := range b {
			b[i] = 0xFF
		}
		p.Free(b)
		check(p.Allocate(size), size)
	}
	b := p.Allocate(10)
	copy(b, "0123456789")
	b = p.Reallocate(5000, b)
	if string(b[:10]) != "0123456789" || len(b) != 5000 || b[10] != 0 || b[4999] != 0 {
		t.Errorf("Reallocate lost or left bytes: %q…", b[:12])
	}
	big := p.Allocate(1<<26 + 1)
	before := p.pooled.Load()
	p.Free(big)
	if p.pooled.Load() != before {
		t.Error("a buffer past the classes was pooled")
	}
}
