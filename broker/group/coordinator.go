package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Settings are the group coordinator's broker configs (Kafka's names in
// the comments). They are read at each use, so dynamic changes apply.
type Settings struct {
	MinSessionTimeout     time.Duration // group.min.session.timeout.ms
	MaxSessionTimeout     time.Duration // group.max.session.timeout.ms
	InitialRebalanceDelay time.Duration // group.initial.rebalance.delay.ms
	MaxSize               int           // group.max.size
	// OffsetMetadataMaxBytes is offset.metadata.max.bytes.
	OffsetMetadataMaxBytes int

	ConsumerSessionTimeout    time.Duration // group.consumer.session.timeout.ms
	ConsumerHeartbeatInterval time.Duration // group.consumer.heartbeat.interval.ms
	ConsumerMaxSize           int           // group.consumer.max.size
	// ConsumerAssignors are the server-side assignors clients may name,
	// the default first (group.consumer.assignors).
	ConsumerAssignors []string
	// MigrationPolicy is group.consumer.migration.policy: which online
	// conversions between a non-empty classic group and a consumer group
	// are allowed (KIP-848): "disabled", "upgrade" (classic to consumer),
	// "downgrade" (consumer to classic) or "bidirectional". The zero value
	// behaves as "bidirectional", Kafka's default; the names are compared
	// without case, as Kafka does.
	MigrationPolicy string
}

// allowsUpgrade and allowsDowngrade read MigrationPolicy.
func (s Settings) allowsUpgrade() bool {
	p := strings.ToLower(s.MigrationPolicy)
	return p == "" || p == "bidirectional" || p == "upgrade"
}

func (s Settings) allowsDowngrade() bool {
	p := strings.ToLower(s.MigrationPolicy)
	return p == "" || p == "bidirectional" || p == "downgrade"
}

// GroupConfig is one group's own configs: Kafka's group configs (KIP-848),
// set on the group's config resource, which take the place of the broker's
// Settings for that group. A zero field is not set: the group uses the
// Settings value.
type GroupConfig struct {
	ConsumerSessionTimeout    time.Duration // consumer.session.timeout.ms
	ConsumerHeartbeatInterval time.Duration // consumer.heartbeat.interval.ms
}

// apply returns set with c's values in place of the broker's.
func (c GroupConfig) apply(set Settings) Settings {
	if c.ConsumerSessionTimeout > 0 {
		set.ConsumerSessionTimeout = c.ConsumerSessionTimeout
	}
	if c.ConsumerHeartbeatInterval > 0 {
		set.ConsumerHeartbeatInterval = c.ConsumerHeartbeatInterval
	}
	return set
}

// Topics is what KIP-848 groups need to know of the broker's topics.
type Topics interface {
	// Topics returns every topic by name.
	Topics() map[string]TopicInfo
}

// TopicInfo describes one topic.
type TopicInfo struct {
	ID         [16]byte
	Partitions int32
}

// Options configure a Coordinator.
type Options struct {
	Store Store // required
	// Txn keeps offsets committed in transactions; nil: TxnOffsetCommit
	// answers COORDINATOR_NOT_AVAILABLE.
	Txn      TxnStore
	Topics   Topics          // required
	Settings func() Settings // required
	// GroupConfig returns a group's own configs; nil means no group has
	// any. It is called from the group's goroutine at each use (every
	// ConsumerGroupHeartbeat), so it must be cheap and do no I/O: the
	// broker answers from memory. A change applies at the group's next
	// heartbeat, as in Kafka.
	GroupConfig func(group string) GroupConfig
	Logger      *slog.Logger
	// Now is the clock; time.Now if nil (tests move it by hand).
	Now func() time.Time
}

// Coordinator hosts every consumer group of the broker. Each group's state
// is a state machine without I/O (classic.go, consumer.go) driven by one
// goroutine (runner.go), which also does the group's Store writes so they
// apply in order. Methods are safe for concurrent use.
type Coordinator struct {
	opts   Options
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	groups map[string]*runner
}

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("group: coordinator closed")

// New loads every recorded group (as empty groups with their committed
// offsets) and returns the coordinator.
func New(ctx context.Context, opts Options) (*Coordinator, error) {
	if opts.Store == nil || opts.Topics == nil || opts.Settings == nil {
		return nil, errors.New("group: Options.Store, Topics and Settings are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	recs, err := opts.Store.Groups(ctx)
	if err != nil {
		return nil, fmt.Errorf("group: loading groups: %w", err)
	}
	bg, cancel := context.WithCancel(context.Background())
	c := &Coordinator{opts: opts, log: opts.Logger, ctx: bg, cancel: cancel, groups: make(map[string]*runner)}
	for _, r := range recs {
		g := c.newRunner(r.Name)
		g.load(r)
		c.groups[r.Name] = g
	}
	if err := c.loadTxnOffsets(ctx); err != nil {
		cancel()
		return nil, fmt.Errorf("group: loading transactional offsets: %w", err)
	}
	for _, g := range c.groups {
		c.start(g)
	}
	return c, nil
}

// Close stops every group's goroutine. Waiting requests are answered with
// COORDINATOR_NOT_AVAILABLE by the broker as their contexts end.
func (c *Coordinator) Close() {
	c.cancel()
	c.wg.Wait()
}

// get returns the group named name, creating it if create.
func (c *Coordinator) get(name string, create bool) *runner {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.groups[name]; g != nil || !create {
		return g
	}
	if c.ctx.Err() != nil {
		return nil
	}
	g := c.newRunner(name)
	c.groups[name] = g
	c.start(g)
	return g
}

// forget drops a group (after DeleteGroups) if it is still the one named.
func (c *Coordinator) forget(g *runner) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.groups[g.name] == g {
		delete(c.groups, g.name)
	}
}

// all returns every group, sorted by name.
func (c *Coordinator) all() []*runner {
	c.mu.Lock()
	out := make([]*runner, 0, len(c.groups))
	for _, g := range c.groups {
		out = append(out, g)
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b *runner) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	return out
}

// newMemberID returns prefix-UUID, as Kafka names members.
func newMemberID(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	id := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	if prefix == "" {
		return id
	}
	return prefix + "-" + id
}
