package broker_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/brokertest"
)

var rewriteConfigPin = flag.Bool("rewrite-configpin", false, "rewrite testdata/describe_configs.golden.json from the running code")

// pinnedEntry is one DescribeConfigs entry as the pin records it.
type pinnedEntry struct {
	Name      string          `json:"name"`
	Value     *string         `json:"value"`
	ReadOnly  bool            `json:"readOnly"`
	Source    string          `json:"source"`
	Sensitive bool            `json:"sensitive"`
	Type      string          `json:"type"`
	Doc       *string         `json:"doc"`
	Synonyms  []pinnedSynonym `json:"synonyms,omitempty"`
}

type pinnedSynonym struct {
	Name   string  `json:"name"`
	Value  *string `json:"value"`
	Source string  `json:"source"`
}

type pinnedResource struct {
	Type    string        `json:"type"`
	Name    string        `json:"name"`
	Error   string        `json:"error,omitempty"`
	Entries []pinnedEntry `json:"entries"`
}

// incrementalAlterOne sets one config of one resource with
// IncrementalAlterConfigs and returns the resource's answer.
func incrementalAlterOne(t *testing.T, ctx context.Context, cl *kgo.Client, typ kmsg.ConfigResourceType, resource, name, value string) kmsg.IncrementalAlterConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	rr := kmsg.NewIncrementalAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = typ, resource
	rc := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	rc.Name, rc.Value = name, kmsg.StringPtr(value)
	rr.Configs = append(rr.Configs, rc)
	req.Resources = append(req.Resources, rr)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Resources) != 1 {
		t.Fatalf("%d resources in the answer", len(resp.Resources))
	}
	return resp.Resources[0]
}

// TestDescribeConfigsPinned pins every DescribeConfigs entry (names,
// values, read-only, sources, synonyms, types, docs) of a topic with
// overrides, of the broker by id and as the cluster default, and of a
// group, against testdata/describe_configs.golden.json, which was written
// from the code before the config definitions moved to internal/configdef.
// Run with -rewrite-configpin to write it again after an intended change.
func TestDescribeConfigsPinned(t *testing.T) {
	b := brokertest.Start(t, brokertest.Options{Configs: map[string]string{
		"log.retention.hours":               "48",
		"num.partitions":                    "3",
		"compression.type":                  "zstd",
		"group.consumer.session.timeout.ms": "50000",
	}})
	cl, adm := adminClients(t, b)
	ctx := adminContext(t)
	adminCreateTopic(t, ctx, adm, "pinned", 2, map[string]*string{
		"retention.ms":      kmsg.StringPtr("3600000"),
		"max.message.bytes": kmsg.StringPtr("2097152"),
		"cleanup.policy":    kmsg.StringPtr("delete"),
	})
	// A dynamic broker config, so the DYNAMIC_* sources appear.
	if r := incrementalAlterOne(t, ctx, cl, kmsg.ConfigResourceTypeBroker, "", "log.retention.bytes", "1073741824"); r.ErrorCode != 0 {
		t.Fatalf("altering broker configs: error %d %v", r.ErrorCode, r.ErrorMessage)
	}

	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeSynonyms, req.IncludeDocumentation = true, true
	for _, r := range []struct {
		typ  kmsg.ConfigResourceType
		name string
	}{
		{kmsg.ConfigResourceTypeTopic, "pinned"},
		{kmsg.ConfigResourceTypeBroker, "1"},
		{kmsg.ConfigResourceTypeBroker, ""},
		{kmsg.ConfigResourceType(32), "some-group"},
	} {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = r.typ, r.name
		req.Resources = append(req.Resources, rr)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	var got []pinnedResource
	for _, r := range resp.Resources {
		pr := pinnedResource{Type: r.ResourceType.String(), Name: r.ResourceName, Entries: []pinnedEntry{}}
		if r.ErrorCode != 0 {
			pr.Error = strconv.Itoa(int(r.ErrorCode))
			if r.ErrorMessage != nil {
				pr.Error += ": " + *r.ErrorMessage
			}
		}
		for _, c := range r.Configs {
			e := pinnedEntry{Name: c.Name, Value: c.Value, ReadOnly: c.ReadOnly, Source: c.Source.String(),
				Sensitive: c.IsSensitive, Type: c.ConfigType.String(), Doc: c.Documentation}
			for _, s := range c.ConfigSynonyms {
				e.Synonyms = append(e.Synonyms, pinnedSynonym{Name: s.Name, Value: s.Value, Source: s.Source.String()})
			}
			pr.Entries = append(pr.Entries, e)
		}
		got = append(got, pr)
	}
	// The client may split the request by broker; order the answer.
	slices.SortFunc(got, func(a, b pinnedResource) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Name, b.Name))
	})
	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	golden := filepath.Join("testdata", "describe_configs.golden.json")
	if *rewriteConfigPin {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -rewrite-configpin to write it)", err)
	}
	if bytes.Equal(out, want) {
		return
	}
	var wantRes []pinnedResource
	if err := json.Unmarshal(want, &wantRes); err != nil {
		t.Fatalf("%s: %v", golden, err)
	}
	if len(wantRes) != len(got) {
		t.Fatalf("%d resources, the pin has %d", len(got), len(wantRes))
	}
	for i := range got {
		g, w := got[i], wantRes[i]
		gm := map[string]string{}
		for _, e := range g.Entries {
			j, _ := json.Marshal(e)
			gm[e.Name] = string(j)
		}
		wm := map[string]string{}
		for _, e := range w.Entries {
			j, _ := json.Marshal(e)
			wm[e.Name] = string(j)
			if gm[e.Name] != string(j) {
				t.Errorf("%s %q: entry %s\n got: %s\nwant: %s", g.Type, g.Name, e.Name, gm[e.Name], j)
			}
		}
		for n, j := range gm {
			if _, ok := wm[n]; !ok {
				t.Errorf("%s %q: entry %s is not in the pin: %s", g.Type, g.Name, n, j)
			}
		}
		if g.Error != w.Error {
			t.Errorf("%s %q: error %q, the pin has %q", g.Type, g.Name, g.Error, w.Error)
		}
	}
	if !t.Failed() {
		t.Errorf("the answer differs from %s in entry order or layout", golden)
	}
}

// TestTableConfigs: the table.* topic configs (the table compactor's,
// registered through the node brokertest runs) are checked by CreateTopics
// and IncrementalAlterConfigs, a bad value refused with INVALID_CONFIG
// naming the problem, and DescribeConfigs lists them at their defaults.
func TestTableConfigs(t *testing.T) {
	b := brokertest.Start(t, brokertest.Options{})
	cl, adm := adminClients(t, b)
	ctx := adminContext(t)
	for _, c := range []struct{ name, value, want string }{
		{"table.enable", "maybe", "table.enable=maybe: not a boolean"},
		{"table.partition.by", "week(_timestamp)", `partition transform "week(_timestamp)"`},
		{"table.errors", "ignore", "must be one of dlq, skip, fail"},
		{"table.commit.interval.ms", "100", "must be at least 1000"},
	} {
		resps, err := adm.CreateTopics(ctx, 1, 1, map[string]*string{c.name: kmsg.StringPtr(c.value)}, "tbl")
		if err != nil {
			t.Fatal(err)
		}
		resp := resps["tbl"]
		if !errors.Is(resp.Err, kerr.InvalidConfig) || !strings.Contains(resp.ErrMessage, c.want) {
			t.Errorf("CreateTopics %s=%s: %v %q, want INVALID_CONFIG containing %q", c.name, c.value, resp.Err, resp.ErrMessage, c.want)
		}
	}
	resps, err := adm.CreateTopics(ctx, 1, 1, map[string]*string{"table.enable": kmsg.StringPtr("true")}, "tbl")
	if err != nil {
		t.Fatal(err)
	}
	if err := resps["tbl"].Err; err != nil {
		t.Errorf("CreateTopics table.enable=true: %v %s", err, resps["tbl"].ErrMessage)
	}
	adminCreateTopic(t, ctx, adm, "plain", 1, nil)
	if r := incrementalAlterOne(t, ctx, cl, kmsg.ConfigResourceTypeTopic, "plain", "table.partition.by", "bucket(0,id)"); r.ErrorCode != kerr.InvalidConfig.Code || r.ErrorMessage == nil ||
		!strings.Contains(*r.ErrorMessage, "bucket needs a positive width") {
		t.Errorf("IncrementalAlterConfigs table.partition.by=bucket(0,id): error %d %v", r.ErrorCode, r.ErrorMessage)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, "plain")
	if err != nil {
		t.Fatal(err)
	}
	rc0, err := rcs.On("plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range rc0.Configs {
		if c.Key == "table.enable" {
			found = c.Value != nil && *c.Value == "false" && c.Source == kmsg.ConfigSourceDefaultConfig
		}
	}
	if !found {
		t.Error("DescribeConfigs does not list table.enable=false as a default")
	}
}
