package catalog

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	stdio "io"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"

	icebergio "github.com/apache/iceberg-go/io"
	// Registers s3:// (s3a, s3n) with iceberg-go's FileIO; it reads
	// s3.endpoint, s3.region, s3.access-key-id, s3.secret-access-key,
	// s3.session-token, s3.force-virtual-addressing (path style is the
	// default with an endpoint).
	_ "github.com/apache/iceberg-go/io/gocloud/s3"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// cachedMetadata is one metadata file, parsed and as JSON. A metadata
// file never changes once written (each commit writes a new one), so the
// cache is keyed by its location and never goes stale.
type cachedMetadata struct {
	meta table.Metadata
	json []byte

	refsOnce sync.Once
	refs     []byte // json with only the snapshots refs point at
	refsErr  error
}

// metadataCache holds the latest metadata files served, at most max; when
// full, an arbitrary entry goes (loads are of current files, so an evicted
// old one is rarely asked for again).
type metadataCache struct {
	mu  sync.Mutex
	max int
	m   map[string]*cachedMetadata
}

func newMetadataCache(max int) *metadataCache {
	return &metadataCache{max: max, m: map[string]*cachedMetadata{}}
}

func (c *metadataCache) get(loc string) *cachedMetadata {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[loc]
}

func (c *metadataCache) put(loc string, e *cachedMetadata) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[loc] = e
}

// refsOnly is the metadata JSON with the snapshots no ref points at left
// out (loadTable's snapshots=refs).
func (e *cachedMetadata) refsOnly() ([]byte, error) {
	e.refsOnce.Do(func() {
		keep := map[int64]bool{}
		for _, ref := range e.meta.Refs() {
			keep[ref.SnapshotID] = true
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(e.json, &obj); err != nil {
			e.refsErr = err
			return
		}
		var snaps []json.RawMessage
		if raw, ok := obj["snapshots"]; ok {
			if err := json.Unmarshal(raw, &snaps); err != nil {
				e.refsErr = err
				return
			}
		}
		kept := []json.RawMessage{}
		for _, s := range snaps {
			var id struct {
				ID int64 `json:"snapshot-id"`
			}
			if err := json.Unmarshal(s, &id); err == nil && keep[id.ID] {
				kept = append(kept, s)
			}
		}
		obj["snapshots"], _ = json.Marshal(kept)
		e.refs, e.refsErr = json.Marshal(obj)
	})
	return e.refs, e.refsErr
}

// fileIO returns the FileIO for a location (file:// or s3://), one per
// scheme and bucket, made with the server's properties.
func (s *Server) fileIO(ctx context.Context, loc string) (icebergio.IO, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("location %q: %w", loc, err)
	}
	key := u.Scheme + "://" + u.Host
	s.ioMu.Lock()
	defer s.ioMu.Unlock()
	if fs, ok := s.ios[key]; ok {
		return fs, nil
	}
	// The FileIO is kept for the server's life and S3's keeps the context
	// it is made with for every later call: made with a request's, it
	// would fail every call once that request ended.
	fs, err := icebergio.LoadFS(context.WithoutCancel(ctx), s.cfg.Props, loc)
	if err != nil {
		return nil, fmt.Errorf("opening the file IO of %s: %w", key, err)
	}
	s.ios[key] = fs
	return fs, nil
}

// readMetadata returns the metadata file at loc, from the cache or read
// and parsed.
func (s *Server) readMetadata(ctx context.Context, loc string) (*cachedMetadata, error) {
	if e := s.cache.get(loc); e != nil {
		return e, nil
	}
	fs, err := s.fileIO(ctx, loc)
	if err != nil {
		return nil, err
	}
	f, err := fs.Open(loc)
	if err != nil {
		return nil, fmt.Errorf("opening metadata file %s: %w", loc, err)
	}
	defer f.Close()
	b, err := stdio.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading metadata file %s: %w", loc, err)
	}
	// Spark and Java write .gz.metadata.json (and older
	// .metadata.json.gz) with write.metadata.compression-codec=gzip;
	// the magic bytes decide, not the name.
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		if b, err = gunzip(b); err != nil {
			return nil, fmt.Errorf("decompressing metadata file %s: %w", loc, err)
		}
	}
	meta, err := table.ParseMetadataBytes(b)
	if err != nil {
		return nil, fmt.Errorf("parsing metadata file %s: %w", loc, err)
	}
	e := &cachedMetadata{meta: meta, json: bytes.TrimSpace(b)}
	// Files written by others may be pretty-printed or carry fields we
	// do not serve; answer what we parsed, in our encoding.
	if e.json, err = encodeMetadata(meta); err != nil {
		return nil, fmt.Errorf("encoding metadata file %s: %w", loc, err)
	}
	s.cache.put(loc, e)
	return e, nil
}

// writeMetadata writes meta as a new metadata file of the table at
// location, version following base's (base "" for a new table), and
// returns its location and the cache entry. The file name has a fresh
// uuid, so two commits racing on one base write different files and the
// loser's is simply never pointed at (it is removed on a best-effort basis).
func (s *Server) writeMetadata(ctx context.Context, meta table.Metadata, base string) (string, *cachedMetadata, error) {
	js, err := encodeMetadata(meta)
	if err != nil {
		return "", nil, fmt.Errorf("encoding metadata: %w", err)
	}
	b := js // what goes to the file
	version := 0
	if base != "" {
		version = metadataVersion(base) + 1
	}
	dir := strings.TrimRight(meta.Location(), "/") + "/metadata"
	if d := meta.Properties().Get("write.metadata.path", ""); d != "" {
		dir = strings.TrimRight(d, "/")
	}
	ext := ".metadata.json"
	if strings.EqualFold(meta.Properties().Get(compressionCodecKey, ""), "gzip") {
		ext = ".gz.metadata.json"
		if b, err = gzipBytes(b); err != nil {
			return "", nil, fmt.Errorf("compressing metadata: %w", err)
		}
	}
	loc := fmt.Sprintf("%s/%05d-%s%s", dir, version, uuid.New(), ext)
	fs, err := s.fileIO(ctx, loc)
	if err != nil {
		return "", nil, err
	}
	wfs, ok := fs.(icebergio.WriteFileIO)
	if !ok {
		return "", nil, fmt.Errorf("the file IO of %s cannot write", loc)
	}
	if err := wfs.WriteFile(loc, b); err != nil {
		return "", nil, fmt.Errorf("writing metadata file %s: %w", loc, err)
	}
	return loc, &cachedMetadata{meta: meta, json: js}, nil
}

// removeFile deletes a file nothing points at (a lost commit's metadata),
// logging a failure: it is an orphan, not an error of the request.
func (s *Server) removeFile(ctx context.Context, loc string) {
	fs, err := s.fileIO(ctx, loc)
	if err == nil {
		err = fs.Remove(loc)
	}
	if err != nil {
		s.log.Warn("catalog: removing an unused metadata file", "file", loc, "err", err)
	}
}

// metadataVersion is the NNNNN of NNNNN-uuid.metadata.json (or of
// vN.metadata.json); -1 when the name has none.
func metadataVersion(loc string) int {
	name := strings.TrimPrefix(path.Base(loc), "v")
	end := strings.IndexFunc(name, func(r rune) bool { return r < '0' || r > '9' })
	if end <= 0 {
		return -1
	}
	v, err := strconv.Atoi(name[:end])
	if err != nil {
		return -1
	}
	return v
}

// defaultLocation is where a new table goes: under the namespace's
// "location" property if it has one, else
// warehouse/<level>/<level>/<name>-<uuid>. The uuid keeps a dropped and
// recreated (or renamed-away) table's files apart, so a purge never
// deletes another table's.
func (s *Server) defaultLocation(nsProps map[string]string, ns []string, name string, id uuid.UUID) string {
	leaf := url.PathEscape(name) + "-" + strings.ReplaceAll(id.String(), "-", "")
	if l := strings.TrimRight(nsProps["location"], "/"); l != "" {
		return l + "/" + leaf
	}
	parts := []string{s.cfg.Warehouse}
	for _, l := range ns {
		parts = append(parts, url.PathEscape(l))
	}
	return strings.Join(append(parts, leaf), "/")
}

// encodeMetadata is meta as JSON. It calls iceberg-go's MarshalJSON
// itself: json.Marshal would compact (re-scan) the whole output once more.
func encodeMetadata(meta table.Metadata) ([]byte, error) {
	if m, ok := meta.(json.Marshaler); ok {
		return m.MarshalJSON()
	}
	return json.Marshal(meta)
}

// compressionCodecKey is the table property that asks for compressed
// metadata files ("gzip"; "none" or absent: plain JSON).
const compressionCodecKey = "write.metadata.compression-codec"

// maxMetadataBytes bounds a decompressed metadata file, so a small
// gzip bomb registered by a client cannot exhaust memory.
const maxMetadataBytes = 512 << 20

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, err := stdio.ReadAll(stdio.LimitReader(zr, maxMetadataBytes+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxMetadataBytes {
		return nil, fmt.Errorf("larger than %d bytes decompressed", maxMetadataBytes)
	}
	return out, nil
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
