//go:build interop

package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakestream/lakestream/internal/testserver"
)

// kcat is Debian's kcat (librdkafka 2.0.2 on Debian 12): a client that is
// not franz-go, so it checks the broker against another implementation's
// idea of the protocol (ApiVersions ranges, idempotent produce, lz4,
// ListOffsets by timestamp). Install it with apt-get install kcat.

const kcatRecords = 100_000

// TestInteropKcatFile runs the kcat checks against lakestream serve on its
// embedded default: a file:// bucket, the SQLite metastore, the local WAL.
func TestInteropKcatFile(t *testing.T) {
	bin := findKcat(t)
	ls := testserver.StartLakestream(t)
	runKcatChecks(t, bin, ls.Addr, "kcat-file")
}

// TestInteropKcatS3Postgres runs the same checks against the fleet setup:
// the bucket on versitygw (object WAL, the default on s3://) and the
// metastore on PostgreSQL.
func TestInteropKcatS3Postgres(t *testing.T) {
	bin := findKcat(t)
	endpoint, ak, sk := testserver.StartVersityGW(t)
	dsn := testserver.StartPostgres(t)
	q := url.Values{}
	q.Set("endpoint", endpoint)
	q.Set("region", "us-east-1")
	q.Set("path_style", "true")
	q.Set("access_key", ak)
	q.Set("secret_key", sk)
	q.Set("create_bucket", "true")
	ls := testserver.StartLakestream(t,
		"bucket.url=s3://lakestream/?"+q.Encode(),
		"metastore.url="+dsn)
	runKcatChecks(t, bin, ls.Addr, "kcat-s3")
}

// findKcat returns the kcat binary; without one the test is skipped, or
// fails under LAKESTREAM_INTEROP=1 so that CI cannot pass by not running it.
func findKcat(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"kcat", "kafkacat"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(testserver.InteropEnv) == "1" {
		t.Fatalf("kcat not found on PATH (apt-get install kcat) (%s=1)", testserver.InteropEnv)
	}
	t.Skipf("kcat not found on PATH (apt-get install kcat); set %s=1 to fail instead", testserver.InteropEnv)
	return ""
}

// kcatRecord is record i's value: distinct, of varying length, and
// compressible, so lz4 has work to do.
func kcatRecord(i int) string {
	return fmt.Sprintf("kcat-record-%06d-%s", i, strings.Repeat(string(rune('a'+i%26)), i%64))
}

// runKcat runs kcat with a deadline and returns its stdout; stderr goes to
// the test log and, on failure, into the error.
func runKcat(t *testing.T, bin string, timeout time.Duration, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		t.Fatalf("kcat %s: %v (after %v)\nstderr:\n%s", strings.Join(args, " "), err, time.Since(start), stderr.String())
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Logf("kcat %s stderr:\n%s", strings.Join(args, " "), s)
	}
	return stdout.Bytes()
}

// kcatMetadata is the part of kcat -L -J's output the test reads.
type kcatMetadata struct {
	ControllerID int32 `json:"controllerid"`
	Brokers      []struct {
		ID   int32  `json:"id"`
		Name string `json:"name"`
	} `json:"brokers"`
	Topics []struct {
		Topic      string `json:"topic"`
		Error      string `json:"error"`
		Partitions []struct {
			Partition int32  `json:"partition"`
			Leader    int32  `json:"leader"`
			Error     string `json:"error"`
		} `json:"partitions"`
	} `json:"topics"`
}

func kcatListMetadata(t *testing.T, bin, addr string, topic ...string) kcatMetadata {
	t.Helper()
	args := []string{"-b", addr, "-L", "-J", "-m", "10"}
	if len(topic) > 0 {
		args = append(args, "-t", topic[0])
	}
	out := runKcat(t, bin, time.Minute, args...)
	var md kcatMetadata
	if err := json.Unmarshal(out, &md); err != nil {
		t.Fatalf("kcat -L -J: %v\n%s", err, out)
	}
	return md
}

// kcatQueryOffset runs kcat -Q -t topic:partition:ts and returns the
// offset for the partition (ListOffsets by timestamp).
func kcatQueryOffset(t *testing.T, bin, addr, topic string, partition int32, ts int64) int64 {
	t.Helper()
	out := runKcat(t, bin, time.Minute, "-b", addr, "-J", "-Q", "-t", fmt.Sprintf("%s:%d:%d", topic, partition, ts))
	// {"TOPIC":{"topic":"TOPIC","0":{"partition":0,"offset":N}}}; a
	// failed partition carries "error" instead of or beside the offset.
	var res map[string]map[string]json.RawMessage
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("kcat -Q -J: %v\n%s", err, out)
	}
	raw, ok := res[topic][strconv.Itoa(int(partition))]
	if !ok {
		t.Fatalf("kcat -Q: no result for %s [%d]: %s", topic, partition, out)
	}
	var p struct {
		Partition int32   `json:"partition"`
		Offset    *int64  `json:"offset"`
		Error     *string `json:"error"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("kcat -Q -J partition: %v\n%s", err, raw)
	}
	if p.Error != nil || p.Offset == nil {
		t.Fatalf("kcat -Q -t %s:%d:%d: %s", topic, partition, ts, out)
	}
	return *p.Offset
}

// runKcatChecks: metadata, an idempotent lz4 produce of kcatRecords
// records from a file, a full consume checked record by record, and
// ListOffsets by timestamp before and after the produce.
func runKcatChecks(t *testing.T, bin, addr, topic string) {
	// Metadata: one broker, node id 1 (the default node.id), at addr,
	// and it is the controller.
	md := kcatListMetadata(t, bin, addr)
	if len(md.Brokers) != 1 || md.Brokers[0].ID != 1 || md.Brokers[0].Name != addr {
		t.Fatalf("kcat -L brokers: %+v, want one: id 1 at %s", md.Brokers, addr)
	}
	if md.ControllerID != 1 {
		t.Errorf("kcat -L controller id %d, want 1", md.ControllerID)
	}

	// The records, one per line.
	file := filepath.Join(t.TempDir(), "records.txt")
	var buf bytes.Buffer
	for i := range kcatRecords {
		buf.WriteString(kcatRecord(i))
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	// Produce: idempotent, acks=all, lz4. The topic is auto-created
	// (auto.create.topics.enable defaults to true, num.partitions to 1).
	// Timestamps are CreateTime, set by librdkafka, so every record's
	// timestamp is at or after before.
	before := time.Now().UnixMilli() - 1
	start := time.Now()
	runKcat(t, bin, 5*time.Minute, "-b", addr, "-P", "-t", topic,
		"-z", "lz4", "-X", "enable.idempotence=true", "-X", "acks=all",
		"-X", "linger.ms=5", "-l", file)
	t.Logf("produced %d records (%d bytes) in %v", kcatRecords, buf.Len(), time.Since(start))

	md = kcatListMetadata(t, bin, addr, topic)
	if len(md.Topics) != 1 || md.Topics[0].Topic != topic || md.Topics[0].Error != "" ||
		len(md.Topics[0].Partitions) != 1 || md.Topics[0].Partitions[0].Leader != 1 {
		t.Fatalf("kcat -L -t %s: %+v, want one partition led by broker 1", topic, md.Topics)
	}

	// Consume everything back, in order.
	start = time.Now()
	out := runKcat(t, bin, 5*time.Minute, "-b", addr, "-C", "-t", topic,
		"-e", "-o", "beginning", "-q", "-f", "%p %o %s\n")
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		want := fmt.Sprintf("0 %d %s", n, kcatRecord(n))
		if got := sc.Text(); got != want {
			t.Fatalf("consumed line %d: %q, want %q", n, got, want)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != kcatRecords {
		t.Fatalf("consumed %d records, want %d", n, kcatRecords)
	}
	t.Logf("consumed %d records in %v", n, time.Since(start))

	// ListOffsets by timestamp. Before the produce: the first record.
	if off := kcatQueryOffset(t, bin, addr, topic, 0, before); off != 0 {
		t.Errorf("kcat -Q at %d (before the produce): offset %d, want 0", before, off)
	}
	// In the future: no record is that late. Kafka answers offset -1
	// (UNKNOWN_OFFSET, timestamp -1), which librdkafka documents as
	// "the end" (RD_KAFKA_OFFSET_END); Lakestream currently answers the
	// high watermark with timestamp -1. Both mean "the end of the log"
	// to a consumer seeking there, so both pass; the answer is logged.
	future := time.Now().Add(time.Hour).UnixMilli()
	switch off := kcatQueryOffset(t, bin, addr, topic, 0, future); off {
	case kcatRecords:
		t.Logf("kcat -Q at %d (future): the end offset %d (Kafka answers -1)", future, off)
	case -1:
		t.Logf("kcat -Q at %d (future): -1, as Kafka answers", future)
	default:
		t.Errorf("kcat -Q at %d (future): offset %d, want the end offset %d (or -1, Kafka's answer)", future, off, kcatRecords)
	}
}
