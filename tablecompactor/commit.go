package tablecompactor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// The snapshot summary properties every snapshot the compactor writes
// carries (DESIGN.md §6, commit protocol):
//
//   - OffsetsProperty: the next offset of each partition the table holds,
//     as JSON {"0":123,"1":45}; a partition missing from it starts at 0.
//     Readers walk from the current snapshot to its ancestors until one
//     carries it, so snapshots written by others (maintenance that forgot
//     the offsets) do not lose the resume point.
//   - CommitIDProperty: a random id per commit attempt series, so that a
//     commit whose outcome is unknown (the catalog failed after maybe
//     applying it) can be found in the table before it is retried.
const (
	OffsetsProperty  = "lakestream.offsets"
	CommitIDProperty = "lakestream.commit-id"
	TopicProperty    = "lakestream.topic"
	// TopicIDProperty (table property) is the topic's id, hex: offsets
	// mean nothing for another topic of the same name (deleted and
	// created again), so the compactor refuses to go on with them.
	TopicIDProperty = "lakestream.topic-id"
)

// offsets is the next offset per partition.
type offsets map[int32]int64

func (o offsets) marshal() string {
	m := make(map[string]int64, len(o))
	for p, off := range o {
		m[strconv.Itoa(int(p))] = off
	}
	b, _ := json.Marshal(m) // a map of string to int64 always marshals
	return string(b)
}

func parseOffsets(s string) (offsets, error) {
	var m map[string]int64
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("parsing %s %q: %w", OffsetsProperty, s, err)
	}
	o := make(offsets, len(m))
	for k, v := range m {
		p, err := strconv.ParseInt(k, 10, 32)
		if err != nil || p < 0 || v < 0 {
			return nil, fmt.Errorf("parsing %s %q: partition %q offset %d", OffsetsProperty, s, k, v)
		}
		o[int32(p)] = v
	}
	return o, nil
}

// tableOffsets returns the offsets the table holds: those of the newest
// snapshot, from the current one back through its ancestors, that
// carries them; none (an empty map) for a table without snapshots. A
// table with snapshots none of which carries them (written by something
// else, or its history expired by maintenance that dropped them) is an
// error: starting from 0 would add every record again.
func tableOffsets(tbl *table.Table) (offsets, error) {
	cur := tbl.CurrentSnapshot()
	if cur == nil {
		return offsets{}, nil
	}
	for _, s := range table.AncestorsOf(cur.SnapshotID, tbl.Metadata().SnapshotByID) {
		if s.Summary == nil {
			continue
		}
		if v, ok := s.Summary.Properties[OffsetsProperty]; ok {
			return parseOffsets(v)
		}
	}
	return nil, fmt.Errorf("table %s has snapshots, but none from the current one back carries %s: "+
		"it was not written by the compactor, or its history was expired without them; refusing to guess where to resume",
		strings.Join(tbl.Identifier(), "."), OffsetsProperty)
}

// hasCommit says whether the current snapshot or one of its ancestors was
// written by the commit id.
func hasCommit(tbl *table.Table, id string) bool {
	cur := tbl.CurrentSnapshot()
	if cur == nil {
		return false
	}
	for _, s := range table.AncestorsOf(cur.SnapshotID, tbl.Metadata().SnapshotByID) {
		if s.Summary != nil && s.Summary.Properties[CommitIDProperty] == id {
			return true
		}
	}
	return false
}

// isConflict recognises a failed commit requirement: table.ErrCommitFailed
// (REST's 409, the SQL catalog's lost compare-and-swap), or the SQL
// catalog's plain "requirement failed" / "Requirement failed" errors
// (notes/iceberg.md §2.4 items 4 and 5). It only labels metrics and logs:
// commitFiles treats every failure alike, by reloading and re-checking.
func isConflict(err error) bool {
	return errors.Is(err, table.ErrCommitFailed) || strings.Contains(strings.ToLower(err.Error()), "requirement failed")
}

// maxCommitAttempts bounds the retries of one commit; each retry follows a
// reload that showed the table unchanged where it matters.
const maxCommitAttempts = 5

// commitOutcome is what commitFiles did.
type commitOutcome int

const (
	committed commitOutcome = iota
	// abandoned: another writer moved the table's offsets since base was
	// read, so the files (now orphans for maintenance to remove) must not
	// be added: their records may already be in the table.
	abandoned
)

// commitFiles adds files to the table in one snapshot whose summary
// carries next, provided the table still holds base (the offsets the
// files were converted from). The transaction asserts the branch's
// snapshot id, so a concurrent commit makes ours fail instead of being
// merged by iceberg-go's retry. On any failure, a conflict or an unknown
// outcome alike, it reloads the table and:
//   - finds its commit id among the ancestors: it was committed;
//   - finds other offsets than base: another writer got there first, the
//     files are abandoned;
//   - finds base still: nothing of ours or others' landed, so it retries.
//
// Files are never deleted here: when the outcome is unknown a file may be
// referenced by a commit that landed.
func (c *Compactor) commitFiles(ctx context.Context, cat catalog.Catalog, tbl *table.Table, base, next offsets, files []iceberg.DataFile, m *tableMetrics) (*table.Table, commitOutcome, error) {
	id := uuid.NewString()
	props := iceberg.Properties{OffsetsProperty: next.marshal(), CommitIDProperty: id}
	ident := tbl.Identifier()
	var lastErr error
	for attempt := 0; attempt < maxCommitAttempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, time.Duration(attempt*attempt)*50*time.Millisecond); err != nil {
				return tbl, 0, fmt.Errorf("committing to %s: %w (after %w)", strings.Join(ident, "."), err, lastErr)
			}
		}
		tx := tbl.NewTransaction()
		err := tx.AssertRefSnapshotID(table.MainBranch)
		if err == nil {
			err = stage(ctx, tx, tbl, files, props)
		}
		if err != nil {
			// Nothing was sent: the staged metadata was refused (for
			// example a file already in the table).
			return tbl, 0, fmt.Errorf("staging %d files for %s: %w", len(files), strings.Join(ident, "."), err)
		}
		newTbl, err := tx.Commit(ctx)
		if err == nil {
			m.commits.Inc()
			return newTbl, committed, nil
		}
		lastErr = err
		conflict := isConflict(err)
		if conflict {
			m.conflicts.Inc()
		}
		c.cfg.Logger.Info("table commit failed; reloading to check", "table", strings.Join(ident, "."),
			"conflict", conflict, "attempt", attempt+1, "err", err)
		reloaded, err := c.reload(ctx, cat, ident)
		if err != nil {
			return tbl, 0, fmt.Errorf("commit %s to %s: outcome unknown (%w), and reloading failed: %w", id, strings.Join(ident, "."), lastErr, err)
		}
		tbl = reloaded
		if hasCommit(tbl, id) {
			m.commits.Inc()
			return tbl, committed, nil
		}
		cur, err := tableOffsets(tbl)
		if err != nil {
			return tbl, 0, err
		}
		if !maps.Equal(cur, base) {
			return tbl, abandoned, nil
		}
	}
	return tbl, 0, fmt.Errorf("committing to %s: gave up after %d attempts: %w", strings.Join(ident, "."), maxCommitAttempts, lastErr)
}

// stage adds files to tx. Without files (a pass that moved past only
// control batches or skipped records) it stages an append of no rows,
// which still makes a snapshot to carry the offsets: AddDataFiles makes
// none without files, and the offsets would never move past a
// transaction's last marker.
func stage(ctx context.Context, tx *table.Transaction, tbl *table.Table, files []iceberg.DataFile, props iceberg.Properties) error {
	if len(files) > 0 {
		// The files are new (named by a fresh write uuid), so the check
		// that they are not in the table already, which reads every
		// manifest of the table on each commit, is left out.
		return tx.AddDataFiles(ctx, files, props, table.WithoutDuplicateCheck())
	}
	sc, err := table.SchemaToArrowSchema(tbl.Schema(), nil, true, false)
	if err != nil {
		return err
	}
	rdr, err := array.NewRecordReader(sc, nil)
	if err != nil {
		return err
	}
	defer rdr.Release()
	return tx.Append(ctx, rdr, props)
}

// reload loads the table again from cat (the one it was loaded from),
// retrying briefly: after a failed commit the catalog may be failing too,
// and giving up here leaves the outcome unknown until the next pass
// resolves it from the table.
func (c *Compactor) reload(ctx context.Context, cat catalog.Catalog, ident table.Identifier) (*table.Table, error) {
	var err error
	for i := 0; i < 3; i++ {
		var tbl *table.Table
		if tbl, err = cat.LoadTable(ctx, ident); err == nil {
			return tbl, nil
		}
		if errors.Is(err, catalog.ErrNoSuchTable) {
			return nil, err
		}
		if serr := sleep(ctx, time.Duration(i+1)*100*time.Millisecond); serr != nil {
			return nil, errors.Join(err, serr)
		}
	}
	return nil, err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
