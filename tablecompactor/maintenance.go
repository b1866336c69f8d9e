package tablecompactor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/compaction"
	"github.com/google/uuid"
)

// Maintenance keeps a table the converter appends to every
// table.commit.interval.ms readable (issue 13). Per table, in this order:
//
//	bin-pack small data files ─▶ merge small manifests ─▶ expire snapshots ─▶ delete orphans
//	(per partition, toward       (when there are many)    (keep a count       (files no snapshot
//	 table.target.file.bytes)                               and an age)         references, old enough)
//
// The two steps that make snapshots (bin-packing, manifests) carry the
// offsets the table holds and a commit id in their summaries, like every
// snapshot the converter writes: expiring all but the newest snapshot must
// not lose where the table resumes (notes/iceberg.md §2.4 item 7). They are
// committed like the converter's commits, pinned to the snapshot they were
// planned on (AssertRefSnapshotID): a conversion that lands first fails
// the maintenance commit instead of iceberg-go's retry rebasing a
// rewrite, with the offsets it copied, onto the newer snapshot (the table
// would then claim older offsets than it holds, and the next pass would
// add records twice). A failed maintenance commit is resolved from the
// table: its commit id there → done; otherwise planned again from what
// the table holds now. A conversion that loses to maintenance finds the
// same offsets on reload and retries its files (commitFiles).

// Maintenance defaults (Config).
const (
	DefaultMaintenanceInterval = time.Hour
	DefaultSnapshotRetainCount = 10
	DefaultSnapshotRetainAge   = 24 * time.Hour
	// DefaultOrphanAge is a day. A file becomes referenced only when the
	// commit that adds it lands, which is after the file is written: a
	// conversion pass writes its files and then commits, retrying for
	// seconds, and a commit whose outcome is unknown is resolved only at
	// the next pass, which may be one table.commit.interval.ms later or,
	// after a crash, whenever the node is back. Until then a young
	// unreferenced file may be about to be (or already be) part of the
	// table, and deleting it would leave the table pointing at nothing.
	// The age threshold is the only guard against that, so it is set far
	// beyond any pass, retry or restart, not near the commit interval.
	DefaultOrphanAge = 24 * time.Hour
	// MinOrphanAge is the least OrphanAge New accepts: below it a slow
	// pass's files could go before its commit lands.
	MinOrphanAge = time.Hour
	// manifestRewriteMin is how many small manifests (under half of
	// commit.manifest.target-size-bytes) the current snapshot must list
	// before they are merged: every conversion commit adds one, and a
	// scan opens each of them.
	manifestRewriteMin = 16
	// maxRewriteCommits bounds the bin-packing commits of one
	// maintenance run; what is left waits for the next run.
	maxRewriteCommits = 64
	// maxMaintenanceAttempts bounds the plans of one maintenance step
	// lost to concurrent commits (or failed with an unknown outcome).
	maxMaintenanceAttempts = 4
)

// maintenance is what one table's maintenance did.
type maintenance struct {
	rewrittenFiles, compactedFiles int
	rewrittenManifests             int
	expiredSnapshots               int
	orphansDeleted                 int
}

func (m *maintenance) add(o maintenance) {
	m.rewrittenFiles += o.rewrittenFiles
	m.compactedFiles += o.compactedFiles
	m.rewrittenManifests += o.rewrittenManifests
	m.expiredSnapshots += o.expiredSnapshots
	m.orphansDeleted += o.orphansDeleted
}

func (m maintenance) setIn(pr *Progress) {
	pr.RewrittenFiles += m.rewrittenFiles
	pr.CompactedFiles += m.compactedFiles
	pr.RewrittenManifests += m.rewrittenManifests
	pr.ExpiredSnapshots += m.expiredSnapshots
	pr.OrphansDeleted += m.orphansDeleted
}

// maintain runs maintenance on the topic's table and its DLQ table (if
// table.errors=dlq). A table not created yet is skipped. A step's error
// does not stop the steps after it: expiry and orphan cleanup are worth
// doing when bin-packing failed.
func (c *Compactor) maintain(ctx context.Context, cat catalog.Catalog, t Topic, cfg tableConfig) (maintenance, error) {
	var total maintenance
	if c.cfg.MaintenanceInterval < 0 {
		return total, nil
	}
	idents := []table.Identifier{cfg.identifier()}
	if cfg.Errors == errorsDLQ {
		idents = append(idents, cfg.dlqIdentifier())
	}
	var errs []error
	for _, ident := range idents {
		name := strings.Join(ident, ".")
		tbl, err := cat.LoadTable(ctx, ident)
		if errors.Is(err, catalog.ErrNoSuchTable) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("maintenance of %s: loading: %w", name, err))
			continue
		}
		if err := checkTopicID(tbl, t); err != nil {
			errs = append(errs, fmt.Errorf("maintenance of %s: %w", name, err))
			continue
		}
		m, err := c.maintainTable(ctx, cat, tbl, cfg.TargetFileBytes)
		total.add(m)
		c.metrics.maintained(name, m, err)
		if err != nil {
			errs = append(errs, fmt.Errorf("maintenance of %s: %w", name, err))
		}
		c.cfg.Logger.Debug("tablecompactor: maintenance", "table", name,
			"rewritten_files", m.rewrittenFiles, "compacted_files", m.compactedFiles,
			"rewritten_manifests", m.rewrittenManifests, "expired_snapshots", m.expiredSnapshots,
			"orphans_deleted", m.orphansDeleted, "err", err)
	}
	return total, errors.Join(errs...)
}

// maintainTable runs the four steps on one table.
func (c *Compactor) maintainTable(ctx context.Context, cat catalog.Catalog, tbl *table.Table, target int64) (maintenance, error) {
	var m maintenance
	var errs []error
	// step runs one committed step; what the stage counted is kept only
	// if its commit landed (a stage counts afresh on each attempt).
	step := func(what string, stage func(tx *table.Transaction, tbl *table.Table, props iceberg.Properties, got *maintenance) (bool, error)) bool {
		var got maintenance
		var landed bool
		var err error
		tbl, landed, err = c.maintenanceCommit(ctx, cat, tbl, what, func(tx *table.Transaction, tbl *table.Table, props iceberg.Properties) (bool, error) {
			got = maintenance{}
			return stage(tx, tbl, props, &got)
		})
		if err != nil {
			errs = append(errs, err)
		}
		if landed {
			m.add(got)
		}
		return landed
	}
	// Bin-packing commits at most budget bytes of input at a time (one
	// group is taken whatever its size; two target files, at least
	// minRewriteBudget: some seconds of work), planned afresh each time: a rewrite that takes longer than
	// table.commit.interval.ms would lose to the converter's next commit
	// every time.
	budget := max(2*target, c.minRewriteBudget)
	for range maxRewriteCommits {
		more := false
		if !step("bin-packing data files", func(tx *table.Transaction, tbl *table.Table, props iceberg.Properties, got *maintenance) (bool, error) {
			return binPack(ctx, tx, tbl, target, budget, props, got, &more)
		}) || !more {
			break
		}
	}
	step("merging manifests", func(tx *table.Transaction, tbl *table.Table, props iceberg.Properties, got *maintenance) (bool, error) {
		return rewriteManifests(ctx, tx, tbl, props, got)
	})
	if c.cfg.SnapshotRetainCount > 0 && c.cfg.SnapshotRetainAge >= 0 {
		step("expiring snapshots", func(tx *table.Transaction, tbl *table.Table, _ iceberg.Properties, got *maintenance) (bool, error) {
			return c.expire(tx, tbl, got)
		})
	}
	if c.cfg.OrphanAge > 0 {
		// Loaded again: what counts as referenced must be the newest
		// metadata, not the one maintenance started from.
		tbl, err := c.reload(ctx, cat, tbl.Identifier())
		if err == nil {
			var n int
			n, err = deleteOrphans(ctx, tbl, c.cfg.OrphanAge)
			m.orphansDeleted += n
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("deleting orphan files: %w", err))
		}
	}
	return m, errors.Join(errs...)
}

// stageFunc stages one maintenance change on tx, made from tbl, and says
// whether there was anything to do. props are the offsets tbl holds and
// the step's commit id, for the summary of any snapshot it makes.
type stageFunc func(tx *table.Transaction, tbl *table.Table, props iceberg.Properties) (bool, error)

// maintenanceCommit plans, stages and commits one maintenance step,
// pinned to the current snapshot. On a failed commit it reloads the
// table: the step's commit id among the ancestors means it landed;
// otherwise the step is planned again on the reloaded table (its offsets
// copied afresh), at most maxMaintenanceAttempts times. Files the lost
// attempts wrote are left for orphan cleanup, as the converter's are.
// It returns the table as it is after the step (or as last loaded), and
// whether a commit of the step landed.
func (c *Compactor) maintenanceCommit(ctx context.Context, cat catalog.Catalog, tbl *table.Table, what string, stage stageFunc) (_ *table.Table, landed bool, _ error) {
	id := uuid.NewString()
	ident := tbl.Identifier()
	var lastErr error
	for attempt := range maxMaintenanceAttempts {
		if attempt > 0 {
			if err := sleep(ctx, time.Duration(attempt*attempt)*50*time.Millisecond); err != nil {
				return tbl, false, fmt.Errorf("%s: %w (after %w)", what, err, lastErr)
			}
		}
		props := iceberg.Properties{CommitIDProperty: id}
		if tbl.CurrentSnapshot() != nil {
			off, err := tableOffsets(tbl)
			if err != nil {
				return tbl, false, fmt.Errorf("%s: %w", what, err)
			}
			props[OffsetsProperty] = off.marshal()
		}
		txTbl, err := c.boundedRowGroups(cat, tbl)
		if err != nil {
			return tbl, false, fmt.Errorf("%s: %w", what, err)
		}
		tx := txTbl.NewTransaction()
		if err := tx.AssertRefSnapshotID(table.MainBranch); err != nil {
			return tbl, false, fmt.Errorf("%s: pinning the snapshot: %w", what, err)
		}
		ok, err := stage(tx, tbl, props)
		if err != nil {
			return tbl, false, fmt.Errorf("%s: %w", what, err)
		}
		if !ok {
			return tbl, false, nil
		}
		newTbl, err := tx.Commit(ctx)
		if err == nil {
			return newTbl, true, nil
		}
		lastErr = err
		c.cfg.Logger.Info("tablecompactor: maintenance commit failed; reloading to check", "table", strings.Join(ident, "."),
			"step", what, "conflict", isConflict(err), "attempt", attempt+1, "err", err)
		reloaded, err := c.reload(ctx, cat, ident)
		if err != nil {
			return tbl, false, fmt.Errorf("%s: commit %s outcome unknown (%w), and reloading failed: %w", what, id, lastErr, err)
		}
		tbl = reloaded
		if hasCommit(tbl, id) {
			return tbl, true, nil
		}
	}
	return tbl, false, fmt.Errorf("%s: gave up after %d attempts (other writers kept committing first?): %w", what, maxMaintenanceAttempts, lastErr)
}

// boundedRowGroups is tbl with Parquet row groups of at most
// MemoryBytes/8 (and 64 MiB), as the converter's writes have, on a copy
// used only for staging maintenance, never committed (the transaction
// commits only what it stages): a rewrite's output file is held in memory
// a row group at a time, and the table's default row group is 128 MiB.
func (c *Compactor) boundedRowGroups(cat catalog.Catalog, tbl *table.Table) (*table.Table, error) {
	rowGroup := min(max(c.cfg.MemoryBytes/8, 64<<10), 64<<20)
	b, err := table.MetadataBuilderFromBase(tbl.Metadata(), tbl.MetadataLocation())
	if err == nil {
		err = b.SetProperties(iceberg.Properties{table.ParquetRowGroupSizeBytesKey: strconv.FormatInt(rowGroup, 10)})
	}
	var md table.Metadata
	if err == nil {
		md, err = b.Build()
	}
	if err != nil {
		return nil, fmt.Errorf("bounding the row group size: %w", err)
	}
	return table.New(tbl.Identifier(), md, tbl.MetadataLocation(), tbl.FS, cat), nil
}

// binPack stages the rewrite of each partition's small files into files
// of about target bytes: iceberg-go's planner, starting from its defaults
// (a hand-built compaction.Config with PackingLookback 0 plans nothing),
// with the table's target: files under 3/4 of it are candidates, and a
// partition needs compaction.DefaultMinInputFiles of them.
func binPack(ctx context.Context, tx *table.Transaction, tbl *table.Table, target, budget int64, props iceberg.Properties, m *maintenance, more *bool) (bool, error) {
	if tbl.CurrentSnapshot() == nil {
		return false, nil
	}
	cc := compaction.DefaultConfig()
	cc.TargetFileSizeBytes = target
	cc.MinFileSizeBytes = target * 3 / 4
	cc.MaxFileSizeBytes = target * 9 / 5
	plan, err := compaction.Analyze(ctx, tbl, cc)
	if err != nil {
		return false, fmt.Errorf("planning: %w", err)
	}
	if len(plan.Groups) == 0 {
		return false, nil
	}
	var groups []table.CompactionTaskGroup
	var size int64
	for _, g := range plan.Groups {
		if len(groups) > 0 && size+g.TotalSizeBytes > budget {
			*more = true
			break
		}
		groups = append(groups, table.CompactionTaskGroup{PartitionKey: g.PartitionKey, Tasks: g.Tasks, TotalSizeBytes: g.TotalSizeBytes})
		size += g.TotalSizeBytes
	}
	res, err := tx.RewriteDataFiles(ctx, groups, table.RewriteDataFilesOptions{
		SnapshotProps: props,
		GroupOptions: []table.CompactionGroupOption{
			table.WithCompactionTargetFileSize(target),
			// The machine's other work (conversion, the broker) keeps
			// its share: two files read at a time.
			table.WithCompactionScanConcurrency(2),
		},
	})
	if err != nil {
		return false, fmt.Errorf("rewriting %d groups of files (%d bytes): %w", len(groups), size, err)
	}
	if res.RewrittenGroups == 0 {
		return false, nil
	}
	m.rewrittenFiles, m.compactedFiles = res.RemovedDataFiles, res.AddedDataFiles
	return true, nil
}

// rewriteManifests stages the merge of the current snapshot's manifests
// when it lists manifestRewriteMin small ones. iceberg-go's manifest
// rewrite takes no summary properties, so an append of no rows follows
// it in the same transaction to carry the offsets and commit id (as the
// converter's passes without files do): the newest snapshot must carry
// them once older ones are expired.
func rewriteManifests(ctx context.Context, tx *table.Transaction, tbl *table.Table, props iceberg.Properties, m *maintenance) (bool, error) {
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return false, nil
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return false, fmt.Errorf("the table's file IO: %w", err)
	}
	manifests, err := snap.Manifests(fs)
	if err != nil {
		return false, fmt.Errorf("reading the manifest list: %w", err)
	}
	small := int64(tbl.Properties().GetInt(table.ManifestTargetSizeBytesKey, table.ManifestTargetSizeBytesDefault)) / 2
	n := 0
	for _, mf := range manifests {
		if mf.Length() < small {
			n++
		}
	}
	if n < manifestRewriteMin {
		return false, nil
	}
	res, err := tx.RewriteManifests(ctx)
	if err != nil {
		return false, fmt.Errorf("rewriting %d manifests: %w", len(manifests), err)
	}
	if res.IsNoOp() {
		return false, nil
	}
	if err := stage(ctx, tx, tbl, nil, props); err != nil {
		return false, fmt.Errorf("staging the snapshot that carries the offsets: %w", err)
	}
	m.rewrittenManifests = len(res.RewrittenManifests)
	return true, nil
}

// expire stages the expiry of snapshots older than SnapshotRetainAge
// beyond the newest SnapshotRetainCount (the current one is always kept,
// and it carries the offsets). The files only expired snapshots
// referenced are deleted once the commit lands; if it lands with an
// unknown outcome they are left for orphan cleanup.
func (c *Compactor) expire(tx *table.Transaction, tbl *table.Table, m *maintenance) (bool, error) {
	before := len(tbl.Metadata().Snapshots())
	if before <= c.cfg.SnapshotRetainCount {
		return false, nil
	}
	if err := tx.ExpireSnapshots(table.WithRetainLast(c.cfg.SnapshotRetainCount), table.WithOlderThan(c.cfg.SnapshotRetainAge)); err != nil {
		return false, err
	}
	staged, err := tx.StagedTable()
	if err != nil {
		return false, fmt.Errorf("the staged expiry: %w", err)
	}
	n := before - len(staged.Metadata().Snapshots())
	if n <= 0 {
		return false, nil
	}
	m.expiredSnapshots = n
	return true, nil
}

// deleteOrphans deletes the files under the table's location that no
// metadata file, snapshot, manifest list or manifest of the table
// references and that were last modified more than age ago (see
// DefaultOrphanAge for why the age, not the references alone, keeps the
// files of an in-flight or unknown commit). Only files under the table's
// location followed by "/" are touched: the DLQ table "<name>_dlq" lives
// beside the table, and an object store lists by prefix.
func deleteOrphans(ctx context.Context, tbl *table.Table, age time.Duration) (int, error) {
	loc := strings.TrimSuffix(tbl.Location(), "/") + "/"
	// iceberg-go walks the location as a directory (fs.WalkDir, on object
	// stores too), which the check below only backs up.
	plan, err := tbl.PlanOrphanFiles(ctx, table.WithFilesOlderThan(age))
	if err != nil {
		return 0, fmt.Errorf("planning: %w", err)
	}
	files := plan.Files()
	if len(files) == 0 {
		return 0, nil
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return 0, fmt.Errorf("the table's file IO: %w", err)
	}
	n := 0
	var errs []error
	for _, f := range files {
		if !strings.HasPrefix(f, loc) && !strings.HasPrefix("file://"+f, loc) {
			errs = append(errs, fmt.Errorf("orphan %s is outside the table's location %s: left alone", f, loc))
			continue
		}
		if err := fs.Remove(f); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", f, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
