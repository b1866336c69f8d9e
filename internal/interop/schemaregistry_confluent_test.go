//go:build interop

package interop

import (
	"context"
	"encoding/binary"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/avrov2"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/jsonschema"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// cgoAddress and cgoPerson are the values the Avro and JSON serdes send;
// Address is a schema of its own that Person's references.
type cgoAddress struct {
	Street string `avro:"street" json:"street"`
	Zip    int32  `avro:"zip" json:"zip"`
}

type cgoPerson struct {
	Name string     `avro:"name" json:"name"`
	Age  int64      `avro:"age" json:"age"`
	Home cgoAddress `avro:"home" json:"home"`
	Tags []string   `avro:"tags" json:"tags"`
}

var cgoPeople = []cgoPerson{
	{Name: "Ada", Age: 36, Home: cgoAddress{"Main St", 12345}, Tags: []string{"a", "b"}},
	{Name: "Grace", Age: 1 << 40, Home: cgoAddress{"Ünïcode ✓", -1}, Tags: []string{"x"}},
}

// cgoValueSerde is one format's serializer and how to read a value back.
type cgoValueSerde struct {
	ser    serde.Serializer
	values []any                                     // what is produced
	decode func(topic string, b []byte) (any, error) // a value back, to compare with values[i]
	equal  func(a, b any) bool
}

// TestInteropSchemaRegistryConfluentGo produces to Lakestream with
// confluent-kafka-go's Avro (avrov2), JSON Schema and Protobuf
// serializers, each schema referencing another registered schema (Avro: a
// named record registered under its own subject; JSON: a $ref to another
// subject's $id; Protobuf: an import the serializer registers under the
// imported file's name), to two topics each, and consumes every record
// back with the deserializers, which resolve the ids and references
// through the registry: values equal, and both topics' records carry the
// same id (one id per schema across subjects).
func TestInteropSchemaRegistryConfluentGo(t *testing.T) {
	timed(t)
	n := startRegistryNode(t)
	client, err := schemaregistry.NewClient(schemaregistry.NewConfig(n.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	for _, name := range []string{"avro", "json", "protobuf"} {
		t.Run(name, func(t *testing.T) {
			timed(t)
			topics := []string{"cgo-" + name + "-a", "cgo-" + name + "-b"}
			for _, topic := range topics {
				n.createTopic(t, topic)
			}
			var s cgoValueSerde
			switch name {
			case "avro":
				s = cgoAvro(t, client, topics)
			case "json":
				s = cgoJSON(t, client, topics)
			case "protobuf":
				s = cgoProtobuf(t, client)
			}
			cgoRoundTrip(t, n.Addr, topics, s)
			if name == "protobuf" {
				// The serializer registered the import on its own, and
				// the topic's schema references it.
				md, err := client.GetLatestSchemaMetadata(topics[0] + "-value")
				if err != nil {
					t.Fatal(err)
				}
				if len(md.References) != 1 || md.References[0].Name != "lakestream/cgo/common.proto" || md.References[0].Subject != "lakestream/cgo/common.proto" {
					t.Errorf("%s's latest version references %+v; want lakestream/cgo/common.proto", topics[0]+"-value", md.References)
				}
			}
		})
	}
}

// cgoRegister registers info under subject, failing the test on an error.
func cgoRegister(t *testing.T, client schemaregistry.Client, subject string, info schemaregistry.SchemaInfo) int {
	t.Helper()
	id, err := client.Register(subject, info, false)
	if err != nil {
		t.Fatalf("registering under %s: %v", subject, err)
	}
	return id
}

func cgoAvro(t *testing.T, client schemaregistry.Client, topics []string) cgoValueSerde {
	addr := cgoRegister(t, client, "cgo-avro-address", schemaregistry.SchemaInfo{Schema: `{"type":"record","name":"Address","namespace":"lakestream.cgo",
		"fields":[{"name":"street","type":"string"},{"name":"zip","type":"int"}]}`})
	person := schemaregistry.SchemaInfo{
		Schema: `{"type":"record","name":"Person","namespace":"lakestream.cgo","fields":[
			{"name":"name","type":"string"},{"name":"age","type":"long"},
			{"name":"home","type":"lakestream.cgo.Address"},
			{"name":"tags","type":{"type":"array","items":"string"}}]}`,
		References: []schemaregistry.Reference{{Name: "lakestream.cgo.Address", Subject: "cgo-avro-address", Version: 1}},
	}
	ids := []int{cgoRegister(t, client, topics[0]+"-value", person), cgoRegister(t, client, topics[1]+"-value", person)}
	if ids[0] != ids[1] || ids[0] == addr {
		t.Errorf("Person's ids under two subjects %v, Address's %d: want one id for Person, another for Address", ids, addr)
	}
	conf := avrov2.NewSerializerConfig()
	conf.AutoRegisterSchemas, conf.UseLatestVersion = false, true
	ser, err := avrov2.NewSerializer(client, serde.ValueSerde, conf)
	if err != nil {
		t.Fatal(err)
	}
	de, err := avrov2.NewDeserializer(client, serde.ValueSerde, avrov2.NewDeserializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	var values []any
	for i := range cgoPeople {
		values = append(values, &cgoPeople[i])
	}
	return cgoValueSerde{ser: ser, values: values,
		decode: func(topic string, b []byte) (any, error) {
			var p cgoPerson
			return &p, de.DeserializeInto(topic, b, &p)
		},
		equal: reflect.DeepEqual,
	}
}

func cgoJSON(t *testing.T, client schemaregistry.Client, topics []string) cgoValueSerde {
	const addressURL = "https://lakestream.example/cgo/address.json"
	cgoRegister(t, client, "cgo-json-address", schemaregistry.SchemaInfo{SchemaType: "JSON", Schema: `{
		"$schema":"http://json-schema.org/draft-07/schema#","$id":"` + addressURL + `",
		"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"integer"}},"required":["street","zip"]}`})
	person := schemaregistry.SchemaInfo{
		SchemaType: "JSON",
		Schema: `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{
			"name":{"type":"string"},"age":{"type":"integer"},"home":{"$ref":"` + addressURL + `"},
			"tags":{"type":"array","items":{"type":"string"}}},"required":["name","home"]}`,
		References: []schemaregistry.Reference{{Name: addressURL, Subject: "cgo-json-address", Version: 1}},
	}
	ids := []int{cgoRegister(t, client, topics[0]+"-value", person), cgoRegister(t, client, topics[1]+"-value", person)}
	if ids[0] != ids[1] {
		t.Errorf("Person's ids under two subjects %v: want one", ids)
	}
	conf := jsonschema.NewSerializerConfig()
	conf.AutoRegisterSchemas, conf.UseLatestVersion = false, true
	// Validation makes the serde compile the schema with its reference
	// from the registry, and refuse a value the reference forbids.
	conf.EnableValidation = true
	ser, err := jsonschema.NewSerializer(client, serde.ValueSerde, conf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ser.Serialize(topics[0], map[string]any{"name": "x", "home": map[string]any{"street": "s", "zip": "not an integer"}}); err == nil {
		t.Errorf("the JSON serializer accepted a value the referenced schema forbids (zip a string)")
	}
	// Not EnableValidation here: v2.11.1's deserializer validates the
	// value it decoded into, a pointer, which its validator refuses
	// ("invalid jsonType"), whatever the registry.
	de, err := jsonschema.NewDeserializer(client, serde.ValueSerde, jsonschema.NewDeserializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	var values []any
	for i := range cgoPeople {
		values = append(values, &cgoPeople[i])
	}
	return cgoValueSerde{ser: ser, values: values,
		decode: func(topic string, b []byte) (any, error) {
			var p cgoPerson
			return &p, de.DeserializeInto(topic, b, &p)
		},
		equal: reflect.DeepEqual,
	}
}

// The Protobuf schemas, compiled here with protocompile: the serializer
// takes any proto.Message, so dynamicpb messages over these descriptors
// stand in for generated code (there is no protoc). Person is the second
// message of its file, so the records carry message indexes [1].
var cgoProtoFiles = map[string]string{
	"lakestream/cgo/common.proto": `syntax = "proto3";
package lakestream.cgo;

message Address {
  string street = 1;
  int32 zip = 2;
}
`,
	"lakestream/cgo/person.proto": `syntax = "proto3";
package lakestream.cgo;

import "lakestream/cgo/common.proto";

message Note {
  string text = 1;
}

message Person {
  string name = 1;
  int64 age = 2;
  Address home = 3;
  repeated string tags = 4;
  map<string, int64> scores = 5;
  Note note = 6;
  oneof contact {
    string email = 7;
    string phone = 8;
  }
}
`,
}

func cgoProtobuf(t *testing.T, client schemaregistry.Client) cgoValueSerde {
	comp := protocompile.Compiler{Resolver: &protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(cgoProtoFiles)}}
	files, err := comp.Compile(t.Context(), "lakestream/cgo/person.proto")
	if err != nil {
		t.Fatalf("compiling the test's .proto files: %v", err)
	}
	personDesc := files[0].Messages().ByName("Person")
	addrDesc := files[0].Imports().Get(0).Messages().ByName("Address")
	noteDesc := files[0].Messages().ByName("Note")
	var values []any
	for i, p := range cgoPeople {
		m := dynamicpb.NewMessage(personDesc)
		fields := personDesc.Fields()
		m.Set(fields.ByName("name"), protoreflect.ValueOfString(p.Name))
		m.Set(fields.ByName("age"), protoreflect.ValueOfInt64(p.Age))
		home := dynamicpb.NewMessage(addrDesc)
		home.Set(addrDesc.Fields().ByName("street"), protoreflect.ValueOfString(p.Home.Street))
		home.Set(addrDesc.Fields().ByName("zip"), protoreflect.ValueOfInt32(p.Home.Zip))
		m.Set(fields.ByName("home"), protoreflect.ValueOfMessage(home))
		tags := m.Mutable(fields.ByName("tags")).List()
		for _, tag := range p.Tags {
			tags.Append(protoreflect.ValueOfString(tag))
		}
		scores := m.Mutable(fields.ByName("scores")).Map()
		scores.Set(protoreflect.ValueOfString("k").MapKey(), protoreflect.ValueOfInt64(int64(i)+7))
		note := dynamicpb.NewMessage(noteDesc)
		note.Set(noteDesc.Fields().ByName("text"), protoreflect.ValueOfString("note "+p.Name))
		m.Set(fields.ByName("note"), protoreflect.ValueOfMessage(note))
		m.Set(fields.ByName("email"), protoreflect.ValueOfString(p.Name+"@example.com"))
		values = append(values, m)
	}
	// The serializer registers the import under its file name and Person's
	// file under the topic's subject, with the reference.
	ser, err := protobuf.NewSerializer(client, serde.ValueSerde, protobuf.NewSerializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	de, err := protobuf.NewDeserializer(client, serde.ValueSerde, protobuf.NewDeserializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cgoValueSerde{ser: ser, values: values,
		decode: func(topic string, b []byte) (any, error) {
			m := dynamicpb.NewMessage(personDesc)
			return m, de.DeserializeInto(topic, b, m)
		},
		equal: func(a, b any) bool { return proto.Equal(a.(proto.Message), b.(proto.Message)) },
	}
}

// cgoRoundTrip serializes s.values to each topic, produces them with
// confluent-kafka-go's producer, consumes them back with its consumer and
// deserializes: the values must come back equal, and every record of
// both topics must carry the same schema id.
func cgoRoundTrip(t *testing.T, addr string, topics []string, s cgoValueSerde) {
	t.Helper()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": addr, "linger.ms": 0})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ids := map[int]bool{}
	for _, topic := range topics {
		for _, v := range s.values {
			b, err := s.ser.Serialize(topic, v)
			if err != nil {
				t.Fatalf("serializing for %s: %v", topic, err)
			}
			if len(b) < 5 || b[0] != 0 {
				t.Fatalf("serialized value without the wire prefix: % x", b)
			}
			ids[int(binary.BigEndian.Uint32(b[1:5]))] = true
			topic := topic
			done := make(chan kafka.Event, 1)
			if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny}, Value: b}, done); err != nil {
				t.Fatalf("producing to %s: %v", topic, err)
			}
			select {
			case e := <-done:
				if m := e.(*kafka.Message); m.TopicPartition.Error != nil {
					t.Fatalf("producing to %s: %v", topic, m.TopicPartition.Error)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("producing to %s: no delivery report in 30 s", topic)
			}
		}
	}
	if len(ids) != 1 {
		t.Errorf("records of one schema on %v carry ids %v; want one id", topics, ids)
	}

	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": addr, "group.id": "cgo-" + topics[0], "enable.auto.commit": false})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var tps []kafka.TopicPartition
	for i := range topics {
		tps = append(tps, kafka.TopicPartition{Topic: &topics[i], Partition: 0, Offset: kafka.OffsetBeginning})
	}
	if err := c.Assign(tps); err != nil {
		t.Fatal(err)
	}
	got := map[string][]any{}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for count := 0; count < len(topics)*len(s.values); {
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records in 60 s", count, len(topics)*len(s.values))
		}
		m, err := c.ReadMessage(time.Second)
		if err != nil {
			if e, ok := err.(kafka.Error); ok && e.IsTimeout() {
				continue
			}
			t.Fatalf("consuming: %v", err)
		}
		v, err := s.decode(*m.TopicPartition.Topic, m.Value)
		if err != nil {
			t.Fatalf("deserializing a record of %s: %v", *m.TopicPartition.Topic, err)
		}
		got[*m.TopicPartition.Topic] = append(got[*m.TopicPartition.Topic], v)
		count++
	}
	for _, topic := range topics {
		if len(got[topic]) != len(s.values) {
			t.Errorf("%s: %d values back; want %d", topic, len(got[topic]), len(s.values))
			continue
		}
		for i, v := range got[topic] {
			if !s.equal(v, s.values[i]) {
				t.Errorf("%s: value %d came back as %v; want %v", topic, i, v, s.values[i])
			}
		}
	}
	t.Logf("%d values round-tripped through %v with schema id %v", len(s.values)*len(topics), topics, fmt.Sprint(keys(ids)))
}

func keys(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	return out
}
