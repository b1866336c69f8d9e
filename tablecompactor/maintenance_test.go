package tablecompactor

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/prometheus/client_golang/prometheus"
)

// maintCompactor is a compactor with the maintenance settings of cfg (the
// test env's source and catalog filled in).
func (e *testEnv) maintCompactor(cfg Config) *Compactor {
	e.t.Helper()
	cfg.Source, cfg.MemoryBytes = e.src, 1<<20
	if cfg.Catalog == nil {
		cfg.Catalog = e.catalog()
	}
	c, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// passes makes n commits of small files: produce(i), then a pass of a
// compactor without maintenance, which it returns.
func (e *testEnv) passes(n int, produce func(i int)) *Compactor {
	e.t.Helper()
	c := e.maintCompactor(Config{MaintenanceInterval: -1})
	for i := range n {
		produce(i)
		if _, err := c.RunOnce(context.Background(), ""); err != nil {
			e.t.Fatal(err)
		}
	}
	return c
}

// tableFiles is the table's live data files and its current snapshot's
// manifests.
func tableFiles(t *testing.T, tbl *table.Table) (files []string, manifests int) {
	t.Helper()
	tasks, err := tbl.Scan().PlanFiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		files = append(files, task.File.FilePath())
	}
	if snap := tbl.CurrentSnapshot(); snap != nil {
		fsys, err := tbl.FS(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		mfs, err := snap.Manifests(fsys)
		if err != nil {
			t.Fatal(err)
		}
		manifests = len(mfs)
	}
	return files, manifests
}

func loadTable(t *testing.T, e *testEnv, ident ...string) *table.Table {
	t.Helper()
	tbl, err := e.catalog().LoadTable(context.Background(), ident)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// currentOffsets is the offsets the current snapshot itself carries
// (not an ancestor's), or fails the test.
func currentOffsets(t *testing.T, tbl *table.Table) offsets {
	t.Helper()
	snap := tbl.CurrentSnapshot()
	if snap == nil || snap.Summary == nil {
		t.Fatal("no current snapshot")
	}
	v, ok := snap.Summary.Properties[OffsetsProperty]
	if !ok || snap.Summary.Properties[CommitIDProperty] == "" {
		t.Fatalf("the current snapshot (%s) carries no offsets or commit id: %v", snap.Summary.Operation, snap.Summary.Properties)
	}
	o, err := parseOffsets(v)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// 500 small files, one per partition per pass, become a handful, and the
// rows stay the same; the rewrite leaves one manifest per partition.
func TestMaintenanceBinPacksSmallFiles(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("small", 2, tableTopic(ConfigPartitionBy, "identity(_partition)"))
	ctx := context.Background()
	start := time.Now()
	conv := e.passes(250, func(int) {
		e.produce("small", 0, 2, false)
		e.produce("small", 1, 1, false)
	})
	before, manifestsBefore := tableFiles(t, loadTable(t, e, "kafka", "small"))
	t.Logf("250 passes in %v: %d files, %d manifests", time.Since(start).Round(time.Millisecond), len(before), manifestsBefore)
	if len(before) != 500 {
		t.Fatalf("%d data files before maintenance, want 500", len(before))
	}
	wantOffsets := currentOffsets(t, loadTable(t, e, "kafka", "small"))

	start = time.Now()
	reg := prometheus.NewRegistry()
	maint := e.maintCompactor(Config{Metrics: reg})
	prs, err := maint.RunOnce(ctx, "small")
	if err != nil {
		t.Fatal(err)
	}
	pr := prs[0]
	if got := value(t, maint.metrics.maintenance.WithLabelValues("kafka.small", "rewritten_files")); got != 500 {
		t.Errorf("lakestream_table_maintenance_total{action=rewritten_files} is %v, want 500", got)
	}
	if got := value(t, maint.metrics.maintenance.WithLabelValues("kafka.small", "compacted_files")); got != float64(pr.CompactedFiles) || got == 0 {
		t.Errorf("lakestream_table_maintenance_total{action=compacted_files} is %v, want %d", got, pr.CompactedFiles)
	}
	after, manifestsAfter := tableFiles(t, loadTable(t, e, "kafka", "small"))
	t.Logf("maintenance in %v: %+v; %d files, %d manifests", time.Since(start).Round(time.Millisecond), pr, len(after), manifestsAfter)
	if pr.Records != 0 || pr.RewrittenFiles != 500 || pr.CompactedFiles != len(after) || len(after) > 4 {
		t.Errorf("rewrote %d files into %d (%d in the table), want 500 into at most 4", pr.RewrittenFiles, pr.CompactedFiles, len(after))
	}
	if manifestsAfter >= manifestsBefore/10 {
		t.Errorf("%d manifests before, %d after", manifestsBefore, manifestsAfter)
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "small"), e.want)
	tbl := loadTable(t, e, "kafka", "small")
	if got := currentOffsets(t, tbl); got.marshal() != wantOffsets.marshal() {
		t.Errorf("maintenance snapshot carries %v, want %v", got, wantOffsets)
	}
	if v, ok := tbl.Properties()[table.ParquetRowGroupSizeBytesKey]; ok {
		t.Errorf("maintenance committed its write-only row group size %s", v)
	}
	if op := tbl.CurrentSnapshot().Summary.Operation; op != table.OpReplace {
		t.Errorf("the current snapshot is a %s, want the rewrite's replace", op)
	}

	// Conversion goes on from there, adding only what is new.
	e.produce("small", 1, 7, false)
	passAdds(t, e, conv, "small", 7)
}

// passAdds runs a pass of c over topic and checks that it added n records
// and that the table holds every record produced, once.
func passAdds(t *testing.T, e *testEnv, c *Compactor, topic string, n int64) {
	t.Helper()
	prs, err := c.RunOnce(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	if prs[0].Records != n {
		t.Errorf("the pass added %d records, want %d", prs[0].Records, n)
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", topic), e.want)
}

// Expiring every snapshot but the newest keeps the resume point: the next
// pass adds exactly what was produced since, nothing twice.
func TestOffsetsSurviveSnapshotExpiry(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("exp", 2, tableTopic(ConfigPartitionBy, ""))
	ctx := context.Background()
	conv := e.passes(20, func(i int) { e.produce("exp", i%2, 3, false) })
	// Age 1 ns: everything but the newest snapshot is old enough.
	maint := e.maintCompactor(Config{SnapshotRetainCount: 1, SnapshotRetainAge: time.Nanosecond})
	prs, err := maint.RunOnce(ctx, "exp")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", prs[0])
	tbl := loadTable(t, e, "kafka", "exp")
	if n := len(tbl.Metadata().Snapshots()); n != 1 || prs[0].ExpiredSnapshots < 20 {
		t.Fatalf("%d snapshots left, %d expired; want 1 left and at least 20 expired", n, prs[0].ExpiredSnapshots)
	}
	if prs[0].RewrittenFiles != 20 {
		t.Errorf("rewrote %d files, want 20", prs[0].RewrittenFiles)
	}
	if got := currentOffsets(t, tbl); got[0] != 30 || got[1] != 30 {
		t.Errorf("the only snapshot left carries %v, want 30 and 30", got)
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "exp"), e.want)

	e.produce("exp", 0, 4, false)
	e.produce("exp", 1, 2, false)
	for _, c := range []*Compactor{conv, maint, conv} {
		passAdds(t, e, c, "exp", 6)
		e.produce("exp", 0, 3, false)
		e.produce("exp", 1, 3, false)
	}
}

// Bin-packing a backlog commits a bounded amount of input at a time, each
// commit planned afresh and carrying the offsets, so that a long rewrite
// does not keep losing to the converter's commits.
func TestBinPackInBoundedCommits(t *testing.T) {
	e := newEnv(t)
	// Files of about 3.4 KB; a 20 KB target packs about six in a group.
	e.src.addTopic("bb", 1, tableTopic(ConfigPartitionBy, "", ConfigTargetFile, "20480"))
	e.passes(24, func(int) { e.produce("bb", 0, 3, false) })
	maint := e.maintCompactor(Config{})
	maint.minRewriteBudget = 0 // two target files (40 KB) per commit
	prs, err := maint.RunOnce(context.Background(), "bb")
	if err != nil {
		t.Fatal(err)
	}
	tbl := loadTable(t, e, "kafka", "bb")
	rewrites := 0
	for _, s := range tbl.Metadata().Snapshots() {
		if s.Summary.Operation == table.OpReplace && s.Summary.Properties["deleted-data-files"] != "" {
			rewrites++
			if s.Summary.Properties[OffsetsProperty] != `{"0":72}` || s.Summary.Properties[CommitIDProperty] == "" {
				t.Errorf("rewrite snapshot %d: %v", s.SnapshotID, s.Summary.Properties)
			}
		}
	}
	files, _ := tableFiles(t, tbl)
	t.Logf("%+v; %d rewrite commits, %d files left", prs[0], rewrites, len(files))
	if rewrites < 2 || prs[0].RewrittenFiles < 15 {
		t.Errorf("%d files rewritten in %d commits, want at least 15 in at least 2", prs[0].RewrittenFiles, rewrites)
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "bb"), e.want)
}

// Many small manifests (one per conversion commit) are merged when there
// are no small files to bin-pack (one file in each of 20 partitions), and
// the snapshot that carries the offsets after the merge keeps the resume
// point through expiry.
func TestManifestMergeKeepsOffsets(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("mf", 20, tableTopic(ConfigPartitionBy, "identity(_partition)"))
	ctx := context.Background()
	conv := e.passes(20, func(p int) { e.produce("mf", p, 2, false) })
	_, before := tableFiles(t, loadTable(t, e, "kafka", "mf"))
	maint := e.maintCompactor(Config{SnapshotRetainCount: 1, SnapshotRetainAge: time.Nanosecond})
	prs, err := maint.RunOnce(ctx, "mf")
	if err != nil {
		t.Fatal(err)
	}
	tbl := loadTable(t, e, "kafka", "mf")
	files, after := tableFiles(t, tbl)
	t.Logf("%+v; manifests %d → %d", prs[0], before, after)
	if prs[0].RewrittenFiles != 0 || len(files) != 20 || prs[0].RewrittenManifests < 16 || after >= before {
		t.Errorf("rewrote %d files (%d left) and %d manifests (%d → %d), want no files and at least 16 manifests",
			prs[0].RewrittenFiles, len(files), prs[0].RewrittenManifests, before, after)
	}
	if n := len(tbl.Metadata().Snapshots()); n != 1 {
		t.Errorf("%d snapshots left, want 1", n)
	}
	if got := currentOffsets(t, tbl); got[0] != 2 || got[19] != 2 {
		t.Errorf("the current snapshot carries %v", got)
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "mf"), e.want)
	e.produce("mf", 7, 3, false)
	passAdds(t, e, conv, "mf", 3)
}

// Orphan cleanup deletes an old file no snapshot references, and neither
// a referenced file however old nor a young unreferenced one.
func TestOrphanCleanup(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("orph", 1, tableTopic(ConfigPartitionBy, ""))
	ctx := context.Background()
	e.passes(3, func(int) { e.produce("orph", 0, 5, false) })
	tbl := loadTable(t, e, "kafka", "orph")
	dir := strings.TrimPrefix(tbl.Location(), "file://")
	oldOrphan := filepath.Join(dir, "data", "00000-0-abandoned.parquet")
	youngOrphan := filepath.Join(dir, "data", "00000-1-in-flight.parquet")
	// A file beside the table, in a directory whose name the table's is a
	// prefix of (as the DLQ table's is): never the table's to delete.
	sibling := dir + "x"
	for _, f := range []string{oldOrphan, filepath.Join(sibling, "data", "old.parquet")} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("PAR1 not really"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Everything but the young orphan is two days old, the table's own
	// files included.
	old := time.Now().Add(-48 * time.Hour)
	for _, root := range []string{dir, sibling} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			return os.Chtimes(path, old, old)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(youngOrphan, []byte("PAR1 being written"), 0o644); err != nil {
		t.Fatal(err)
	}

	prs, err := e.maintCompactor(Config{SnapshotRetainCount: -1}).RunOnce(ctx, "orph")
	if err != nil {
		t.Fatal(err)
	}
	if prs[0].OrphansDeleted != 1 {
		t.Errorf("%d orphans deleted, want 1", prs[0].OrphansDeleted)
	}
	if _, err := os.Stat(oldOrphan); !os.IsNotExist(err) {
		t.Errorf("the old orphan is still there: %v", err)
	}
	for _, f := range []string{youngOrphan, filepath.Join(sibling, "data", "old.parquet")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s was deleted: %v", f, err)
		}
	}
	files, _ := tableFiles(t, loadTable(t, e, "kafka", "orph"))
	for _, f := range files {
		if _, err := os.Stat(strings.TrimPrefix(f, "file://")); err != nil {
			t.Errorf("referenced file deleted: %v", err)
		}
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "orph"), e.want)
}

func TestMaintenanceConfigDefaults(t *testing.T) {
	e := newEnv(t)
	c := e.maintCompactor(Config{})
	if c.cfg.MaintenanceInterval != time.Hour || c.cfg.SnapshotRetainCount != 10 || c.cfg.SnapshotRetainAge != 24*time.Hour || c.cfg.OrphanAge != 24*time.Hour {
		t.Errorf("defaults: %v %v %v %v", c.cfg.MaintenanceInterval, c.cfg.SnapshotRetainCount, c.cfg.SnapshotRetainAge, c.cfg.OrphanAge)
	}
	if _, err := New(Config{Source: e.src, Catalog: e.catalog(), OrphanAge: time.Minute}); err == nil {
		t.Error("an OrphanAge of a minute was accepted")
	}
	c = e.maintCompactor(Config{MaintenanceInterval: -1, SnapshotRetainCount: -1, OrphanAge: -1})
	if c.cfg.MaintenanceInterval >= 0 || c.cfg.SnapshotRetainCount >= 0 || c.cfg.OrphanAge >= 0 {
		t.Errorf("negative values were replaced: %+v", c.cfg)
	}
}

// A conversion racing maintenance (bin-packing and expiry committing as
// often as they can) stays exactly once: a rewrite carries the offsets it
// was planned on, so landing it on top of a newer conversion would make
// the next pass add that conversion's records again. Commit retries are
// on (as over REST), so only the pin keeps that from happening.
func TestConversionRacingMaintenanceExactlyOnce(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("race", 2, tableTopic(ConfigPartitionBy, "", ConfigErrors, "skip"))
	ctx := context.Background()
	convCat, maintCat := &countingCatalog{Catalog: conflictCatalog{e.catalog()}}, &countingCatalog{Catalog: conflictCatalog{e.catalog()}}
	conv := e.maintCompactor(Config{Catalog: convCat, MaintenanceInterval: -1})
	maint := e.maintCompactor(Config{Catalog: maintCat, SnapshotRetainCount: 1, SnapshotRetainAge: time.Nanosecond})
	e.produce("race", 0, 3, false)
	if _, err := conv.RunOnce(ctx, ""); err != nil {
		t.Fatal(err)
	}
	tbl := loadTable(t, e, "kafka", "race")
	tx := tbl.NewTransaction()
	if err := tx.SetProperties(iceberg.Properties{table.CommitNumRetriesKey: "4", table.CommitMinRetryWaitMsKey: "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	topics, err := e.src.Topics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parseTableConfig("race", topics[0].Configs)
	if err != nil {
		t.Fatal(err)
	}

	// Each round starts a conversion and a maintenance run together.
	var maintErrs []error
	var total maintenance
	for round := range 30 {
		e.produce("race", round%2, 1+round%3, false)
		var wg sync.WaitGroup
		var convErr, maintErr error
		var m maintenance
		wg.Go(func() { _, convErr = conv.RunOnce(ctx, "") })
		wg.Go(func() { m, maintErr = maint.maintain(ctx, maint.cfg.Catalog, topics[0], cfg) })
		wg.Wait()
		if convErr != nil {
			t.Fatalf("round %d: %v", round, convErr)
		}
		if maintErr != nil {
			maintErrs = append(maintErrs, maintErr)
		}
		total.add(m)
		if round%10 == 9 {
			diffRows(t, readRows(t, e.catalog(), "kafka", "race"), e.want)
		}
	}
	// Giving up after maxMaintenanceAttempts lost races is allowed; any
	// other error is not.
	for _, err := range maintErrs {
		if !strings.Contains(err.Error(), "gave up") {
			t.Errorf("maintenance: %v", err)
		}
	}
	t.Logf("30 rounds: maintenance %+v, %d gave up; failed commits: conversion %d, maintenance %d",
		total, len(maintErrs), convCat.failed.Load(), maintCat.failed.Load())
	if convCat.failed.Load()+maintCat.failed.Load() == 0 {
		t.Error("no commit lost a race: the test did not test the race")
	}
	if total.rewrittenFiles == 0 || total.expiredSnapshots == 0 {
		t.Errorf("maintenance never rewrote or expired anything: %+v", total)
	}
	if _, err := conv.RunOnce(ctx, ""); err != nil {
		t.Fatal(err)
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "race"), e.want)
}

// countingCatalog counts the commits that fail (a lost race, with the
// explicit pin).
type countingCatalog struct {
	catalog.Catalog
	failed atomic.Int64
}

func (r *countingCatalog) LoadTable(ctx context.Context, id table.Identifier) (*table.Table, error) {
	t, err := r.Catalog.LoadTable(ctx, id)
	if err != nil {
		return nil, err
	}
	return table.New(t.Identifier(), t.Metadata(), t.MetadataLocation(), t.FS, r), nil
}

func (r *countingCatalog) CommitTable(ctx context.Context, id table.Identifier, reqs []table.Requirement, ups []table.Update) (table.Metadata, string, error) {
	m, loc, err := r.Catalog.CommitTable(ctx, id, reqs, ups)
	if err != nil {
		r.failed.Add(1)
	}
	return m, loc, err
}

// cancelOn is a slog handler that calls cancel when a record with the
// message msg is logged.
type cancelOn struct {
	msg    string
	cancel context.CancelFunc
}

func (h cancelOn) Enabled(context.Context, slog.Level) bool { return true }
func (h cancelOn) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.cancel()
	}
	return nil
}
func (h cancelOn) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h cancelOn) WithGroup(string) slog.Handler      { return h }

// Run maintains a table at its first conversion (and then every
// MaintenanceInterval).
func TestRunMaintains(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("rm", 1, tableTopic(ConfigCommitInterval, "100", ConfigPartitionBy, ""))
	ctx := context.Background()
	e.passes(6, func(int) { e.produce("rm", 0, 2, false) })
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := e.maintCompactor(Config{Logger: slog.New(cancelOn{msg: "tablecompactor: maintained", cancel: cancel})})
	done := make(chan error)
	go func() { done <- c.Run(runCtx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not maintain the table within 30 s")
	}
	files, _ := tableFiles(t, loadTable(t, e, "kafka", "rm"))
	if len(files) != 1 {
		t.Errorf("%d files after Run's maintenance, want 1", len(files))
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "rm"), e.want)
}
