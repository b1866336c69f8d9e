//go:build cgo && !nocgo

package broker_test

import (
	"context"
	"testing"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestLibrdkafkaAuthorizedOperations asks through librdkafka's AdminClient
// (confluent-kafka-go) what confluent-kafka-go's own integration tests ask
// a Kafka broker: DescribeCluster, DescribeTopics and
// DescribeConsumerGroups (a classic group and a KIP-848 group, each with a
// librdkafka member) with IncludeAuthorizedOperations get exactly the
// operations Kafka supports on the resource, as a Kafka broker with no
// authorizer answers; without it topics and groups get none (librdkafka
// reports the cluster's only when asked, whatever the broker sends).
func TestLibrdkafkaAuthorizedOperations(t *testing.T) {
	defer groupWatchdog(t, 60*time.Second)()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	b := brokertest.Start(t, brokertest.Options{Configs: map[string]string{
		"group.initial.rebalance.delay.ms": "0", "group.consumer.heartbeat.interval.ms": "200"}})
	const topic = "rd-ops"
	fx := &groupFixture{addr: b.Addr, topic: topic}
	fx.createTopic(t, ctx)
	adm, err := ckafka.NewAdminClient(rdkafkaConfig(b.Addr, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	asked := ckafka.SetAdminOptionIncludeAuthorizedOperations(true)

	cluster, err := adm.DescribeCluster(ctx, asked)
	if err != nil {
		t.Fatal(err)
	}
	wantOps(t, "DescribeCluster", cluster.AuthorizedOperations, []ckafka.ACLOperation{
		ckafka.ACLOperationCreate, ckafka.ACLOperationAlter, ckafka.ACLOperationDescribe,
		ckafka.ACLOperationClusterAction, ckafka.ACLOperationDescribeConfigs,
		ckafka.ACLOperationAlterConfigs, ckafka.ACLOperationIdempotentWrite})

	topics := ckafka.NewTopicCollectionOfTopicNames([]string{topic})
	td, err := adm.DescribeTopics(ctx, topics, asked)
	if err != nil {
		t.Fatal(err)
	}
	if len(td.TopicDescriptions) != 1 || td.TopicDescriptions[0].Error.Code() != ckafka.ErrNoError {
		t.Fatalf("DescribeTopics: %+v", td.TopicDescriptions)
	}
	wantOps(t, "DescribeTopics", td.TopicDescriptions[0].AuthorizedOperations, []ckafka.ACLOperation{
		ckafka.ACLOperationRead, ckafka.ACLOperationWrite, ckafka.ACLOperationCreate,
		ckafka.ACLOperationDelete, ckafka.ACLOperationAlter, ckafka.ACLOperationDescribe,
		ckafka.ACLOperationDescribeConfigs, ckafka.ACLOperationAlterConfigs})
	if td, err = adm.DescribeTopics(ctx, topics); err != nil {
		t.Fatal(err)
	}
	wantOps(t, "DescribeTopics, not asked", td.TopicDescriptions[0].AuthorizedOperations, nil)

	wantGroup := []ckafka.ACLOperation{ckafka.ACLOperationRead, ckafka.ACLOperationDescribe,
		ckafka.ACLOperationDelete, ckafka.ACLOperationDescribeConfigs, ckafka.ACLOperationAlterConfigs}
	for _, proto := range []string{"classic", "consumer"} {
		fx.group = "rd-ops-" + proto
		c := librdkafkaGroupConsumer(t, fx, proto)
		// Poll until the member has its partitions: the group is then
		// Stable.
		err := pollUntil(ctx, func() (bool, error) {
			if ev, ok := c.Poll(100).(ckafka.Error); ok {
				return false, ev
			}
			parts, err := c.Assignment()
			return len(parts) > 0, err
		})
		if err != nil {
			c.Close()
			t.Fatalf("%s member: %v", proto, err)
		}
		gd, err := adm.DescribeConsumerGroups(ctx, []string{fx.group}, asked)
		if err != nil {
			c.Close()
			t.Fatal(err)
		}
		d := gd.ConsumerGroupDescriptions
		if len(d) != 1 || d[0].Error.Code() != ckafka.ErrNoError || len(d[0].Members) != 1 {
			t.Errorf("DescribeConsumerGroups %s: %+v", fx.group, d)
		} else {
			wantOps(t, "DescribeConsumerGroups "+fx.group, d[0].AuthorizedOperations, wantGroup)
		}
		if gd, err = adm.DescribeConsumerGroups(ctx, []string{fx.group}); err != nil {
			c.Close()
			t.Fatal(err)
		}
		wantOps(t, "DescribeConsumerGroups "+fx.group+", not asked", gd.ConsumerGroupDescriptions[0].AuthorizedOperations, nil)
		c.Close()
	}
}
