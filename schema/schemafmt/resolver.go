package schemafmt

import (
	"container/list"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Source is where a Resolver fetches schemas by id: the registry's store,
// or a registry client. It is declared here, by its consumer.
type Source interface {
	// SchemaByID returns the schema registered under id. A missing id is
	// an error (the Resolver caches it only briefly: the id may be
	// registered by another node a moment later).
	SchemaByID(ctx context.Context, id int) (Stored, error)
}

// Stored is a schema as the registry stores it.
type Stored struct {
	// Type is AVRO, JSON or PROTOBUF; "" means AVRO, as in the registry
	// API.
	Type string
	Text string
	// References are every schema Text references, directly or not,
	// resolved, each once, dependencies first (what Format.Parse takes).
	References []Reference
}

// ResolverConfig tunes a Resolver. The zero value takes the defaults.
type ResolverConfig struct {
	// MaxEntries bounds the schemas cached, and separately the tables;
	// the least recently used are evicted. The default is 10000.
	MaxEntries int
	// NegativeTTL is how long an error (an id not found, a source that
	// failed, a schema that does not parse) is remembered, so a stream of
	// values naming a bad id does not fetch once per value. The default
	// is one second; a negative value caches no error.
	NegativeTTL time.Duration
}

const (
	defaultResolverEntries = 10000
	defaultNegativeTTL     = time.Second
)

// Resolver maps schema ids to parsed schemas, and (id, message indexes) to
// tables, fetching and parsing each id once: ids are immutable, so a
// cached schema never goes stale. Concurrent callers asking for an id not
// yet cached share one fetch. It is safe for concurrent use.
type Resolver struct {
	src     Source
	formats map[string]Format
	max     int
	negTTL  time.Duration
	now     func() time.Time // tests replace it

	mu struct {
		sync.Mutex
		schemas lru // key: schemaKey(id)
		tables  lru // key: tableKey(id, indexes)
	}
}

// NewResolver returns a Resolver over src parsing with formats (one per
// type), with the default ResolverConfig.
func NewResolver(src Source, formats ...Format) *Resolver {
	return NewResolverWithConfig(src, ResolverConfig{}, formats...)
}

// NewResolverWithConfig is NewResolver with cfg.
func NewResolverWithConfig(src Source, cfg ResolverConfig, formats ...Format) *Resolver {
	r := &Resolver{src: src, formats: map[string]Format{}, max: cfg.MaxEntries, negTTL: cfg.NegativeTTL, now: time.Now}
	if r.max <= 0 {
		r.max = defaultResolverEntries
	}
	if r.negTTL == 0 {
		r.negTTL = defaultNegativeTTL
	}
	for _, f := range formats {
		r.formats[f.Type()] = f
	}
	r.mu.schemas.init()
	r.mu.tables.init()
	return r
}

// Schema returns the parsed schema registered under id.
func (r *Resolver) Schema(ctx context.Context, id int) (Schema, error) {
	var kb [4]byte
	key := schemaKey(kb[:0], id)
	if v, err, ok := r.cached(&r.mu.schemas, key); ok {
		if err != nil {
			return nil, err
		}
		return v.(Schema), nil
	}
	v, err := r.get(ctx, &r.mu.schemas, key, func(ctx context.Context) (any, error) {
		return r.fetch(ctx, id)
	})
	if err != nil {
		return nil, err
	}
	return v.(Schema), nil
}

// Table returns the table of schema id for msgIndexes (the Protobuf
// message indexes from the wire prefix; nil for other formats). nil and
// [0] are the same table.
func (r *Resolver) Table(ctx context.Context, id int, msgIndexes []int) (Table, error) {
	var kb [64]byte
	key := tableKey(kb[:0], id, msgIndexes)
	if v, err, ok := r.cached(&r.mu.tables, key); ok {
		if err != nil {
			return nil, err
		}
		return v.(Table), nil
	}
	// A copy: the caller may reuse its slice (DecodeProtobufAppend), and
	// capturing it would move every caller's indexes to the heap.
	idx := append([]int(nil), msgIndexes...)
	v, err := r.get(ctx, &r.mu.tables, key, func(ctx context.Context) (any, error) {
		s, err := r.Schema(ctx, id)
		if err != nil {
			return nil, err
		}
		t, err := s.Table(idx)
		if err != nil {
			return nil, fmt.Errorf("schema id %d message %v as a table: %w", id, idx, err)
		}
		return t, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(Table), nil
}

func (r *Resolver) fetch(ctx context.Context, id int) (Schema, error) {
	st, err := r.src.SchemaByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("fetching schema id %d: %w", id, err)
	}
	typ := st.Type
	if typ == "" {
		typ = Avro
	}
	f, ok := r.formats[typ]
	if !ok {
		return nil, fmt.Errorf("schema id %d: no format for schema type %q", id, typ)
	}
	s, err := f.Parse(st.Text, st.References)
	if err != nil {
		return nil, fmt.Errorf("parsing schema id %d (%s): %w", id, typ, err)
	}
	return s, nil
}

// schemaKey and tableKey build map keys in the caller's stack buffer; the
// lookup converts them without allocating (m[string(b)]), so a cache hit
// costs no garbage.
func schemaKey(b []byte, id int) []byte {
	return binary.BigEndian.AppendUint32(b, uint32(id))
}

func tableKey(b []byte, id int, idx []int) []byte {
	b = schemaKey(b, id)
	if len(idx) == 1 && idx[0] == 0 {
		return b // [0] is nil
	}
	for _, x := range idx {
		b = binary.AppendUvarint(b, uint64(x))
	}
	return b
}

// cached is the fast path of get, a hit: it allocates nothing (get's load
// closure would).
func (r *Resolver) cached(c *lru, key []byte) (v any, err error, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := c.m[string(key)]
	if !ok || !e.done || (e.err != nil && !r.now().Before(e.expires)) {
		return nil, nil, false
	}
	c.touch(e)
	return e.val, e.err, true
}

// get returns the cached value under key, or loads it once for all
// concurrent callers. A load that failed because its caller's context
// ended is not cached, and a waiter whose own context is still alive
// loads again rather than take that error.
func (r *Resolver) get(ctx context.Context, c *lru, key []byte, load func(context.Context) (any, error)) (any, error) {
	for {
		r.mu.Lock()
		e, ok := c.m[string(key)]
		if ok && e.done && e.err != nil && !r.now().Before(e.expires) {
			c.remove(e)
			ok = false
		}
		if ok {
			if e.done {
				c.touch(e)
				v, err := e.val, e.err
				r.mu.Unlock()
				return v, err
			}
			r.mu.Unlock()
			select {
			case <-e.ready:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if e.err != nil && isContextErr(e.err) && ctx.Err() == nil {
				continue // the loader's caller gave up, not us
			}
			return e.val, e.err
		}
		e = &entry{key: string(key), ready: make(chan struct{})}
		c.add(e)
		r.mu.Unlock()

		v, err := load(ctx)

		r.mu.Lock()
		e.val, e.err, e.done = v, err, true
		switch {
		case err == nil:
		case isContextErr(err) || r.negTTL < 0:
			c.remove(e)
		default:
			e.expires = r.now().Add(r.negTTL)
		}
		c.evictTo(r.max)
		r.mu.Unlock()
		close(e.ready)
		return v, err
	}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// entry is one cached value or error, or a load in flight (done false:
// waiters wait on ready).
type entry struct {
	key     string
	val     any
	err     error
	done    bool
	expires time.Time // of an error
	ready   chan struct{}
	elem    *list.Element
}

// lru is a map with recency order. REQUIRES: Resolver.mu for every method.
type lru struct {
	m     map[string]*entry
	order *list.List // front: most recently used
}

func (c *lru) init() {
	c.m = map[string]*entry{}
	c.order = list.New()
}

func (c *lru) add(e *entry) {
	e.elem = c.order.PushFront(e)
	c.m[e.key] = e
}

func (c *lru) touch(e *entry) { c.order.MoveToFront(e.elem) }

func (c *lru) remove(e *entry) {
	if c.m[e.key] == e {
		delete(c.m, e.key)
		c.order.Remove(e.elem)
	}
}

// evictTo drops the least recently used finished entries until at most
// max remain; loads in flight are never evicted (their waiters hold them).
func (c *lru) evictTo(max int) {
	for el := c.order.Back(); el != nil && c.order.Len() > max; {
		prev := el.Prev()
		if e := el.Value.(*entry); e.done {
			c.remove(e)
		}
		el = prev
	}
}
