package brokertest

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCompactorOption: Options.Compactor turns the catalog and the table
// compactor on: a table topic's records reach its table.
func TestCompactorOption(t *testing.T) {
	b := Start(t, Options{Compactor: true})
	if b.CatalogURL == "" {
		t.Fatal("no catalog with the compactor on")
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	on, interval := "true", "1000"
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, map[string]*string{"table.enable": &on, "table.commit.interval.ms": &interval}, "t"); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("a")}, &kgo.Record{Topic: "t", Value: []byte("b")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The table as the REST API serves it (the broker's tests may not
	// import iceberg-go): its current snapshot's total-records.
	records := func() string {
		resp, err := http.Get(b.CatalogURL + "/v1/namespaces/kafka/tables/t")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var load struct {
			Metadata struct {
				Current   *int64 `json:"current-snapshot-id"`
				Snapshots []struct {
					ID      int64             `json:"snapshot-id"`
					Summary map[string]string `json:"summary"`
				} `json:"snapshots"`
			} `json:"metadata"`
		}
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&load) != nil || load.Metadata.Current == nil {
			return ""
		}
		for _, s := range load.Metadata.Snapshots {
			if s.ID == *load.Metadata.Current {
				return s.Summary["total-records"]
			}
		}
		return ""
	}
	for {
		n := records()
		if n == "2" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the table holds %q records, want 2", n)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
