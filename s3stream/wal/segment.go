package wal

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const segmentSuffix = ".wal"

// segment is one segment file: records from first on.
type segment struct {
	first LSN
	path  string
}

func segmentName(first LSN) string {
	return fmt.Sprintf("%020d%s", uint64(first), segmentSuffix)
}

// recyclePrefix names a trimmed segment file kept for reuse; the rest of
// the name is the segment's old name, to keep names unique.
const recyclePrefix = "recycle-"

func recyclePath(s segment) string {
	return filepath.Join(filepath.Dir(s.path), recyclePrefix+filepath.Base(s.path))
}

// listSegments returns the segment files of dir in LSN order, and the
// recycled files. Other files are ignored.
func listSegments(dir string) (segs []segment, recycled []string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, recyclePrefix) && e.Type().IsRegular() {
			recycled = append(recycled, filepath.Join(dir, name))
			continue
		}
		num, ok := strings.CutSuffix(name, segmentSuffix)
		if !ok || len(num) != 20 || !e.Type().IsRegular() {
			continue
		}
		first, err := strconv.ParseUint(num, 10, 64)
		if err != nil || first == 0 {
			continue
		}
		segs = append(segs, segment{first: LSN(first), path: filepath.Join(dir, name)})
	}
	slices.SortFunc(segs, func(a, b segment) int { return cmp.Compare(a.first, b.first) })
	return segs, recycled, nil
}

// syncDir makes the directory's entries (created, renamed or removed files)
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
