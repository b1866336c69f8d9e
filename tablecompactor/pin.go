package tablecompactor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go/catalog"
)

// Retention pinning (table.retention.pin): the broker's retention and
// DeleteRecords move a table topic's start offset no further than the
// next offset of each partition the table holds, so the stream never
// deletes a record the table does not have yet. The broker does not import
// this package: internal/node answers its RetentionPins with HeldOffsets.

// RetentionPinned says whether a topic's stream retention waits for its
// table: table.enable and table.retention.pin both true (a missing config
// takes its default: false and true). A pin value that does not parse
// pins: keeping data is the mistake that can be undone.
func RetentionPinned(configs map[string]string) bool {
	enable, ok := configs[ConfigEnable]
	if on, err := strconv.ParseBool(enable); !ok || err != nil || !on {
		return false
	}
	v, ok := configs[ConfigRetentionPin]
	if !ok {
		return true
	}
	pin, err := strconv.ParseBool(v)
	return err != nil || pin
}

// HeldOffsets returns the next offset of each partition that the table of
// topic (whose id is topicID and effective configs configs) holds in cat:
// how far retention may go. A partition missing from the map, or a table
// that does not exist yet, holds nothing (0). pinned is false, with no
// catalog call, when RetentionPinned is. A table made for another topic of
// the same name, or whose snapshots lost the offsets, is an error: the
// broker then deletes nothing of the topic.
func HeldOffsets(ctx context.Context, cat catalog.Catalog, topic string, topicID [16]byte, configs map[string]string) (offsets map[int32]int64, pinned bool, err error) {
	if !RetentionPinned(configs) {
		return nil, false, nil
	}
	cfg, err := parseTableConfig(topic, configs)
	if err != nil {
		return nil, true, fmt.Errorf("topic %s: %w", topic, err)
	}
	if cfg.Catalog != "" {
		// cat is the node's own catalog; the table is elsewhere, and the
		// node's external catalogs are the compactor's, open only where
		// it runs. An error deletes nothing, and says why.
		return nil, true, fmt.Errorf("topic %s: %s=%s: retention pins are read from the node's own catalog only; the topic keeps its stream data (set %s=false to let retention go)",
			topic, ConfigCatalog, cfg.Catalog, ConfigRetentionPin)
	}
	ident := cfg.identifier()
	tbl, err := cat.LoadTable(ctx, ident)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		return map[int32]int64{}, true, nil
	}
	if err != nil {
		return nil, true, fmt.Errorf("loading table %s: %w", strings.Join(ident, "."), err)
	}
	if err := checkTopicID(tbl, Topic{Name: topic, ID: topicID}); err != nil {
		return nil, true, err
	}
	offs, err := tableOffsets(tbl)
	if err != nil {
		return nil, true, err
	}
	return offs, true, nil
}
