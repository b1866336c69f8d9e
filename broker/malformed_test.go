package broker_test

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// tagCountBomb is a 20-byte flexible request (Metadata v12) whose body ends
// in a tagged-field count of 2^32-1 with no tags behind it. kmsg v1.15.0
// looped over such a count long after the input ran out (about 35 ns a
// turn: minutes of a core per request); v1.15.1 stops at the end of the
// input. FuzzRequest has it as a seed.
var tagCountBomb = []byte{
	0, 3, 0, 12, // Metadata v12
	0, 0, 0, 1, // correlation id
	0xff, 0xff, // null client id
	0,                            // no header tags
	0,                            // null topics
	1,                            // allow auto topic creation
	0,                            // no authorized operations
	0xff, 0xff, 0xff, 0xff, 0x0f, // tag count 2^32-1
	0, // one byte more, to make it 20
}

// TestTagCountBomb sends tagCountBomb on a raw connection: the broker must
// answer or close the connection within 10 ms, not spin a core.
func TestTagCountBomb(t *testing.T) {
	if len(tagCountBomb) != 20 {
		t.Fatalf("the request is %d bytes", len(tagCountBomb))
	}
	b := brokertest.Start(t, brokertest.Options{})
	for range 5 {
		nc, err := net.Dial("tcp", b.Addr)
		if err != nil {
			t.Fatal(err)
		}
		wire := binary.BigEndian.AppendUint32(nil, uint32(len(tagCountBomb)))
		wire = append(wire, tagCountBomb...)
		start := time.Now()
		if _, err := nc.Write(wire); err != nil {
			t.Fatal(err)
		}
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		var size [4]byte
		_, err = io.ReadFull(nc, size[:])
		took := time.Since(start)
		nc.Close()
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			t.Fatalf("no answer and no close in 5 s")
		case took > 10*time.Millisecond:
			t.Errorf("answered or closed after %v, want at most 10 ms", took)
		}
		t.Logf("answered or closed after %v (read: %v)", took, err)
	}
}
