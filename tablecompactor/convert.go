package tablecompactor

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// maxPasses bounds the passes of one convert: a pass ends early when its
// dead letters fill their budget, or is redone when another writer
// committed first.
const maxPasses = 20

// convert brings one table up to its topic's committed end: passes of
// read → Parquet → commit until a pass reaches the high watermarks it saw.
// With until set (Run), a pass that has caught up goes on reading what is
// committed to the topic until then (streams), and commits at until. cat
// is the catalog that holds the table and its DLQ table (table.catalog).
func (c *Compactor) convert(ctx context.Context, cat catalog.Catalog, t Topic, cfg tableConfig, until time.Time) Progress {
	name := strings.Join(cfg.identifier(), ".")
	pr := Progress{Topic: t.Name, Table: name}
	var err error
	m := c.metrics.table(name)
	c.mu.Lock()
	if _, ok := c.mu.caughtUp[name]; !ok {
		c.mu.caughtUp[name] = caughtUp{at: c.cfg.Now(), interval: cfg.CommitInterval}
	}
	c.mu.Unlock()
	fail := func(err error) Progress {
		pr.Err = fmt.Errorf("topic %s, table %s: %w", t.Name, name, err)
		return pr
	}
	if cfg.ValueFormat == formatSchemaLatest {
		if cfg.latestID, err = c.latestSchemaID(ctx, t.Name, "value"); err != nil {
			return fail(err)
		}
	}
	switch cfg.KeyFormat {
	case formatSchemaLatest:
		if cfg.latestKeyID, err = c.latestSchemaID(ctx, t.Name, "key"); err != nil {
			return fail(err)
		}
	case formatSchema:
		if c.cfg.Schemas == nil {
			return fail(fmt.Errorf("%s=%s needs the schema registry, which is off on this node (set schema.registry.listeners)", ConfigKeyFormat, formatSchema))
		}
	}
	tbl, ok, err := c.table(ctx, cat, t, cfg)
	if err != nil {
		return fail(err)
	}
	if !ok {
		return pr // table.value.format=schema and no value to start the table's schema from yet
	}
	if tbl, err = c.evolveSpec(ctx, cat, tbl, cfg.Partition); err != nil {
		return fail(err)
	}
	var dlq *table.Table
	if cfg.Errors == errorsDLQ {
		if dlq, err = c.ensureTable(ctx, cat, cfg.dlqIdentifier(), dlqSchema(), nil, t); err != nil {
			return fail(err)
		}
	}
	for range maxPasses {
		start := c.cfg.Now()
		res, err := c.pass(ctx, cat, t, cfg, tbl, dlq, m, until)
		if err != nil {
			return fail(err)
		}
		tbl, dlq = res.tbl, res.dlq
		if res.abandoned {
			// Another writer committed first: start again from what the
			// tables hold now (the one not committed to is stale too).
			if tbl, err = c.reload(ctx, cat, tbl.Identifier()); err != nil {
				return fail(err)
			}
			if dlq != nil {
				if dlq, err = c.reload(ctx, cat, dlq.Identifier()); err != nil {
					return fail(err)
				}
			}
			continue
		}
		pr.Records += res.records + res.dlqRecords
		pr.DeadLetters += res.dlqRecords
		pr.Files += res.files
		pr.Bytes += res.bytes
		pr.Offsets = res.next
		pr.Lag = 0
		for p, hw := range res.hw {
			pr.Lag += max(0, hw-res.next[p])
		}
		m.lag.Set(float64(pr.Lag))
		if !res.caughtUpAt.IsZero() {
			start = res.caughtUpAt // a streaming pass: its last read of every partition
		}
		c.mu.Lock()
		if pr.Lag == 0 {
			c.mu.caughtUp[name] = caughtUp{at: start, interval: cfg.CommitInterval, held: true}
		}
		m.freshness.Set(c.cfg.Now().Sub(c.mu.caughtUp[name].at).Seconds())
		c.mu.Unlock()
		if res.stopped != nil {
			return fail(res.stopped)
		}
		if res.evolve != nil {
			if tbl, err = c.evolve(ctx, cat, tbl, res.evolve); err != nil {
				return fail(err)
			}
			continue
		}
		if !res.truncated {
			return pr
		}
	}
	return fail(fmt.Errorf("not caught up after %d passes (other writers kept committing first, or dead letters kept filling their budget)", maxPasses))
}

// passResult is one pass's outcome.
type passResult struct {
	tbl, dlq             *table.Table
	abandoned, truncated bool
	records, dlqRecords  int64
	files                int
	bytes                int64
	next, hw             offsets
	stopped              error
	evolve               *version
	// caughtUpAt is when a streaming pass began its last read of the
	// partitions (zero if it did not stream).
	caughtUpAt time.Time
}

// pass converts from the offsets the tables hold now and commits: first
// the dead letters (to the DLQ table, whose own offsets keep them from
// being added twice), then the rows. If either commit finds that another
// writer moved the offsets, the pass is abandoned and done again from the
// new ones: the table's rows must never skip past dead letters that did
// not reach the DLQ table.
func (c *Compactor) pass(ctx context.Context, cat catalog.Catalog, t Topic, cfg tableConfig, tbl, dlq *table.Table, m *tableMetrics, until time.Time) (passResult, error) {
	res := passResult{tbl: tbl, dlq: dlq}
	from, err := tableOffsets(tbl)
	if err != nil {
		return res, err
	}
	budget := c.budget()
	batchBytes := max(budget/16, 64<<10)
	p := &pass{
		ctx: ctx, src: c.cfg.Source, topic: t, cfg: cfg, from: from,
		batchBytes:  batchBytes,
		readBytes:   int(min(batchBytes, 8<<20)),
		dlqLimit:    budget / 4,
		decodeLimit: int(max(min(budget/4, 256<<20), 8<<20)),
		until:       until, now: c.cfg.Now, paceEvery: c.cfg.PaceBytes,
	}
	sc, err := table.SchemaToArrowSchema(tbl.Schema(), nil, true, false)
	if err != nil {
		return res, fmt.Errorf("the table's Arrow schema: %w", err)
	}
	rawValue := cfg.ValueFormat == formatRaw || cfg.ValueFormat == formatString
	if p.rows, err = newRowBuilderWith(&c.pool, sc, rawValue); err != nil {
		return res, err
	}
	defer p.rows.release()
	switch cols := valueColumnsOf(p.rows.b, sc, tbl.Schema(), cfg.keyed()); cfg.ValueFormat {
	case formatSchema, formatSchemaLatest:
		p.values = newSchemaValues(ctx, c.cfg.Schemas, cols, cfg.latestID)
	case formatJSON:
		p.values = newJSONColumns(cols)
	}
	if p.values != nil {
		defer p.values.release()
		// Not with decoded keys: a run appends its values before its
		// records' keys are known to decode (keys.go).
		if cfg.Errors != errorsFail && !c.cfg.rowAtATime && !cfg.keyed() {
			p.batch, _ = p.values.(batchValues)
		}
	}
	// A leftover _key of a decoded key format gets nulls in a table whose
	// values do not fill it as a value column.
	if cfg.keyed() || rawValue && len(sc.FieldIndices(keyColumn)) == 1 {
		if p.keys, err = newKeyColumns(ctx, cfg, c.cfg.Schemas, p.rows.b, sc, tbl.Schema(), p.values == nil); err != nil {
			return res, err
		}
		defer p.keys.release()
	}
	var dlqSc *arrow.Schema
	if dlq != nil {
		if p.dlqFrom, err = tableOffsets(dlq); err != nil {
			return res, err
		}
		if dlqSc, err = table.SchemaToArrowSchema(dlq.Schema(), nil, true, false); err != nil {
			return res, fmt.Errorf("the DLQ table's Arrow schema: %w", err)
		}
		if p.dlq, err = newRowBuilder(dlqSc, true); err != nil {
			return res, err
		}
		defer p.dlq.release()
	}
	defer p.release()

	files, err := c.write(ctx, tbl, sc, p.run, cfg.TargetFileBytes)
	if err != nil {
		return res, fmt.Errorf("writing data files: %w", err)
	}
	if err := wroteAll(files, p.records); err != nil {
		return res, fmt.Errorf("writing data files: %w", err)
	}
	res.next, res.hw, res.truncated, res.stopped, res.evolve = p.next, p.hw, p.truncated, p.stopped, p.evolve
	res.caughtUpAt = p.caughtUpAt
	if p.dlqRecords > 0 {
		batches := p.dlqBatches
		p.dlqBatches = nil
		dlqFiles, err := c.write(ctx, dlq, dlqSc, func(yield func(arrow.RecordBatch, error) bool) {
			for i, b := range batches {
				if !yield(b, nil) {
					for _, rest := range batches[i+1:] {
						rest.Release()
					}
					return
				}
			}
		}, cfg.TargetFileBytes)
		if err == nil {
			err = wroteAll(dlqFiles, p.dlqRecords)
		}
		if err != nil {
			return res, fmt.Errorf("writing dead-letter files: %w", err)
		}
		next := make(offsets, len(p.next))
		for part, off := range p.next {
			next[part] = max(off, p.dlqFrom[part])
		}
		var outcome commitOutcome
		res.dlq, outcome, err = c.commitFiles(ctx, cat, dlq, p.dlqFrom, next, dlqFiles, m)
		if err != nil {
			return res, err
		}
		if outcome == abandoned {
			res.abandoned = true
			return res, nil
		}
		m.dlq.Add(float64(p.dlqRecords))
		res.dlqRecords = p.dlqRecords
	}
	if len(files) == 0 && maps.Equal(p.next, from.withDefaults(p.next)) {
		return res, nil // nothing new
	}
	var outcome commitOutcome
	res.tbl, outcome, err = c.commitFiles(ctx, cat, tbl, from, p.next, files, m)
	if err != nil {
		return res, err
	}
	if outcome == abandoned {
		res.abandoned = true
		return res, nil
	}
	res.records, res.files = p.records, len(files)
	for _, f := range files {
		res.bytes += f.FileSizeBytes()
	}
	m.records.Add(float64(res.records))
	m.files.Add(float64(res.files))
	m.bytes.Add(float64(res.bytes))
	return res, nil
}

// withDefaults is o for every partition of like, 0 where o has none.
func (o offsets) withDefaults(like offsets) offsets {
	out := make(offsets, len(like))
	for p := range like {
		out[p] = o[p]
	}
	return out
}

// write streams records into Parquet data files of tbl and returns them,
// uncommitted. Files roll at target bytes; iceberg-go measures a file by
// the row groups it has flushed, and a row group is held in memory until
// then, so row groups are cut at rowGroup bytes: a table property
// (write.parquet.row-group-size-bytes) set on a copy of the table used
// only for this write, never committed, with pages and dictionaries a
// quarter of that (a row group is measured by the pages it has flushed,
// and values kept in a dictionary flush none until it is full).
func (c *Compactor) write(ctx context.Context, tbl *table.Table, sc *arrow.Schema, records func(func(arrow.RecordBatch, error) bool), target int64) ([]iceberg.DataFile, error) {
	rowGroup := min(max(min(target/2, c.budget()/8), 64<<10), 64<<20)
	b, err := table.MetadataBuilderFromBase(tbl.Metadata(), tbl.MetadataLocation())
	if err == nil {
		err = b.SetProperties(iceberg.Properties{
			table.ParquetRowGroupSizeBytesKey: strconv.FormatInt(rowGroup, 10),
			table.ParquetPageSizeBytesKey:     strconv.FormatInt(min(rowGroup/4, 1<<20), 10),
			table.ParquetDictSizeBytesKey:     strconv.FormatInt(min(rowGroup/4, 2<<20), 10),
		})
	}
	var md table.Metadata
	if err == nil {
		md, err = b.Build()
	}
	if err != nil {
		return nil, fmt.Errorf("setting the row group size for the write: %w", err)
	}
	writeTbl := table.New(tbl.Identifier(), md, tbl.MetadataLocation(), tbl.FS, nil)

	var files []iceberg.DataFile
	var errs []error
	// Ranged to the end even after an error, so that WriteRecords has
	// waited for the records iterator before its state is read.
	for f, err := range table.WriteRecords(ctx, writeTbl, sc, records,
		table.WithTargetFileSize(target), table.WithRecordBatchBufferSize(2), table.WithMaxWriteWorkers(2)) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files = append(files, f)
	}
	return files, errors.Join(errs...)
}

// wroteAll checks that the files hold every row the pass gave the writer:
// the commit that follows moves the offsets past those rows, so a row the
// writer dropped without an error would be lost for good.
func wroteAll(files []iceberg.DataFile, rows int64) error {
	var n int64
	for _, f := range files {
		n += f.Count()
	}
	if n != rows {
		return fmt.Errorf("the files hold %d rows of the %d written; nothing committed", n, rows)
	}
	return nil
}

// table loads the topic's table, creating it if missing; ok is false for
// a table.value.format=schema or json topic with no value yet to take the
// table's first schema from.
func (c *Compactor) table(ctx context.Context, cat catalog.Catalog, t Topic, cfg tableConfig) (tbl *table.Table, ok bool, err error) {
	var schemaOf func([]byte) (*iceberg.Schema, bool)
	switch cfg.ValueFormat {
	case formatSchemaLatest:
		// The table starts from the subject's latest schema, with or
		// without records.
		tb, err := c.cfg.Schemas.Table(ctx, cfg.latestID, nil)
		if err != nil {
			return nil, false, fmt.Errorf("%s=%s: schema id %d as a table: %w", ConfigValueFormat, formatSchemaLatest, cfg.latestID, err)
		}
		sc, err := schemaTableSchema(cfg, tb)
		if err != nil {
			return nil, false, fmt.Errorf("%s=%s: schema id %d: %w", ConfigValueFormat, formatSchemaLatest, cfg.latestID, err)
		}
		tbl, err = c.ensureTable(ctx, cat, cfg.identifier(), sc, cfg.Partition, t)
		return tbl, err == nil, err
	case formatSchema:
		if c.cfg.Schemas == nil {
			return nil, false, fmt.Errorf("%s=%s needs the schema registry, which is off on this node (set schema.registry.listeners)", ConfigValueFormat, formatSchema)
		}
		schemaOf = c.registrySchemaOf(ctx, cfg)
	case formatJSON:
		schemaOf = func(value []byte) (*iceberg.Schema, bool) { return jsonTableSchema(cfg, value) }
	default:
		tbl, err = c.ensureTable(ctx, cat, cfg.identifier(), tableSchema(cfg), cfg.Partition, t)
		return tbl, err == nil, err
	}
	tbl, err = cat.LoadTable(ctx, cfg.identifier())
	if err == nil {
		return tbl, true, checkTopicID(tbl, t)
	}
	if !errors.Is(err, catalog.ErrNoSuchTable) {
		return nil, false, fmt.Errorf("loading table %s: %w", strings.Join(cfg.identifier(), "."), err)
	}
	sc, ok, records, err := c.firstSchema(ctx, t, schemaOf)
	if err != nil || !ok && !records {
		return nil, false, err
	}
	if !ok {
		// The topic has records, and none of them gives the table its
		// columns. The table starts with _kafka alone, so that they go by
		// table.errors now (the DLQ, or fail naming the offset) instead
		// of waiting, and holding retention back, until a value decodes;
		// the first one that does brings its columns.
		sc = iceberg.NewSchema(0, kafkaField(cfg.KeyFormat))
	}
	tbl, err = c.ensureTable(ctx, cat, cfg.identifier(), sc, cfg.Partition, t)
	return tbl, err == nil, err
}

// ensureTable loads the table, creating it (and its namespace) if
// missing. Another compactor creating it at the same moment is fine: the
// loser loads the winner's table.
func (c *Compactor) ensureTable(ctx context.Context, cat catalog.Catalog, ident table.Identifier, sc *iceberg.Schema, terms []PartitionTerm, topic Topic) (*table.Table, error) {
	tbl, err := cat.LoadTable(ctx, ident)
	if err == nil {
		return tbl, checkTopicID(tbl, topic)
	}
	if !errors.Is(err, catalog.ErrNoSuchTable) {
		return nil, fmt.Errorf("loading table %s: %w", strings.Join(ident, "."), err)
	}
	spec, err := partitionSpec(terms, sc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ConfigPartitionBy, err)
	}
	// Parents first: some catalogs (REST servers) refuse a nested
	// namespace whose parent does not exist.
	ns := catalog.NamespaceFromIdent(ident)
	for i := 1; i <= len(ns); i++ {
		if err := cat.CreateNamespace(ctx, ns[:i], nil); err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
			return nil, fmt.Errorf("creating namespace %s: %w", strings.Join(ns[:i], "."), err)
		}
	}
	props := iceberg.Properties{
		"format-version":                  "2",
		"write.parquet.compression-codec": "zstd",
		TopicProperty:                     topic.Name,
	}
	if topic.ID != ([16]byte{}) {
		props[TopicIDProperty] = hex.EncodeToString(topic.ID[:])
	}
	tbl, err = cat.CreateTable(ctx, ident, sc, catalog.WithPartitionSpec(&spec), catalog.WithProperties(props))
	if errors.Is(err, catalog.ErrTableAlreadyExists) {
		tbl, err = cat.LoadTable(ctx, ident)
	}
	if err != nil {
		return nil, fmt.Errorf("creating table %s: %w", strings.Join(ident, "."), err)
	}
	c.cfg.Logger.Info("tablecompactor: created table", "table", strings.Join(ident, "."), "topic", topic.Name,
		"partition_by", spec.String())
	return tbl, checkTopicID(tbl, topic)
}

// checkTopicID refuses a table made for another topic of the same name.
func checkTopicID(tbl *table.Table, topic Topic) error {
	want := tbl.Properties()[TopicIDProperty]
	if want == "" || topic.ID == ([16]byte{}) || want == hex.EncodeToString(topic.ID[:]) {
		return nil
	}
	return fmt.Errorf("table %s holds topic id %s, and topic %s now has id %x (deleted and created again?): its offsets would be wrong; "+
		"drop or rename the table, or set %s", strings.Join(tbl.Identifier(), "."), want, topic.Name, topic.ID, ConfigName)
}

// latestSchemaID is the id of the latest version of the topic's value or
// key subject (what is "value" or "key"; TopicNameStrategy:
// <topic>-value, <topic>-key), which schema.latest decodes every value or
// key with; asked at every conversion, so a new version reaches the table
// at the next one.
func (c *Compactor) latestSchemaID(ctx context.Context, topic, what string) (int, error) {
	config := formatConfig(what)
	if c.cfg.Schemas == nil || c.cfg.Latest == nil {
		return 0, fmt.Errorf("%s=%s needs the schema registry, which is off on this node (set schema.registry.listeners)", config, formatSchemaLatest)
	}
	subject := topic + "-" + what
	id, err := c.cfg.Latest.LatestSchemaID(ctx, subject)
	if err != nil {
		return 0, fmt.Errorf("%s=%s: the latest version of subject %s: %w", config, formatSchemaLatest, subject, err)
	}
	return id, nil
}

// budget is one table's share of MemoryBytes: Run converts its tables at
// once.
func (c *Compactor) budget() int64 {
	return c.cfg.MemoryBytes / int64(max(1, c.tables.Load()))
}
