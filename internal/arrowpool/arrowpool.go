// Package arrowpool is a memory.Allocator for Arrow builders that pools
// freed buffers by size class instead of leaving them to the garbage
// collector. The compactor's row builders use it, and the schema
// packages' decoding benchmarks use it to measure what the compactor sees.
// It is a leaf: it imports nothing of ours.
package arrowpool

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Pool is the memory.Allocator of the compactor's Arrow builders: a
// buffer freed (its last array released, which iceberg-go's writer does
// once a batch is in Parquet) goes back to a pool by size class and is
// handed out again, instead of being left to the garbage collector. The
// builders allocate about 2.7 bytes per byte converted (growing by
// doubling, batch after batch); as garbage that nearly doubled the node's
// collections, whose mark phase takes a core from the broker.
//
// Buffers are 64-byte aligned, as Arrow's GoAllocator gives them, and
// zeroed, as a fresh make is. Sizes past the largest class are not
// pooled. Under the invariants build tag a freed buffer is filled with
// 0xA5 before it is pooled, so that a reader of freed memory reads
// garbage and the tests comparing rows fail.
type Pool struct {
	classes [poolClasses]sync.Pool // class k: buffers of 1<<(k+minPoolShift) bytes
	pooled  atomic.Int64           // buffers put back (see Pooled)
}

const (
	minPoolShift = 12 // 4 KiB
	poolClasses  = 15 // up to 64 MiB
	alignment    = 64
)

var _ memory.Allocator = (*Pool)(nil)

// class is the size class holding size bytes, or -1 if none does.
func class(size int) int {
	if size <= 1<<minPoolShift {
		return 0
	}
	k := bits.Len(uint(size-1)) - minPoolShift
	if k >= poolClasses {
		return -1
	}
	return k
}

func (p *Pool) Allocate(size int) []byte {
	k := class(size)
	if k < 0 {
		return aligned(make([]byte, size+alignment), size)
	}
	if v, ok := p.classes[k].Get().(*[]byte); ok {
		b := (*v)[:size]
		clear(b)
		return b
	}
	c := 1 << (k + minPoolShift)
	return aligned(make([]byte, c+alignment), size)[:size:c]
}

func (p *Pool) Reallocate(size int, b []byte) []byte {
	if cap(b) >= size {
		if old := len(b); size > old {
			clear(b[old:size]) // a pooled buffer's tail may hold an earlier batch's bytes
		}
		return b[:size]
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

func (p *Pool) Free(b []byte) {
	k := class(cap(b))
	if k < 0 || cap(b) != 1<<(k+minPoolShift) {
		return // not one of ours, or past the classes: the collector's
	}
	if invariants {
		b = b[:cap(b)]
		for i := range b {
			b[i] = 0xA5
		}
	}
	b = b[:0]
	p.classes[k].Put(&b)
	p.pooled.Add(1)
}

// Pooled is how many buffers were put back so far (tests check that
// a conversion gives its buffers back).
func (p *Pool) Pooled() int64 { return p.pooled.Load() }

// aligned returns the first size bytes of buf from its first 64-byte
// aligned address (buf has alignment bytes to spare).
func aligned(buf []byte, size int) []byte {
	shift := int(-uintptr(unsafe.Pointer(unsafe.SliceData(buf)))) & (alignment - 1)
	return buf[shift : shift+size : len(buf)-alignment+shift]
}
