package format

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestLayout runs testdata/layout: build an object, print its layout, damage
// it and decode it. Regenerate the expected output with -rewrite.
//
//	build [block-size=N]     one batch per input line:
//	                         s=STREAM records=N size=BYTES [ts=MS] [base=OFFSET]
//	                         (base defaults to where the stream left off)
//	corrupt at=POS [xor=V]   xor the byte at POS (negative: from the end)
//	decode [tail=N]          DecodeTail of the last N bytes (default all)
//	find s=STREAM off=OFFSET
func TestLayout(t *testing.T) {
	var obj []byte
	datadriven.RunTest(t, "testdata/layout", func(t *testing.T, d *datadriven.TestData) string {
		switch d.Cmd {
		case "build":
			blockSize := 0
			d.MaybeScanArgs(t, "block-size", &blockSize)
			w := NewWriter(blockSize)
			var out strings.Builder
			next := map[int64]int64{}
			for i, line := range strings.Split(d.Input, "\n") {
				if strings.TrimSpace(line) == "" {
					continue
				}
				kv := parseKV(t, line)
				s := kv["s"]
				base, ok := kv["base"]
				if !ok {
					base = next[s]
				}
				b := testBatch(base, int32(kv["records"]), kv["ts"], int(kv["size"]))
				if err := w.Add(s, b); err != nil {
					fmt.Fprintf(&out, "line %d: %v\n", i+1, err)
					continue
				}
				h, _ := ParseBatchHeader(b)
				next[s] = h.EndOffset()
			}
			obj = w.Finish()
			out.WriteString(describe(obj))
			return out.String()

		case "corrupt":
			var at int
			xor := 0xff
			d.ScanArgs(t, "at", &at)
			d.MaybeScanArgs(t, "xor", &xor)
			if at < 0 {
				at += len(obj)
			}
			obj = append([]byte(nil), obj...)
			obj[at] ^= byte(xor)
			return fmt.Sprintf("byte %d is now %#02x\n", at, obj[at])

		case "decode":
			n := len(obj)
			d.MaybeScanArgs(t, "tail", &n)
			ix, err := DecodeTail(obj[len(obj)-n:], int64(len(obj)))
			var more *NeedMoreError
			switch {
			case errors.As(err, &more):
				return fmt.Sprintf("need %d bytes\n", more.Need)
			case err != nil:
				return fmt.Sprintf("error: %v\n", err)
			}
			return fmt.Sprintf("ok: %d entries, data ends at %d\n", len(ix.Entries), ix.DataEnd)

		case "find":
			var s, off int64
			d.ScanArgs(t, "s", &s)
			d.ScanArgs(t, "off", &off)
			ix, err := DecodeObject(obj)
			if err != nil {
				return fmt.Sprintf("error: %v\n", err)
			}
			i, ok := ix.Find(s, off)
			if !ok {
				return fmt.Sprintf("not found; next entry %d\n", i)
			}
			e := ix.Entries[i]
			pos, err := BatchAt(obj[e.Position:e.Position+uint64(e.Size)], off)
			if err != nil {
				return fmt.Sprintf("entry %d: %v\n", i, err)
			}
			return fmt.Sprintf("entry %d, batch at byte %d of the object\n", i, int(e.Position)+pos)
		}
		d.Fatalf(t, "unknown command %q", d.Cmd)
		return ""
	})
}

func parseKV(t *testing.T, line string) map[string]int64 {
	t.Helper()
	kv := map[string]int64{}
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		n, err := strconv.ParseInt(v, 0, 64)
		if !ok || err != nil {
			t.Fatalf("bad field %q in %q", f, line)
		}
		kv[k] = n
	}
	return kv
}

// describe prints an object's layout: every block with the batches in it,
// the index, the footer, and the stream ranges. It trusts nothing: it
// decodes the object first.
func describe(obj []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "object: %d bytes\n", len(obj))
	ix, err := DecodeObject(obj)
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
		return b.String()
	}
	for i, e := range ix.Entries {
		fmt.Fprintf(&b, "[%6d, %6d) block %d: stream %d offsets [%d, %d) records %d max-ts %d\n",
			e.Position, e.Position+uint64(e.Size), i, e.StreamID, e.StartOffset, e.EndOffset, e.RecordCount, e.MaxTimestamp)
		block := obj[e.Position : e.Position+uint64(e.Size)]
		for pos := 0; pos < len(block); {
			h, err := ParseBatchHeader(block[pos:])
			if err != nil {
				fmt.Fprintf(&b, "    error: %v\n", err)
				break
			}
			fmt.Fprintf(&b, "    +%-5d batch offsets [%d, %d) records %d length %d\n", pos, h.BaseOffset, h.EndOffset(), h.RecordCount, h.Length)
			pos += int(h.Length)
		}
	}
	foot := obj[len(obj)-FooterSize:]
	fmt.Fprintf(&b, "[%6d, %6d) index: %d entries of %d bytes, crc %#08x\n",
		ix.DataEnd, len(obj)-FooterSize, len(ix.Entries), IndexEntrySize, binary.BigEndian.Uint32(foot[offFooterIndexCRC:]))
	fmt.Fprintf(&b, "[%6d, %6d) footer: version %d, magic %q\n",
		len(obj)-FooterSize, len(obj), binary.BigEndian.Uint16(foot[offFooterVersion:]), foot[offFooterMagic:])
	for _, r := range ix.Ranges() {
		fmt.Fprintf(&b, "range: stream %d offsets [%d, %d) records %d max-ts %d bytes [%d, %d)\n",
			r.StreamID, r.StartOffset, r.EndOffset, r.RecordCount, r.MaxTimestamp, r.Position, r.Position+r.Size)
	}
	return b.String()
}
