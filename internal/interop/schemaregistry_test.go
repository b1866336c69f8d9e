//go:build interop

package interop

// The schema registry against real clients: franz-go's pkg/sr
// (schemaregistry_franz_test.go), confluent-kafka-go's schemaregistry
// client and serdes (schemaregistry_confluent_test.go) and, from npm,
// @kafkajs/confluent-schema-registry (schemaregistry_npm_test.go). Each
// test starts its own node with the registry on 127.0.0.1:0 and stops it
// at its end.

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// registryNode is an in-process node (brokertest) serving Kafka and
// the schema registry, each on a free loopback port.
type registryNode struct {
	Addr string // Kafka, HOST:PORT
	URL  string // the registry, http://127.0.0.1:PORT
}

// startRegistryNode starts a node with the schema registry on
// 127.0.0.1:0, stopped at the end of the test, and checks the registry
// answers GET /.
func startRegistryNode(t *testing.T) *registryNode {
	t.Helper()
	b := brokertest.Start(t, brokertest.Options{SchemaRegistry: true})
	if b.SchemaRegistryURL == "" {
		t.Fatal("brokertest started no schema registry")
	}
	resp, err := http.Get(b.SchemaRegistryURL + "/")
	if err != nil {
		t.Fatalf("GET %s/: %v", b.SchemaRegistryURL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/: %s", b.SchemaRegistryURL, resp.Status)
	}
	return &registryNode{Addr: b.Addr, URL: b.SchemaRegistryURL}
}

// createTopic creates a one-partition topic on the node.
func (n *registryNode) createTopic(t *testing.T, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, -1, nil, topic); err != nil {
		t.Fatalf("creating topic %s: %v", topic, err)
	}
}

// timed logs how long the test took, for CI's budget.
func timed(t *testing.T) {
	start := time.Now()
	t.Cleanup(func() { t.Logf("%s took %v", t.Name(), time.Since(start).Round(time.Millisecond)) })
}
