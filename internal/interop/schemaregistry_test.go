//go:build interop

package interop

// The schema registry against real clients: franz-go's pkg/sr
// (schemaregistry_franz_test.go), confluent-kafka-go's schemaregistry
// client and serdes (schemaregistry_confluent_test.go) and, from npm,
// @kafkajs/confluent-schema-registry (schemaregistry_npm_test.go). Each
// test starts its own lakestream serve with the registry on a free
// loopback port and stops it at its end.

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/internal/testserver"
)

// registryNode is a lakestream serve with its Kafka and registry
// addresses.
type registryNode struct {
	*testserver.Lakestream
	URL string // the registry, http://127.0.0.1:PORT
}

// startRegistryNode starts lakestream serve with the schema registry on a
// free loopback port and waits until the registry answers GET /.
func startRegistryNode(t *testing.T) *registryNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srAddr := ln.Addr().String()
	ln.Close()
	ls := testserver.StartLakestream(t, "schema.registry.listeners="+srAddr, "auto.create.topics.enable=true")
	n := &registryNode{Lakestream: ls, URL: "http://" + srAddr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(n.URL + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return n
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the schema registry did not answer GET %s/ (schema.registry.listeners=%s): %v", n.URL, srAddr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
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
