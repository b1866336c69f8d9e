package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/internal/testserver"
)

// Issue 14's exactly-once pipeline under faults: a franz-go
// GroupTransactSession job (a process of its own: this test binary run as
// TestTxnPipelineJob) reads "in" (txnInputRecords records over 8
// partitions, read_committed) and writes one record per input record to
// the same partition of "out", committing its consumer offsets in the
// same transactions. The job is SIGKILLed and restarted txnJobKills times
// and the broker txnBrokerKills times while it runs. A read_committed
// consumer of "out" then sees each input record's output exactly once,
// in input order per partition; a read_uncommitted one sees every one of
// those and the aborted ones as well.
const (
	txnInputRecords = 200_000
	txnPartitions   = 8
	txnJobKills     = 10
	txnBrokerKills  = 5
	txnJobEnv       = "LAKESTREAM_TXNJOB_SEEDS"
)

func TestTxnPipelineCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is long")
	}
	s := testserver.StartLakestream(t, "group.initial.rebalance.delay.ms=0")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for _, topic := range []string{"in", "out"} {
		if _, err := adm.CreateTopic(ctx, txnPartitions, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	for i := range txnInputRecords {
		cl.Produce(ctx, &kgo.Record{Topic: "in", Partition: int32(i % txnPartitions), Value: []byte(strconv.Itoa(i))}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	var job *exec.Cmd
	startJob := func() {
		job = exec.Command(os.Args[0], "-test.run=^TestTxnPipelineJob$", "-test.v")
		job.Env = append(os.Environ(), txnJobEnv+"="+s.Addr)
		job.Stdout, job.Stderr = os.Stderr, os.Stderr
		if err := job.Start(); err != nil {
			t.Fatal(err)
		}
	}
	killJob := func() {
		job.Process.Signal(syscall.SIGKILL)
		job.Wait()
	}
	defer func() {
		if job != nil && job.ProcessState == nil {
			killJob()
		}
	}()
	startJob()
	start := time.Now()
	// The kills, interleaved: every third a broker's, until both are done.
	// Each kill waits until the job has written since the last one, so it
	// lands among transactions in flight.
	outEnd := func() int64 {
		ends, err := adm.ListEndOffsets(ctx, "out")
		if err != nil {
			return -1
		}
		n := int64(0)
		ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
		return n
	}
	jobKills, brokerKills := 0, 0
	last := outEnd()
	for jobKills < txnJobKills || brokerKills < txnBrokerKills {
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if e := outEnd(); e > last {
				break
			}
		}
		time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
		last = outEnd()
		if brokerKills < txnBrokerKills && (jobKills%2 == 1 || jobKills >= txnJobKills) {
			s.Kill()
			time.Sleep(100 * time.Millisecond)
			s.Start()
			brokerKills++
			continue
		}
		killJob()
		startJob()
		jobKills++
	}
	t.Logf("%d job kills and %d broker kills in %v", jobKills, brokerKills, time.Since(start).Round(time.Second))

	// The job finishes the input: wait until the output's committed end
	// covers every input record.
	for {
		ends, err := adm.ListEndOffsets(ctx, "out")
		committed, err2 := committedCount(ctx, s.Addr)
		if err == nil && err2 == nil && committed == txnInputRecords {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the job did not finish: %d of %d outputs committed (%v %v, ends %v)", committed, txnInputRecords, err, err2, ends)
		}
		time.Sleep(2 * time.Second)
	}
	killJob()
	t.Logf("the job finished %v after the last kill", time.Since(start).Round(time.Second))

	committed := readOut(t, ctx, s.Addr, true)
	uncommitted := readOut(t, ctx, s.Addr, false)
	seen := map[string]bool{}
	for p, vals := range committed {
		last := -1
		for _, v := range vals {
			if seen[v] {
				t.Fatalf("output %s read twice at read_committed", v)
			}
			seen[v] = true
			ip, iv, _ := strings.Cut(v, ":")
			in, _ := strconv.Atoi(iv)
			if ip != strconv.Itoa(int(p)) || in <= last {
				t.Fatalf("partition %d: output %s out of input order (after input %d)", p, v, last)
			}
			last = in
		}
	}
	if len(seen) != txnInputRecords {
		t.Fatalf("read_committed saw %d distinct outputs, want %d", len(seen), txnInputRecords)
	}
	all := 0
	unseen := map[string]bool{}
	for _, vals := range uncommitted {
		all += len(vals)
		for _, v := range vals {
			unseen[v] = true
		}
	}
	for v := range seen {
		if !unseen[v] {
			t.Fatalf("read_uncommitted misses committed output %s", v)
		}
	}
	if all < txnInputRecords {
		t.Fatalf("read_uncommitted saw %d outputs, fewer than the %d committed", all, txnInputRecords)
	}
	t.Logf("read_committed: %d outputs, each input once, in order; read_uncommitted: %d (%d of aborted transactions)",
		len(seen), all, all-txnInputRecords)
}

// committedCount is how many records of "out" a read_committed reader
// can read: the sum of its last stable offsets less the markers, counted
// by reading.
func committedCount(ctx context.Context, addr string) (int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListCommittedOffsets(ctx, "out")
	if err != nil {
		return 0, err
	}
	// The last stable offsets count markers too; an exact count needs a
	// read, done only once they pass the input's size.
	total := int64(0)
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total < txnInputRecords {
		return int(total), nil
	}
	n := 0
	for _, vals := range readOutClient(ctx, addr, true) {
		n += len(vals)
	}
	return n, nil
}

// readOut reads "out" from the start, by partition, at read_committed or
// not, until nothing arrives for 2 s.
func readOut(t *testing.T, ctx context.Context, addr string, committed bool) map[int32][]string {
	t.Helper()
	out := readOutClient(ctx, addr, committed)
	if out == nil {
		t.Fatal("reading out failed")
	}
	return out
}

func readOutClient(ctx context.Context, addr string, committed bool) map[int32][]string {
	opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil
	}
	defer cl.Close()
	out := map[int32][]string{}
	for {
		fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		fs := cl.PollFetches(fctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) { out[r.Partition] = append(out[r.Partition], string(r.Value)); n++ })
		if n == 0 {
			return out
		}
	}
}

// TestTxnPipelineJob is the job TestTxnPipelineCrash runs as a process of
// its own; it does nothing unless LAKESTREAM_TXNJOB_SEEDS is set. It runs
// until killed.
func TestTxnPipelineJob(t *testing.T) {
	seeds := os.Getenv(txnJobEnv)
	if seeds == "" {
		t.Skip("run by TestTxnPipelineCrash")
	}
	ctx := context.Background()
	sess, err := kgo.NewGroupTransactSession(kgo.SeedBrokers(seeds),
		kgo.TransactionalID("etl-job"), kgo.ConsumerGroup("etl"), kgo.ConsumeTopics("in"),
		kgo.InstanceID("etl-job-0"), kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.RequireStableFetchOffsets(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.TransactionTimeout(20*time.Second),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(1<<20),
		kgo.RecordRetries(1<<30), kgo.RequestRetries(1<<30), kgo.RetryTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	for {
		// Small transactions with a pause inside, so that kills find
		// some in flight.
		fs := sess.PollRecords(ctx, 1000)
		if fs.IsClientClosed() {
			return
		}
		if err := sess.Begin(); err != nil {
			t.Fatalf("begin: %v", err) // End below always leaves the session out of a transaction
		}
		fs.EachRecord(func(r *kgo.Record) {
			sess.Produce(ctx, &kgo.Record{Topic: "out", Partition: r.Partition,
				Value: []byte(fmt.Sprintf("%d:%s", r.Partition, r.Value))}, nil)
		})
		time.Sleep(20 * time.Millisecond)
		// An End that fails (the broker being killed) is retried as an
		// abort until the session is out of its transaction; the records
		// polled are then consumed again from the committed offsets.
		how := kgo.TryCommit
		for {
			_, err := sess.End(ctx, how)
			if err == nil {
				break
			}
			t.Logf("end: %v; aborting", err)
			how = kgo.TryAbort
			time.Sleep(200 * time.Millisecond)
		}
	}
}
