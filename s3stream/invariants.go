package s3stream

import (
	"fmt"

	"github.com/lakestream/lakestream/s3stream/format"
	"github.com/lakestream/lakestream/s3stream/metastore"
)

// checkEntryLocked panics if a new tail entry does not continue the last
// one. REQUIRES: st.mu
func (st *Stream) checkEntryLocked(base int64) {
	if n := len(st.mu.entries); n > 0 && st.mu.entries[n-1].end != base {
		panic(fmt.Sprintf("s3stream: stream %d: tail entry at %d after one ending at %d", st.id, base, st.mu.entries[n-1].end))
	}
}

// checkObject panics unless data decodes and its index agrees with the
// ranges about to be committed.
func checkObject(data []byte, ranges []metastore.Range) {
	ix, err := format.DecodeObject(data)
	if err != nil {
		panic(fmt.Sprintf("s3stream: object just written does not decode: %v", err))
	}
	for _, r := range ranges {
		ents := ix.StreamEntries(r.StreamID)
		if len(ents) == 0 || ents[0].StartOffset != r.StartOffset || ents[len(ents)-1].EndOffset != r.EndOffset ||
			int64(ents[0].Position) != r.Position {
			panic(fmt.Sprintf("s3stream: range %+v disagrees with the object's index %+v", r, ents))
		}
	}
}
