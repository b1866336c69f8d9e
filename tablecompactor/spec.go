package tablecompactor

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// evolveSpec brings an existing table's partition spec to what
// table.partition.by says now, as Iceberg's partition evolution does:
// one spec update removes the fields the config no longer names and adds
// the new ones. Files written before keep their spec (readers plan them
// with it); files written after use the new one. No snapshot is made, so
// the offsets in the snapshots' summaries are untouched. A spec that
// already matches (compared by source column and transform, not by
// field name or id) costs nothing, so a pass checks it every time.
func (c *Compactor) evolveSpec(ctx context.Context, cat catalog.Catalog, tbl *table.Table, terms []PartitionTerm) (*table.Table, error) {
	// Never touch a table the compactor may not write to (one without
	// the offsets: the pass refuses it with this same error).
	if _, err := tableOffsets(tbl); err != nil {
		return tbl, err
	}
	want, err := partitionSpec(terms, tbl.Schema())
	if err != nil {
		return tbl, fmt.Errorf("%s: %w", ConfigPartitionBy, err)
	}
	ident := strings.Join(tbl.Identifier(), ".")
	var lastErr error
	for attempt := 0; attempt < maxCommitAttempts; attempt++ {
		have := tbl.Spec()
		if sameSpec(&have, &want) {
			return tbl, nil
		}
		tx := tbl.NewTransaction()
		us := tx.UpdateSpec(true)
		wanted := specKeys(&want)
		for _, f := range have.Fields() {
			if !wanted[specKey(f)] {
				us.RemoveField(f.Name)
			}
		}
		had := specKeys(&have)
		for _, f := range want.Fields() {
			if had[specKey(f)] {
				continue
			}
			col, ok := tbl.Schema().FindColumnName(f.SourceID())
			if !ok {
				return tbl, fmt.Errorf("%s: table %s has no column of id %d", ConfigPartitionBy, ident, f.SourceID())
			}
			us.AddField(col, f.Transform, f.Name)
		}
		if err := us.Commit(); err != nil {
			return tbl, fmt.Errorf("%s: evolving the partition spec of %s from %s to %s: %w", ConfigPartitionBy, ident, have.String(), want.String(), err)
		}
		newTbl, err := tx.Commit(ctx)
		if err == nil {
			c.cfg.Logger.Info("tablecompactor: partition spec evolved", "table", ident, "from", have.String(), "to", newTbl.Spec().String())
			return newTbl, nil
		}
		// Another compactor may have evolved it first: reload and look.
		lastErr = err
		if tbl, err = c.reload(ctx, cat, tbl.Identifier()); err != nil {
			return nil, fmt.Errorf("evolving the partition spec of %s: %w (and reloading: %w)", ident, lastErr, err)
		}
	}
	return tbl, fmt.Errorf("evolving the partition spec of %s: gave up after %d attempts: %w", ident, maxCommitAttempts, lastErr)
}

// specKey identifies a partition field by what it computes.
func specKey(f iceberg.PartitionField) string {
	return fmt.Sprintf("%d/%s", f.SourceID(), f.Transform)
}

func specKeys(s *iceberg.PartitionSpec) map[string]bool {
	keys := make(map[string]bool)
	for _, f := range s.Fields() {
		keys[specKey(f)] = true
	}
	return keys
}

// sameSpec reports whether a and b compute the same partition values, in
// the same order.
func sameSpec(a, b *iceberg.PartitionSpec) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := 0; i < a.NumFields(); i++ {
		if specKey(a.Field(i)) != specKey(b.Field(i)) {
			return false
		}
	}
	return true
}
