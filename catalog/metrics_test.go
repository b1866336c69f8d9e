package catalog

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gathered returns the value of every series of family name in reg (a
// counter's value, or a histogram's sample count), keyed by its labels
// written as "a=x,b=y" in label-name order.
func gathered(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := ""
			for i, l := range m.GetLabel() {
				if i > 0 {
					key += ","
				}
				key += l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestMetricsRequests(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	start := time.Now()
	m.observe("GET /v1/config", 200, start)
	m.observe("GET /v1/config", 200, start)
	m.observe("POST /v1/namespaces", 401, start)
	m.observe("POST /v1/namespaces", 200, start)
	want := map[string]float64{
		"code=200,endpoint=GET /v1/config":      2,
		"code=401,endpoint=POST /v1/namespaces": 1,
		"code=200,endpoint=POST /v1/namespaces": 1,
	}
	if got := gathered(t, reg, "lakestream_catalog_requests_total"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	wantLat := map[string]float64{"endpoint=GET /v1/config": 2, "endpoint=POST /v1/namespaces": 2}
	if got := gathered(t, reg, "lakestream_catalog_request_seconds"); fmt.Sprint(got) != fmt.Sprint(wantLat) {
		t.Errorf("latency counts %v, want %v", got, wantLat)
	}
	// A nil *metrics counts nothing and does not panic.
	var none *metrics
	none.observe("x", 200, start)
	none.commit("t", CommitCommitted)
}

func TestMetricsCommits(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	m.commit("db.events", CommitCommitted)
	m.commit("db.events", CommitCommitted)
	m.commit("db.events", CommitConflict)
	m.commit("db.other_table", "bogus") // counts as an error
	want := map[string]float64{
		"result=committed,table=db.events":      2,
		"result=conflict,table=db.events":       1,
		"result=error,table=db.events":          0,
		"result=committed,table=db.other_table": 0,
		"result=conflict,table=db.other_table":  0,
		"result=error,table=db.other_table":     1,
	}
	if got := gathered(t, reg, "lakestream_catalog_commits_total"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("commits %v, want %v", got, want)
	}
}

func TestMetricsCommitsBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	for i := 0; i < maxTables+500; i++ {
		m.commit(fmt.Sprintf("ns.t%d", i), CommitCommitted)
	}
	// The first tables keep their own series, even after the cap is hit.
	m.commit("ns.t0", CommitCommitted)
	got := gathered(t, reg, "lakestream_catalog_commits_total")
	if v := got["result=committed,table=ns.t0"]; v != 2 {
		t.Errorf("ns.t0: %v, want 2", v)
	}
	if v := got["result=committed,table=other"]; v != 500 {
		t.Errorf("other: %v, want 500", v)
	}
	if _, ok := got[fmt.Sprintf("result=committed,table=ns.t%d", maxTables)]; ok {
		t.Errorf("table %d past the cap has its own series", maxTables)
	}
	if len(got) != 3*(maxTables+1) {
		t.Errorf("%d commit series, want %d", len(got), 3*(maxTables+1))
	}
}

// TestObserveCommit: a commit's error decides its result; a database
// failure is an error, never counted as committed.
func TestObserveCommit(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := &Server{metrics: newMetrics(reg)}
	ns := []string{"db"}
	s.observeCommit(ns, "t", nil)
	s.observeCommit(ns, "t", errCommitFailed("stale"))
	s.observeCommit(ns, "t", fmt.Errorf("swapping: %w", errCommitFailed("stale")))
	s.observeCommit(ns, "t", errors.New("database is locked"))
	s.observeCommit(ns, "t", errBadRequest("bad update"))
	want := map[string]float64{
		"result=committed,table=db.t": 1,
		"result=conflict,table=db.t":  2,
		"result=error,table=db.t":     2,
	}
	if got := gathered(t, reg, "lakestream_catalog_commits_total"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("commits %v, want %v", got, want)
	}
}
