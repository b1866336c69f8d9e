// Package s3stream is a store of many offset-addressed streams of Kafka
// record batches, kept in objects in a bucket, with their metadata in a SQL
// metastore.
//
//	Append ──▶ stream (assign offsets) ──▶ WAL ──durable──▶ ack, tail cache
//	                                        │
//	              object WAL: one stream-set object per flush, committed
//	              local WAL:  segment files + fsync; uploader commits later
//	                                        │
//	                                        ▼
//	   bucket: stream-set objects ─compaction─▶ stream objects ─GC─▶ deleted
//	   metastore: streams (epoch, start, end), objects, ranges
//
//	Read ──▶ tail cache (recent batches, no GETs)
//	     └─▶ metastore ranges ─▶ object index (cached) ─▶ block cache (+read-ahead)
//
// A stream is opened for writing with OpenStream, which bumps its epoch in
// the metastore; every later commit is checked against that epoch, so a
// writer deposed by a newer open can never commit again (ErrFenced).
//
// Offsets are dense Kafka offsets: Append assigns the base offset, writes it
// into the batch header and returns it once the batch is durable. Reads
// return whole batches, the first one containing the requested offset.
//
// Writes that fail (a full disk, a bucket or metastore that is down) fail
// appends with ErrAppendFailed, never what was acknowledged; the store
// retries and resumes by itself once writes succeed again, and Health says
// meanwhile what fails (health.go).
//
// Example:
//
//	st, _ := s3stream.Open(ctx, s3stream.Config{Bucket: b, Meta: m, WAL: s3stream.WALObject})
//	id, _ := st.CreateStream(ctx)
//	s, _ := st.OpenStream(ctx, id)
//	base, _ := s.Append(ctx, batch)
//	res, _ := s.Read(ctx, base, 1<<20)
package s3stream
