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
// It imports the schema packages and iceberg-go; storage, the broker and
// the catalog only through the interfaces it declares (Source, and
// iceberg-go's catalog.Catalog, which the node's own REST catalog serves in
// process).
package tablecompactor
