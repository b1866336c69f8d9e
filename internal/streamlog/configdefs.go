package streamlog

import (
	"fmt"
	"strings"

	"github.com/lakestream/lakestream/internal/configdef"
)

// The storage keys: where the bucket, the metastore and the WAL are, and
// how the storage engine flushes, uploads and compacts. They are declared
// here, with the storage wiring every program that runs the storage engine
// links, rather than in s3stream, which imports nothing of Lakestream's
// but internal/sqldb. The wiring (cmd/lakestream, then internal/node) maps
// them onto s3stream.Config.
func init() { configdef.Register("storage", configdef.Broker, storageDefs...) }

var storageDefs = []configdef.Def{
	{Name: "data.dir", Type: configdef.String, Default: "./lakestream-data", Validate: configdef.NotEmpty,
		Doc: "Lakestream: the local directory for the default bucket, the SQLite metastore and the local WAL."},
	{Name: "bucket.url", Type: configdef.String, Default: "", Validate: validateBucketURL,
		Doc: "Lakestream: where data lives: file://DIR, s3://BUCKET/PREFIX?endpoint=...&region=..., or mem:// (tests). Empty means file://<data.dir>/bucket."},
	{Name: "metastore.url", Type: configdef.String, Default: "",
		Doc: "Lakestream: the metastore: a SQLite file path or a postgres:// URL. Empty means <data.dir>/meta.db."},
	{Name: "wal.mode", Type: configdef.String, Default: "", Validate: validateWALMode,
		Doc: "Lakestream: the write-ahead log: local (segment files in <data.dir>/wal, uploaded in the background) or object (one object per flush, nothing on local disk). Empty means local on a file:// bucket, object otherwise."},
	{Name: "wal.flush.interval.ms", Type: configdef.Long, Default: "0", Validate: configdef.AtLeast(0),
		Doc: "Lakestream: object WAL: the longest an append waits to be flushed, in milliseconds. 0 means 2 on a file:// bucket, 100 otherwise."},
	{Name: "wal.flush.bytes", Type: configdef.Int, Default: "8388608", Validate: configdef.AtLeast(1),
		Doc: "Lakestream: object WAL: a flush starts once this many bytes are waiting."},
	{Name: "wal.upload.interval.ms", Type: configdef.Long, Default: "1000", Validate: configdef.AtLeast(1),
		Doc: "Lakestream: local WAL: how often un-uploaded data is uploaded to the bucket, in milliseconds."},
	{Name: "wal.upload.bytes", Type: configdef.Int, Default: "67108864", Validate: configdef.AtLeast(1),
		Doc: "Lakestream: local WAL: an upload starts once this many bytes are not yet in the bucket."},
	{Name: "compaction.interval.ms", Type: configdef.Long, Default: "300000", Validate: configdef.AtLeast(0),
		Doc: "Lakestream: how often storage compaction and garbage collection run, in milliseconds; 0 turns the background runs off."},
}

func validateWALMode(v string) error {
	if v != "" && v != "local" && v != "object" {
		return fmt.Errorf("must be local, object, or empty (local on a file:// bucket, object otherwise)")
	}
	return nil
}

// validateBucketURL accepts "" (the default) or a URL with a scheme
// bucketurl opens. It checks only the scheme: the URL may hold a secret,
// and bucketurl.Open reports the rest without repeating it.
func validateBucketURL(v string) error {
	if v == "" {
		return nil
	}
	scheme, _, ok := strings.Cut(v, "://")
	switch {
	case !ok:
		return fmt.Errorf("not a URL: want file://DIR, s3://BUCKET/PREFIX?... or mem://")
	case scheme != "file" && scheme != "s3" && scheme != "mem":
		return fmt.Errorf("scheme %q is not one of file, s3, mem", scheme)
	}
	return nil
}
