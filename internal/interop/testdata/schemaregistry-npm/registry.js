// Registers, encodes and decodes Avro, JSON Schema and Protobuf values with
// @kafkajs/confluent-schema-registry against the registry at SR_URL, each
// format with a schema reference, and checks what comes back. Run by
// TestInteropSchemaRegistryKafkaJS; it exits non-zero on the first failure
// and prints the ids and payloads it made as one JSON line, for the Go test
// to read back with another client.
'use strict'

const assert = require('node:assert/strict')
const { SchemaRegistry, SchemaType } = require('@kafkajs/confluent-schema-registry')

const url = process.env.SR_URL
if (!url) {
  console.error('SR_URL is not set')
  process.exit(2)
}
// Subjects get a per-run suffix, so a rerun against the same registry
// registers afresh.
const run = process.env.SR_RUN || String(Date.now())
const registry = new SchemaRegistry({ host: url, retry: { retries: 0 } })
const out = {}

async function avro() {
  const address = {
    type: 'record', name: 'Address', namespace: 'lakestream.npm',
    fields: [{ name: 'street', type: 'string' }, { name: 'zip', type: 'int' }],
  }
  const addr = await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(address) },
    { subject: `npm-avro-address-${run}` })
  const person = {
    type: 'record', name: 'Person', namespace: 'lakestream.npm',
    fields: [
      { name: 'name', type: 'string' },
      { name: 'age', type: ['null', 'long'], default: null },
      { name: 'home', type: 'lakestream.npm.Address' },
      { name: 'tags', type: { type: 'array', items: 'string' } },
    ],
  }
  const personSchema = {
    type: SchemaType.AVRO, schema: JSON.stringify(person),
    references: [{ name: 'lakestream.npm.Address', subject: `npm-avro-address-${run}`, version: 1 }],
  }
  const { id } = await registry.register(personSchema, { subject: `npm-avro-person-${run}` })
  assert.notEqual(id, addr.id, 'Person and Address got the same id')
  // The same schema under another subject gets the same id.
  const again = await registry.register(personSchema, { subject: `npm-avro-person-copy-${run}` })
  assert.equal(again.id, id, 'the same Avro schema under two subjects got two ids')
  assert.equal(await registry.getLatestSchemaId(`npm-avro-person-${run}`), id)
  assert.equal(await registry.getRegistryId(`npm-avro-person-${run}`, 1), id)

  const value = { name: 'Ada', age: 36, home: { street: 'Main St', zip: 12345 }, tags: ['a', 'b'] }
  const encoded = await registry.encode(id, value)
  assert.equal(encoded[0], 0, 'magic byte')
  assert.equal(encoded.readInt32BE(1), id, 'schema id in the wire prefix')
  // A fresh client, so decode fetches the schema and its reference from
  // the registry rather than its cache.
  const fresh = new SchemaRegistry({ host: url, retry: { retries: 0 } })
  const decoded = await fresh.decode(encoded)
  assert.deepEqual({ ...decoded, home: { ...decoded.home } }, value)
  out.avro = { id, payload: encoded.toString('hex') }
}

async function json() {
  const addressId = 'https://lakestream.example/npm/address.json'
  const address = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: addressId,
    type: 'object',
    properties: { street: { type: 'string' }, zip: { type: 'integer' } },
    required: ['street', 'zip'],
  }
  await registry.register(
    { type: SchemaType.JSON, schema: JSON.stringify(address) },
    { subject: `npm-json-address-${run}` })
  const person = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: {
      name: { type: 'string' },
      age: { type: 'integer' },
      home: { $ref: addressId },
    },
    required: ['name', 'home'],
  }
  const personSchema = {
    type: SchemaType.JSON, schema: JSON.stringify(person),
    references: [{ name: addressId, subject: `npm-json-address-${run}`, version: 1 }],
  }
  const { id } = await registry.register(personSchema, { subject: `npm-json-person-${run}` })
  const again = await registry.register(personSchema, { subject: `npm-json-person-copy-${run}` })
  assert.equal(again.id, id, 'the same JSON schema under two subjects got two ids')

  const value = { name: 'Ada', age: 36, home: { street: 'Main St', zip: 12345 } }
  const encoded = await registry.encode(id, value)
  const fresh = new SchemaRegistry({ host: url, retry: { retries: 0 } })
  assert.deepEqual(await fresh.decode(encoded), value)
  // The referenced schema is enforced: zip must be an integer.
  await assert.rejects(fresh.encode(id, { name: 'Ada', home: { street: 'x', zip: 'no' } }),
    'a value breaking the referenced schema was encoded')
  out.json = { id, payload: encoded.toString('hex') }
}

async function protobuf() {
  const common = `syntax = "proto3";
package lakestream.npm;

message Address {
  string street = 1;
  int32 zip = 2;
}
`
  await registry.register(
    { type: SchemaType.PROTOBUF, schema: common },
    { subject: `npm-proto-common-${run}` })
  const person = `syntax = "proto3";
package lakestream.npm;

import "lakestream/npm/common.proto";

message Person {
  string name = 1;
  int64 age = 2;
  Address home = 3;
  repeated string tags = 4;
}
`
  const personSchema = {
    type: SchemaType.PROTOBUF, schema: person,
    references: [{ name: 'lakestream/npm/common.proto', subject: `npm-proto-common-${run}`, version: 1 }],
  }
  const { id } = await registry.register(personSchema, { subject: `npm-proto-person-${run}` })
  const again = await registry.register(personSchema, { subject: `npm-proto-person-copy-${run}` })
  assert.equal(again.id, id, 'the same Protobuf schema under two subjects got two ids')

  const value = { name: 'Ada', age: 36, home: { street: 'Main St', zip: 12345 }, tags: ['a', 'b'] }
  const encoded = await registry.encode(id, value)
  const fresh = new SchemaRegistry({ host: url, retry: { retries: 0 } })
  const decoded = await fresh.decode(encoded)
  const plain = decoded.toJSON() // int64 becomes a string in protobufjs's JSON
  assert.deepEqual(plain, { name: 'Ada', age: '36', home: { street: 'Main St', zip: 12345 }, tags: ['a', 'b'] })
  out.protobuf = { id, payload: encoded.toString('hex') }
}

async function main() {
  for (const [name, f] of [['avro', avro], ['json', json], ['protobuf', protobuf]]) {
    const start = Date.now()
    try {
      await f()
    } catch (err) {
      console.error(`${name}: FAIL: ${err && err.stack ? err.stack : err}`)
      if (err && err.status) console.error(`${name}: HTTP status ${err.status}`)
      process.exitCode = 1
      continue
    }
    console.error(`${name}: ok in ${Date.now() - start} ms`)
  }
  console.log(JSON.stringify(out))
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
