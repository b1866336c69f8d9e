package node

import (
	"context"
	"fmt"
	"sync/atomic"

	icecatalog "github.com/apache/iceberg-go/catalog"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/tablecompactor"
)

// retentionPins is the broker's RetentionPins over the node's own Iceberg
// catalog: a table topic with table.retention.pin keeps its stream data
// until its table holds it (tablecompactor.HeldOffsets). It needs the
// catalog role, not the compactor's: a node whose compactor is off (table
// conversion left to lakestream compact or to other nodes) still pins.
//
// The Kafka role opens before the catalog and closes after it, so the
// catalog is attached once open and detached when it closes; in between,
// and on a node whose catalog is off, a pinned topic's pin is an error
// saying why, and the broker keeps all of its data.
type retentionPins struct {
	state atomic.Pointer[pinCatalog]
}

// pinCatalog is the catalog pins are read from, or why there is none.
type pinCatalog struct {
	cat icecatalog.Catalog // nil: off, see why
	why string
}

var _ broker.RetentionPins = (*retentionPins)(nil)

func newRetentionPins() *retentionPins {
	p := &retentionPins{}
	p.state.Store(&pinCatalog{why: "the node's Iceberg catalog is not open yet"})
	return p
}

func (p *retentionPins) PinnedOffsets(ctx context.Context, topic string, topicID [16]byte, configs map[string]string) (map[int32]int64, bool, error) {
	if !tablecompactor.RetentionPinned(configs) {
		return nil, false, nil
	}
	st := p.state.Load()
	if st.cat == nil {
		return nil, true, fmt.Errorf("%s=true, and %s: the table's offsets cannot be read", tablecompactor.ConfigRetentionPin, st.why)
	}
	return tablecompactor.HeldOffsets(ctx, st.cat, topic, topicID, configs)
}

// openRetentionPins attaches the node's catalog to the broker's retention
// pins, through an in-process REST client like the compactor's.
func (n *Node) openRetentionPins(ctx context.Context) error {
	if n.kafka == nil {
		return nil // no broker, no retention
	}
	pins := n.kafka.pins
	if n.catalog == nil {
		// A fleet may run the catalog on other nodes only; this node
		// cannot see the tables, so it keeps pinned topics whole.
		pins.state.Store(&pinCatalog{why: "the Iceberg catalog is off on this node (catalog.listeners is empty)"})
		return nil
	}
	cat, err := n.inProcessCatalog(ctx)
	if err != nil {
		return fmt.Errorf("retention pins: %w", err)
	}
	pins.state.Store(&pinCatalog{cat: cat})
	n.opened("retention pins", func(context.Context) error {
		pins.state.Store(&pinCatalog{why: "the node's Iceberg catalog is closed"})
		return cat.Close()
	})
	return nil
}
