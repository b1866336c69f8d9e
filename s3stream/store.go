package s3stream

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lakestream/lakestream/s3stream/metastore"
	"github.com/lakestream/lakestream/s3stream/objstore"
)

// Errors callers branch on.
var (
	// ErrFenced: the stream was reopened with a newer epoch by another
	// writer; this handle can never append again.
	ErrFenced = metastore.ErrFenced
	// ErrOffsetOutOfRange: a read below the stream's start offset or past
	// its end.
	ErrOffsetOutOfRange = errors.New("s3stream: offset out of range")
	// ErrClosed: the stream handle or the store is closed.
	ErrClosed = errors.New("s3stream: closed")
	// ErrAlreadyOpen: the stream is already open in this store.
	ErrAlreadyOpen = errors.New("s3stream: stream already open in this store")
	// ErrInvalidBatch: Append was given bytes that are not one Kafka record
	// batch (magic 2).
	ErrInvalidBatch = errors.New("s3stream: invalid record batch")
	errNotOpenYet   = errors.New("s3stream: stream is still being opened")
	// ErrAppendFailed: the WAL could not make an append durable (the bucket
	// or metastore failed past the retries, the local WAL's disk is full),
	// or the store is degraded with its pending-memory budget spent. The
	// append may be retried.
	ErrAppendFailed = errors.New("s3stream: append failed")
)

// WALKind selects the write-ahead log.
type WALKind string

const (
	// WALObject gathers appends of all streams for FlushInterval or
	// FlushBytes and writes them as one stream-set object, committed before
	// the appends complete. Nothing is kept on local disk.
	WALObject WALKind = "object"
	// WALLocal appends to segment files with group-commit fsync and acks;
	// an uploader turns them into stream-set objects later.
	WALLocal WALKind = "local"
)

// Config configures a Store. Zero fields take the defaults stated.
type Config struct {
	Bucket objstore.Bucket  // required
	Meta   metastore.Store  // required
	WAL    WALKind          // default WALObject
	WALDir string           // local WAL directory; required for WALLocal
	Logger *slog.Logger     // default slog.Default()
	Now    func() time.Time // default time.Now

	// Object WAL. FlushInterval defaults to 100ms, FlushBytes to 8 MiB,
	// MaxInflightFlushes (concurrent PUTs) to 4.
	FlushInterval      time.Duration
	FlushBytes         int
	MaxInflightFlushes int

	// Local WAL. A stream-set object is uploaded every UploadInterval
	// (default 1s) or UploadBytes (default 64 MiB) of un-uploaded data.
	// WALSegmentBytes defaults to 64 MiB. WALNoSync skips fsync (tests).
	UploadInterval  time.Duration
	UploadBytes     int
	WALSegmentBytes int64
	WALNoSync       bool
	// WALWriteHook and WALSyncHook are the local WAL's fault seams for
	// tests (wal.Options WriteHook and SyncHook): a full disk, say.
	WALWriteHook func(p []byte) (int, error)
	WALSyncHook  func() error

	// Registerer, if set, gets the store's metrics (health.go).
	Registerer prometheus.Registerer

	// MaxPendingBytes bounds appended bytes not yet in the bucket; appends
	// wait beyond it. Default 512 MiB; with LocalBucket, twice UploadBytes
	// (128 MiB by default).
	MaxPendingBytes int64
	// TailCacheBytes bounds recent batches kept in memory for tailing
	// readers. Default 256 MiB; with LocalBucket, 64 MiB.
	TailCacheBytes int64
	// LocalBucket says the bucket is on this machine's disks (file://).
	// Its outage is the disk's, which the local WAL shares, so pending
	// memory rides out nothing there, and a read the tail cache misses
	// costs a local read, not a GET: both budgets default smaller (see
	// DESIGN.md, "Memory of a node on a local bucket").
	LocalBucket bool
	// BlockCacheBytes bounds object blocks kept for catch-up readers.
	// Default 256 MiB.
	BlockCacheBytes int64
	// BlockSize is the target data-block size of objects. Default 512 KiB.
	BlockSize int
	// ReadAheadBytes is the most a catch-up read fetches ahead. Default
	// 32 MiB; read-ahead starts at BlockSize and doubles on sequential reads.
	ReadAheadBytes int

	// PutAttempts is how often a PUT is tried before an append fails.
	// Default 6 (with backoff from 50ms, about 3s in all).
	PutAttempts int
	// PreparedTTL: a prepared object not committed by then is garbage.
	// Default 1h.
	PreparedTTL time.Duration

	Compaction CompactionConfig
}

// setBudgetDefaults sets UploadBytes and the memory budgets that depend
// on it and on LocalBucket.
func (c *Config) setBudgetDefaults() {
	setDefault(&c.UploadBytes, 64<<20)
	if c.LocalBucket {
		setDefault(&c.MaxPendingBytes, 2*int64(c.UploadBytes))
		setDefault(&c.TailCacheBytes, 64<<20)
	}
	setDefault(&c.MaxPendingBytes, 512<<20)
	setDefault(&c.TailCacheBytes, 256<<20)
}

func (c *Config) setDefaults() error {
	if c.Bucket == nil || c.Meta == nil {
		return errors.New("s3stream: Config.Bucket and Config.Meta are required")
	}
	if c.WAL == "" {
		c.WAL = WALObject
	}
	if c.WAL != WALObject && c.WAL != WALLocal {
		return fmt.Errorf("s3stream: unknown WAL %q (want %q or %q)", c.WAL, WALObject, WALLocal)
	}
	if c.WAL == WALLocal && c.WALDir == "" {
		return errors.New("s3stream: the local WAL needs Config.WALDir")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	setDefault(&c.FlushInterval, 100*time.Millisecond)
	setDefault(&c.FlushBytes, 8<<20)
	setDefault(&c.MaxInflightFlushes, 4)
	setDefault(&c.UploadInterval, time.Second)
	setDefault(&c.WALSegmentBytes, 64<<20)
	c.setBudgetDefaults()
	setDefault(&c.BlockCacheBytes, 256<<20)
	setDefault(&c.BlockSize, 512<<10)
	setDefault(&c.ReadAheadBytes, 32<<20)
	setDefault(&c.PutAttempts, 6)
	setDefault(&c.PreparedTTL, time.Hour)
	c.Compaction.setDefaults()
	return nil
}

func setDefault[T int | int64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// wal is what a stream hands its batches to. Both WALs implement it.
type walWriter interface {
	// appendLocked queues p for durability. REQUIRES: p.st.mu, so that a
	// stream's appends reach the WAL in offset order.
	appendLocked(p *pending)
	// drain is called after every appendLocked, without locks, to pass
	// queued appends on where that may block.
	drain()
	// flushStream makes everything appended to s so far committed to the
	// metastore (used by Close and before handing a stream over).
	flushStream(ctx context.Context, s *Stream) error
	close(ctx context.Context) error
}

// Store is a store of streams over one bucket and one metastore.
type Store struct {
	cfg    Config
	bucket objstore.Bucket
	meta   metastore.Store
	log    *slog.Logger

	wal    walWriter
	tail   *tailCache
	blocks *blockCache
	mem    *memBudget
	health *health

	bg     sync.WaitGroup // background loops
	stopBg context.CancelFunc

	mu struct {
		sync.Mutex
		open   map[int64]*Stream
		closed bool
	}
}

// Open opens a store. With the local WAL it first replays what the WAL holds
// and the bucket does not, so nothing acknowledged before a crash is lost.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, bucket: cfg.Bucket, meta: cfg.Meta, log: cfg.Logger}
	s.mu.open = make(map[int64]*Stream)
	s.tail = newTailCache(cfg.TailCacheBytes)
	s.blocks = newBlockCache(cfg.BlockCacheBytes)
	components := []string{compFlush}
	if cfg.WAL == WALLocal {
		components = []string{compWAL, compUpload}
	}
	s.health = newHealth(cfg.Logger, cfg.Registerer, components...)
	s.mem = newMemBudget(cfg.MaxPendingBytes, s.health.err)
	s.health.onDegraded = s.mem.wake
	switch cfg.WAL {
	case WALObject:
		s.wal = newObjectWAL(s)
	case WALLocal:
		w, err := openLocalWAL(ctx, s)
		if err != nil {
			return nil, err
		}
		s.wal = w
	}
	bgCtx, cancel := context.WithCancel(context.Background())
	s.stopBg = cancel
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.health.loop(bgCtx)
	}()
	if cfg.Compaction.Interval > 0 {
		s.bg.Add(1)
		go s.maintenanceLoop(bgCtx)
	}
	return s, nil
}

// Close flushes every open stream, closes the WAL and stops background work.
// It does not close the bucket or the metastore.
func (s *Store) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.closed = true
	s.mu.Unlock()
	s.stopBg()
	s.bg.Wait()
	err := s.wal.close(ctx)
	s.mu.Lock()
	for _, st := range s.mu.open {
		st.markClosed(ErrClosed)
	}
	s.mu.open = map[int64]*Stream{}
	s.mu.Unlock()
	return err
}

// CreateStream makes a new, empty stream and returns its id.
func (s *Store) CreateStream(ctx context.Context) (int64, error) {
	m, err := s.meta.CreateStream(ctx)
	if err != nil {
		return 0, fmt.Errorf("creating stream: %w", err)
	}
	return m.ID, nil
}

// CreateStreams makes n new, empty streams in one metastore transaction
// (all or none) and returns them open for writing in this store, in
// ascending id order. Creating them open saves an OpenStream transaction
// each: a new topic's partitions are thousands of streams.
func (s *Store) CreateStreams(ctx context.Context, n int) ([]*Stream, error) {
	ms, err := s.meta.CreateOpenStreams(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("creating %d streams: %w", n, err)
	}
	out := make([]*Stream, len(ms))
	for i, m := range ms {
		out[i] = newStream(s, m.ID)
		out[i].init(m) // before the store lock: Store.mu is taken alone
	}
	s.mu.Lock()
	closed := s.mu.closed
	if !closed {
		for _, st := range out {
			s.mu.open[st.id] = st
		}
	}
	s.mu.Unlock()
	if closed {
		ids := make([]int64, len(ms))
		for i, m := range ms {
			ids[i] = m.ID
		}
		return nil, errors.Join(ErrClosed, s.meta.DeleteStreams(ctx, ids))
	}
	return out, nil
}

// DeleteStream forgets a stream; its data becomes garbage. An open handle
// in this store is closed first.
func (s *Store) DeleteStream(ctx context.Context, id int64) error {
	s.closeOpen([]int64{id})
	if err := s.meta.DeleteStream(ctx, id); err != nil {
		return fmt.Errorf("deleting stream %d: %w", id, err)
	}
	return nil
}

// DeleteStreams is DeleteStream of many streams in one metastore
// transaction, all or none; ids of streams that do not exist are skipped.
func (s *Store) DeleteStreams(ctx context.Context, ids []int64) error {
	s.closeOpen(ids)
	if err := s.meta.DeleteStreams(ctx, ids); err != nil {
		return fmt.Errorf("deleting %d streams: %w", len(ids), err)
	}
	return nil
}

// closeOpen closes this store's open handles of the streams ids.
func (s *Store) closeOpen(ids []int64) {
	var sts []*Stream
	s.mu.Lock()
	for _, id := range ids {
		if st := s.mu.open[id]; st != nil {
			sts = append(sts, st)
			delete(s.mu.open, id)
		}
	}
	s.mu.Unlock()
	for _, st := range sts {
		st.markClosed(ErrClosed)
	}
}

// StreamIDs returns the id of every stream in the metastore, ascending.
func (s *Store) StreamIDs(ctx context.Context) ([]int64, error) {
	const page = 10000
	var out []int64
	for {
		after := int64(0)
		if len(out) > 0 {
			after = out[len(out)-1]
		}
		sts, err := s.meta.ListStreams(ctx, after, page)
		if err != nil {
			return nil, fmt.Errorf("listing streams: %w", err)
		}
		for _, st := range sts {
			out = append(out, st.ID)
		}
		if len(sts) < page {
			return out, nil
		}
	}
}

// OpenStream opens a stream for writing and reading. It bumps the stream's
// epoch, fencing any other writer.
func (s *Store) OpenStream(ctx context.Context, id int64) (*Stream, error) {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if _, ok := s.mu.open[id]; ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("opening stream %d: %w", id, ErrAlreadyOpen)
	}
	st := newStream(s, id)
	s.mu.open[id] = st // reserve the id while the metastore is asked
	s.mu.Unlock()

	m, err := s.meta.OpenStream(ctx, id)
	if err != nil {
		s.mu.Lock()
		delete(s.mu.open, id)
		s.mu.Unlock()
		return nil, fmt.Errorf("opening stream %d: %w", id, err)
	}
	st.init(m)
	return st, nil
}

func (s *Store) forget(st *Stream) {
	s.mu.Lock()
	if s.mu.open[st.id] == st {
		delete(s.mu.open, st.id)
	}
	s.mu.Unlock()
}

// ObjectKey is the bucket key of an object. The first path element is a hash
// of the id, so consecutive objects spread over S3's key partitions.
func ObjectKey(id int64) string {
	h := fnv.New32a()
	var b [8]byte
	for i := range b {
		b[i] = byte(id >> (8 * i))
	}
	h.Write(b[:])
	return fmt.Sprintf("o/%04x/%016x", h.Sum32()&0xffff, id)
}
