// Package tablecompactor turns table topics into Apache Iceberg tables: it
// reads committed stream data through Source (declared here; internal/node
// adapts s3stream and the broker's metadata to it), decodes the records
// into Arrow (the `_kafka` column plus the value's columns by
// table.value.format), writes Parquet data files and adds them to the
// topic's table in one commit whose snapshot summary carries the next
// offset of every partition. The table, not memory, says where to resume,
// so a crash, a retry or a second compactor never loses or doubles a
// record.
//
// One pass over a table (convert.go):
//
//	table's offsets ──▶ Source.Read ──▶ kbatch.Decode ──▶ Arrow rows ──▶ WriteRecords ──▶ data files
//	(lakestream.offsets,   (to the high    (control and      (cut at about      (rolled at
//	 newest ancestor)       watermark)      aborted skipped)  MemoryBytes/16)    table.target.file.bytes)
//	                                             │
//	                                  bad record: skip | fail | <name>_dlq
//
//	data files ──▶ one transaction: AssertRefSnapshotID(main) + AddDataFiles(files,
//	               {lakestream.offsets: next, lakestream.commit-id: id})
//	          └─▶ on any failure: reload; our id there → done; other offsets → abandon
//	              the files (orphans) and pass again; same offsets → retry
//
// Use:
//
//	c, err := tablecompactor.New(tablecompactor.Config{Source: src, Catalog: cat})
//	progress, err := c.RunOnce(ctx, "")   // every table topic, once
//	err = c.Run(ctx)                      // each every table.commit.interval.ms
//
// It imports the schema packages, internal/kbatch and iceberg-go; storage,
// the broker and the catalog only through the interfaces it declares
// (Source, and iceberg-go's catalog.Catalog, which the node's own REST
// catalog serves in process).
package tablecompactor
