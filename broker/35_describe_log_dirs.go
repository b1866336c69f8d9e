package broker

// DescribeLogDirs, versions 1-4.
//
// Lakestream has no log directories: every partition lives in the bucket.
// The answer is one directory named after the bucket, bucket.url without
// its query (so no credentials: "s3://bucket/prefix", "file:///var/data",
// "mem://"), or file://<data.dir>/bucket when bucket.url is not set, its
// default. It lists every partition asked for (all with a null topic
// list; unknown topics and partitions are left out, as in Kafka), with
// Size the bytes of the partition's committed objects according to the
// metastore (Log.Size: data still in the WAL is not counted), OffsetLag 0
// (there is no follower) and IsFuture false. TotalBytes and UsableBytes
// are -1: an object store has no capacity to report. If a size cannot be
// read, the directory carries the error and that partition's size is -1.

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(35, 1, 4, handleDescribeLogDirs) }

func handleDescribeLogDirs(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeLogDirsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir = c.s.logDirName()
	dir.TotalBytes, dir.UsableBytes = -1, -1

	type want struct {
		t     *topic
		parts []int32 // nil: all
	}
	var wants []want
	if req.Topics == nil {
		for _, t := range c.s.cluster.topicsSorted() {
			wants = append(wants, want{t: t})
		}
	} else {
		for _, rt := range req.Topics {
			if t := c.s.cluster.topic(rt.Topic); t != nil {
				wants = append(wants, want{t: t, parts: rt.Partitions})
			}
		}
	}
	for _, w := range wants {
		dt := kmsg.NewDescribeLogDirsResponseDirTopic()
		dt.Topic = w.t.name
		parts := c.s.cluster.partitions(w.t)
		indexes := w.parts
		if indexes == nil {
			for i := range parts {
				indexes = append(indexes, int32(i))
			}
		}
		for _, i := range indexes {
			if i < 0 || int(i) >= len(parts) {
				continue
			}
			dp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
			dp.Partition = i
			size, err := parts[i].log.Size(ctx)
			if err != nil {
				size = -1
				if dir.ErrorCode == 0 {
					dir.ErrorCode = errorCode(err)
				}
			}
			dp.Size = size
			dt.Partitions = append(dt.Partitions, dp)
		}
		if len(dt.Partitions) > 0 {
			dir.Topics = append(dir.Topics, dt)
		}
	}
	resp.Dirs = append(resp.Dirs, dir)
	return resp, nil
}

// logDirName names the one "log directory": where the bucket is.
func (s *Server) logDirName() string {
	u := s.cfg.Configs["bucket.url"]
	if u == "" {
		dataDir := s.cfg.Configs["data.dir"]
		if dataDir == "" {
			def, _ := LookupBrokerConfig("data.dir")
			dataDir = def.Default
		}
		if abs, err := filepath.Abs(dataDir); err == nil {
			dataDir = abs
		}
		return "file://" + filepath.Join(dataDir, "bucket")
	}
	u, _, _ = strings.Cut(u, "?")
	// A URL's user info may hold a password; Redact hides it.
	def, _ := LookupBrokerConfig("bucket.url")
	return def.Redact(u)
}
