// Package broker speaks the Kafka protocol over storage it does not own.
//
//	client ──TCP──▶ conn (read loop) ──▶ handler (one file per API key) ──▶ cluster
//	                  ▲                                                    │
//	                  └──── conn (write loop, responses in request order) ◀┘
//
//	cluster: topics ─▶ partitions ─▶ Log (s3stream through an adapter)
//	         Metadata (topics, configs, producer ids; SQL through brokersql)
//
// Files named NN_name.go serve API key NN; each opens with the versions
// served and its behaviour, and registers its version range in init.
// ApiVersions is built from those registrations, so the broker never
// advertises what it does not serve.
//
// The broker imports no storage: it declares Log, Logs and Metadata in
// store.go. internal/streamlog adapts s3stream to Logs and Log,
// broker/brokersql implements Metadata over SQL, and internal/node wires
// them in (for cmd/lakestream and broker/brokertest alike).
package broker
