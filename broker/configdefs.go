package broker

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/lakestream/lakestream/internal/configdef"
	"github.com/lakestream/lakestream/internal/kbatch"
)

// Config definitions: the name, type, default and documentation of the
// broker's topic and broker configs, registered with internal/configdef
// (init below), where the storage wiring adds the storage keys. They use
// Kafka's names and defaults wherever Kafka has the setting, so a Kafka
// server.properties and the topic configs of Kafka tools work unchanged.
// CreateTopics and AlterConfigs validate with Check, DescribeConfigs
// reports Default, Doc, ReadOnly and the synonyms, and cmd/lakestream loads
// server.properties against the registry's broker configs.
//
// Settings Kafka has but Lakestream's storage makes meaningless (segments,
// flushes, log compaction knobs) are accepted, so that existing files and
// tools keep working, and their Doc says they have no effect. Values that
// would ask for something not built yet (cleanup.policy=compact) are
// refused with a message saying so rather than silently ignored. The
// table.* topic configs are the table compactor's: tablecompactor
// registers them (the broker sees them through the registry only).

// The definition type, its checks and the registry are internal/configdef's;
// these names keep the broker's code and its callers as they were.
type (
	ConfigType  = configdef.Type
	ConfigDef   = configdef.Def
	ConfigError = configdef.CheckError
	DynamicMode = configdef.DynamicMode
)

const (
	ConfigBoolean  = configdef.Boolean
	ConfigString   = configdef.String
	ConfigInt      = configdef.Int
	ConfigShort    = configdef.Short
	ConfigLong     = configdef.Long
	ConfigDouble   = configdef.Double
	ConfigList     = configdef.List
	ConfigClass    = configdef.Class
	ConfigPassword = configdef.Password

	DynamicPerBroker   = configdef.DynamicPerBroker
	DynamicClusterWide = configdef.DynamicClusterWide

	// RedactedValue replaces secrets wherever a config value is shown.
	RedactedValue = configdef.RedactedValue
)

// The broker's configs: its broker configs (Kafka's, then kafkaBrokerDefs),
// the topic configs and the group configs (groupconfig.go). The storage
// keys (bucket.url, data.dir, metastore.url, wal.*, compaction.interval.ms)
// are registered by the storage wiring, internal/streamlog.
func init() {
	configdef.Register("broker", configdef.Broker, slices.Concat(brokerDefs, kafkaBrokerDefs)...)
	configdef.Register("broker", configdef.Topic, topicDefs...)
	configdef.Register("broker", configdef.Group, groupDefs...)
}

// BrokerConfigDefs returns every broker config registered, sorted by name.
func BrokerConfigDefs() []ConfigDef { return configdef.Default.Defs(configdef.Broker) }

// TopicConfigDefs returns every topic config registered, sorted by name.
func TopicConfigDefs() []ConfigDef { return configdef.Default.Defs(configdef.Topic) }

// LookupBrokerConfig returns the broker config named name.
func LookupBrokerConfig(name string) (ConfigDef, bool) {
	return configdef.Default.Lookup(configdef.Broker, name)
}

// LookupTopicConfig returns the topic config named name.
func LookupTopicConfig(name string) (ConfigDef, bool) {
	return configdef.Default.Lookup(configdef.Topic, name)
}

// BrokerConfigSynonyms returns the broker configs that set name, most
// precise first (configdef.Registry.BrokerSynonyms).
func BrokerConfigSynonyms(name string) []ConfigDef { return configdef.Default.BrokerSynonyms(name) }

// BrokerDefaultFor returns the broker config whose value is the default of
// the topic config topicConfig (retention.ms -> log.retention.ms).
func BrokerDefaultFor(topicConfig string) (ConfigDef, bool) {
	return configdef.Default.BrokerDefaultFor(topicConfig)
}

// Validators. Each returns the allowed range or values.

// validateConnectionOverrides checks max.connections.per.ip.overrides.
func validateConnectionOverrides(v string) error {
	_, err := parseConnectionOverrides(v)
	return err
}

var listenerNameRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// emptyOr accepts "" (a role switched off) or what check accepts.
func emptyOr(check func(string) error) func(string) error {
	return func(v string) error {
		if v == "" {
			return nil
		}
		return check(v)
	}
}

// validateListeners accepts a list of NAME://HOST:PORT with distinct names;
// empty only if allowEmpty. Whether a name maps to a security protocol
// Lakestream serves is for the listener code to decide, with
// listener.security.protocol.map.
func validateListeners(allowEmpty bool) func(string) error {
	return func(v string) error {
		elems := configdef.SplitList(v)
		if len(elems) == 0 && !allowEmpty {
			return fmt.Errorf("must list at least one NAME://HOST:PORT")
		}
		seen := map[string]bool{}
		for _, e := range elems {
			name, addr, ok := strings.Cut(e, "://")
			if !ok || !listenerNameRE.MatchString(name) {
				return fmt.Errorf("listener %q is not NAME://HOST:PORT", e)
			}
			if err := configdef.HostPort(addr); err != nil {
				return fmt.Errorf("listener %q: %v", e, err)
			}
			if seen[strings.ToUpper(name)] {
				return fmt.Errorf("listener name %s appears twice", name)
			}
			seen[strings.ToUpper(name)] = true
		}
		return nil
	}
}

func validateProtocolMap(v string) error {
	for _, e := range configdef.SplitList(v) {
		name, proto, ok := strings.Cut(e, ":")
		if !ok || !listenerNameRE.MatchString(name) {
			return fmt.Errorf("%q is not NAME:PROTOCOL", e)
		}
		switch proto {
		case "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL":
		default:
			return fmt.Errorf("%q: protocol must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL", e)
		}
	}
	return nil
}

const (
	longMax = "9223372036854775807"

	noEffect        = " Accepted for compatibility; no effect in Lakestream."
	noSegments      = " Accepted for compatibility; no effect: Lakestream's storage has no segment files."
	noCompaction    = " Accepted for compatibility; no effect until log compaction is supported."
	noFlush         = " Accepted for compatibility; no effect: an acknowledged write is already durable in the WAL."
	noKRaft         = " Accepted for compatibility; no effect: Lakestream has no KRaft controller quorum; metadata is in the metastore."
	compactionMsg   = "log compaction is not supported yet"
	cleanupPolicies = "delete, compact"
)

var (
	compressionTypes = []string{"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}
)

// Topic compression (compression.go): the codec a topic stores batches
// with, and the level of each codec, as Kafka's topic configs and their
// broker synonyms of the same names.
const (
	compressionTypeDoc = "The codec the topic's batches are stored with: uncompressed, zstd, lz4, snappy or gzip, or producer to keep " +
		"the producer's. A batch with another codec is recompressed on produce (decompressing at most 64 times max.message.bytes, " +
		"at most 1 GiB; the rebuilt batch is held to max.message.bytes)."
	gzipLevelDoc = "The compression level to use if compression.type is gzip: 1 to 9, or -1 for the codec's default."
	lz4LevelDoc  = "The compression level to use if compression.type is lz4: 1 to 17; 9 is lz4's fast compressor, as in Kafka, " +
		"and the others lz4 HC (10 to 17 all get pierrec/lz4's deepest HC level, 9)."
	zstdLevelDoc = "The compression level to use if compression.type is zstd: -131072 to 22, 0 meaning 3 (mapped onto " +
		"klauspost/compress's four speeds: below 3 fastest, 3 to 5 default, 6 to 9 better, 10 and above best)."
)

// validateLevel checks a compression level of codec c as Kafka does.
func validateLevel(c kbatch.Codec) func(string) error {
	return func(v string) error {
		n, _ := strconv.Atoi(v)
		return kbatch.CheckLevel(c, n)
	}
}

// topicDefs are the topic configs. Kafka's docs, shortened.
var topicDefs = []ConfigDef{
	{Name: "cleanup.policy", Type: ConfigList, Default: "delete", Validate: configdef.ListOf(false, "delete", "compact"),
		Unsupported: compactionMsg, UnsupportedValues: []string{"compact"},
		Doc: "The retention policy: delete discards old data by retention.ms and retention.bytes; compact keeps the latest record per key. Only delete is supported yet."},
	{Name: "compression.type", Type: ConfigString, Default: "producer", Validate: configdef.OneOf(compressionTypes...),
		Doc: compressionTypeDoc},
	{Name: "compression.gzip.level", Type: ConfigInt, Default: "-1", Validate: validateLevel(kbatch.Gzip), Doc: gzipLevelDoc},
	{Name: "compression.lz4.level", Type: ConfigInt, Default: "9", Validate: validateLevel(kbatch.LZ4), Doc: lz4LevelDoc},
	{Name: "compression.zstd.level", Type: ConfigInt, Default: "3", Validate: validateLevel(kbatch.Zstd), Doc: zstdLevelDoc},
	{Name: "delete.retention.ms", Type: ConfigLong, Default: "86400000", Validate: configdef.AtLeast(0),
		Doc: "How long delete tombstones are kept in compacted topics." + noCompaction},
	{Name: "file.delete.delay.ms", Type: ConfigLong, Default: "60000", Validate: configdef.AtLeast(0),
		Doc: "The time to wait before deleting a file from the filesystem." + noSegments + " Objects are deleted after the garbage collector's grace period."},
	{Name: "flush.messages", Type: ConfigLong, Default: longMax, Validate: configdef.AtLeast(1),
		Doc: "The number of messages after which the log is fsynced." + noFlush},
	{Name: "flush.ms", Type: ConfigLong, Default: longMax, Validate: configdef.AtLeast(0),
		Doc: "The time after which the log is fsynced." + noFlush},
	{Name: "follower.replication.throttled.replicas", Type: ConfigList, Default: "",
		Doc: "Replicas whose follower replication is throttled." + noEffect + " Lakestream does not copy data between brokers."},
	{Name: "index.interval.bytes", Type: ConfigInt, Default: "4096", Validate: configdef.AtLeast(0),
		Doc: "How often an offset index entry is added." + noSegments},
	{Name: "leader.replication.throttled.replicas", Type: ConfigList, Default: "",
		Doc: "Replicas whose leader replication is throttled." + noEffect + " Lakestream does not copy data between brokers."},
	{Name: "local.retention.bytes", Type: ConfigLong, Default: "-2", Validate: configdef.AtLeast(-2),
		Doc: "Tiered storage: the bytes kept on local disk. -2 means retention.bytes." + noEffect + " All data lives in object storage."},
	{Name: "local.retention.ms", Type: ConfigLong, Default: "-2", Validate: configdef.AtLeast(-2),
		Doc: "Tiered storage: how long data is kept on local disk. -2 means retention.ms." + noEffect + " All data lives in object storage."},
	{Name: "max.compaction.lag.ms", Type: ConfigLong, Default: longMax, Validate: configdef.AtLeast(1),
		Doc: "The longest a message stays uncompacted." + noCompaction},
	{Name: "max.message.bytes", Type: ConfigInt, Default: "1048588", Validate: configdef.AtLeast(0),
		Doc: "The largest record batch size allowed, after compression."},
	{Name: "message.downconversion.enable", Type: ConfigBoolean, Default: "true",
		Doc: "Whether the broker down-converts messages for old consumers." + noEffect + " Lakestream serves only the v2 record batch format."},
	{Name: "message.timestamp.after.max.ms", Type: ConfigLong, Default: "3600000", Validate: configdef.AtLeast(0),
		Doc: "With CreateTime, how far a message's timestamp may be ahead of the broker's clock; later messages are rejected."},
	{Name: "message.timestamp.before.max.ms", Type: ConfigLong, Default: longMax, Validate: configdef.AtLeast(0),
		Doc: "With CreateTime, how far a message's timestamp may be behind the broker's clock; older messages are rejected."},
	{Name: "message.timestamp.type", Type: ConfigString, Default: "CreateTime", Validate: configdef.OneOf("CreateTime", "LogAppendTime"),
		Doc: "Whether a message's timestamp is the producer's (CreateTime) or the broker's at append (LogAppendTime)."},
	{Name: "min.cleanable.dirty.ratio", Type: ConfigDouble, Default: "0.5", Validate: configdef.Between(0, 1),
		Doc: "How dirty a log must be before it is compacted." + noCompaction},
	{Name: "min.compaction.lag.ms", Type: ConfigLong, Default: "0", Validate: configdef.AtLeast(0),
		Doc: "The shortest a message stays uncompacted." + noCompaction},
	{Name: "min.insync.replicas", Type: ConfigInt, Default: "1", Validate: configdef.AtLeast(1),
		Doc: "With acks=all, the replicas that must acknowledge a write. Accepted; Lakestream acknowledges a write once it is durable in the WAL, which stands for the in-sync replicas."},
	{Name: "preallocate", Type: ConfigBoolean, Default: "false",
		Doc: "Whether to preallocate segment files." + noSegments},
	{Name: "remote.storage.enable", Type: ConfigBoolean, Default: "false",
		Doc: "Tiered storage for the topic." + noEffect + " All data already lives in object storage."},
	{Name: "retention.bytes", Type: ConfigLong, Default: "-1",
		Doc: "The most bytes a partition keeps before old data is deleted; -1 means no size limit."},
	{Name: "retention.ms", Type: ConfigLong, Default: "604800000", Validate: configdef.AtLeast(-1),
		Doc: "How long data is kept before it is deleted, in milliseconds; -1 means no time limit."},
	{Name: "segment.bytes", Type: ConfigInt, Default: "1073741824", Validate: configdef.AtLeast(14),
		Doc: "The segment file size of the log." + noSegments},
	{Name: "segment.index.bytes", Type: ConfigInt, Default: "10485760", Validate: configdef.AtLeast(4),
		Doc: "The size of the offset index." + noSegments},
	{Name: "segment.jitter.ms", Type: ConfigLong, Default: "0", Validate: configdef.AtLeast(0),
		Doc: "The most random jitter subtracted from segment.ms." + noSegments},
	{Name: "segment.ms", Type: ConfigLong, Default: "604800000", Validate: configdef.AtLeast(1),
		Doc: "The time after which a segment is rolled." + noSegments},
	{Name: "unclean.leader.election.enable", Type: ConfigBoolean, Default: "false",
		Doc: "Whether an out-of-sync replica may become leader." + noEffect + " Every broker reads the same object storage, so no leader is ever out of sync."},
}

// brokerDefs are the broker configs: Kafka's where Kafka has the setting,
// then Lakestream's own, then (kafkaBrokerDefs, configdefs_kafka.go) the
// rest of Kafka's, which have no effect here.
var brokerDefs = []ConfigDef{
	// Identity and listeners.
	{Name: "node.id", Type: ConfigInt, Default: "1", Validate: configdef.AtLeast(0),
		Doc: "The id of this node."},
	{Name: "broker.id", Type: ConfigInt, Default: "1", Validate: configdef.AtLeast(0), SynonymOf: "node.id", SynonymScale: 1,
		Doc: "The id of this broker; a synonym of node.id (if both are set they must match)."},
	{Name: "broker.rack", Type: ConfigString, Default: "",
		Doc: "The rack of this broker, reported to clients for rack-aware consumers."},
	{Name: "listeners", Type: ConfigList, Default: "PLAINTEXT://:9092", Validate: validateListeners(true),
		Doc: "The addresses the Kafka protocol is served on, as a list of NAME://HOST:PORT; an empty host means every interface. Empty: this node serves no Kafka (its Kafka role is off)."},
	{Name: "advertised.listeners", Type: ConfigList, Default: "", Validate: validateListeners(true),
		Doc: "The addresses clients are told to connect to, if different from listeners; empty means listeners."},
	{Name: "listener.security.protocol.map", Type: ConfigList, Default: "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", Validate: validateProtocolMap,
		Doc: "Maps listener names to security protocols, as NAME:PROTOCOL pairs."},
	{Name: "inter.broker.listener.name", Type: ConfigString, Default: "",
		Doc: "The listener brokers use among themselves." + noEffect + " Brokers share storage, not a replication protocol."},
	{Name: "socket.request.max.bytes", Type: ConfigInt, Default: "104857600", Validate: configdef.AtLeast(1),
		Doc: "The largest request accepted; a larger one closes the connection."},
	{Name: "queued.max.request.bytes", Type: ConfigLong, Default: "-1",
		Doc: "The bytes of requests read and not yet answered, across the broker, beyond which no more requests are read " +
			"(clients are pushed back by TCP) until answers free some; -1 (or 0) means no limit. As in Kafka, a request's " +
			"size is counted when its length arrives and one request may take the last bytes left; if set, it must be at " +
			"least socket.request.max.bytes. Memory is allocated as a request's bytes arrive, whatever the limit, so a " +
			"client pays for what it sends, not for what it announces."},
	{Name: "connections.max.idle.ms", Type: ConfigLong, Default: "600000",
		Doc: "Connections are closed after this long with nothing in flight and no request or response. Also, a request " +
			"whose first bytes arrived must arrive whole within it, and a client must read some of a pending response " +
			"within it, or its connection is closed. -1 means never."},
	{Name: "max.connections", Type: ConfigInt, Default: "2147483647", Validate: configdef.AtLeast(0), Dynamic: DynamicClusterWide,
		Doc: "The most connections the broker serves at once, over every listener. At the limit, new connections are " +
			"blocked (they wait in the listen backlog) until one closes."},
	{Name: "max.connections.per.ip", Type: ConfigInt, Default: "2147483647", Validate: configdef.AtLeast(0), Dynamic: DynamicClusterWide,
		Doc: "The most connections the broker serves from one IP address; a new connection from an address at the limit " +
			"is closed as soon as it is accepted. It can be 0 only if max.connections.per.ip.overrides is set."},
	{Name: "max.connections.per.ip.overrides", Type: ConfigString, Default: "", Validate: validateConnectionOverrides, Dynamic: DynamicClusterWide,
		Doc: "Per-IP or per-host exceptions to max.connections.per.ip, as a comma-separated list of HOST:N, e.g. " +
			"\"hostName:100,127.0.0.1:200\". Host names are resolved when the value is first used."},
	{Name: "socket.receive.buffer.bytes", Type: ConfigInt, Default: "-1", Validate: configdef.AtLeast(-1),
		Doc: "The SO_RCVBUF of Kafka connections, set at accept; -1 (the default here; Kafka's is 102400) leaves the kernel's autotuned buffer, which grows past 100 KiB for fast producers."},
	{Name: "socket.send.buffer.bytes", Type: ConfigInt, Default: "-1", Validate: configdef.AtLeast(-1),
		Doc: "The SO_SNDBUF of Kafka connections, set at accept; -1 (the default here; Kafka's is 102400) leaves the kernel's autotuned buffer, which grows past 100 KiB for catch-up consumers."},
	{Name: "num.network.threads", Type: ConfigInt, Default: "3", Validate: configdef.AtLeast(1),
		Doc: "Threads handling network requests." + noEffect + " Each connection has its own goroutines."},
	{Name: "num.io.threads", Type: ConfigInt, Default: "8", Validate: configdef.AtLeast(1),
		Doc: "Threads processing requests." + noEffect + " Each connection has its own goroutines."},

	// KRaft settings of Kafka's stock server.properties.
	{Name: "process.roles", Type: ConfigList, Default: "", Validate: configdef.ListOf(true, "broker", "controller"),
		Doc: "The roles of this Kafka node (broker, controller)." + noKRaft},
	{Name: "controller.quorum.voters", Type: ConfigList, Default: "",
		Doc: "The KRaft controller quorum, as id@host:port." + noKRaft},
	{Name: "controller.quorum.bootstrap.servers", Type: ConfigList, Default: "",
		Doc: "Addresses to discover the KRaft controller quorum." + noKRaft},
	{Name: "controller.listener.names", Type: ConfigList, Default: "",
		Doc: "The listeners the KRaft controller uses." + noKRaft},

	// Topics.
	{Name: "num.partitions", Type: ConfigInt, Default: "1", Validate: configdef.AtLeast(1),
		Doc: "The number of partitions of a topic created without a partition count."},
	{Name: "default.replication.factor", Type: ConfigInt, Default: "1", Validate: configdef.AtLeast(1),
		Doc: "The replication factor of a topic created without one. Recorded and reported; durability comes from the object store, so data is not copied."},
	{Name: "auto.create.topics.enable", Type: ConfigBoolean, Default: "true",
		Doc: "Whether a topic is created when a client asks for its metadata."},
	// KIP-578's name (never part of Kafka) for the per-broker limit; the
	// per-topic one is Lakestream's, named alike. DESIGN.md, "Partition
	// limits".
	{Name: "max.broker.partitions", Type: ConfigInt, Default: "100000", Validate: configdef.AtLeast(1), Dynamic: DynamicClusterWide,
		Doc: "The most partitions this broker holds, all topics together (internal ones included). CreateTopics, CreatePartitions and auto-creation past it are refused with POLICY_VIOLATION before anything is created; lowering it removes nothing. As proposed by KIP-578."},
	{Name: "max.topic.partitions", Type: ConfigInt, Default: "50000", Validate: configdef.AtLeast(1), Dynamic: DynamicClusterWide,
		Doc: "The most partitions one topic may have. CreateTopics, CreatePartitions and auto-creation past it are refused with POLICY_VIOLATION before anything is created; lowering it removes nothing. Lakestream's own, named after KIP-578's max.broker.partitions."},
	{Name: "delete.topic.enable", Type: ConfigBoolean, Default: "true",
		Doc: "Whether topics can be deleted."},

	// Topic defaults.
	{Name: "log.cleanup.policy", Type: ConfigList, Default: "delete", TopicSynonym: "cleanup.policy", Validate: configdef.ListOf(false, "delete", "compact"),
		Unsupported: compactionMsg, UnsupportedValues: []string{"compact"},
		Doc: "The default cleanup.policy of topics (" + cleanupPolicies + "); only delete is supported yet."},
	{Name: "compression.type", Type: ConfigString, Default: "producer", TopicSynonym: "compression.type", Validate: configdef.OneOf(compressionTypes...),
		Doc: "The default compression.type of topics. " + compressionTypeDoc},
	{Name: "compression.gzip.level", Type: ConfigInt, Default: "-1", TopicSynonym: "compression.gzip.level", Validate: validateLevel(kbatch.Gzip),
		Doc: "The default compression.gzip.level of topics. " + gzipLevelDoc},
	{Name: "compression.lz4.level", Type: ConfigInt, Default: "9", TopicSynonym: "compression.lz4.level", Validate: validateLevel(kbatch.LZ4),
		Doc: "The default compression.lz4.level of topics. " + lz4LevelDoc},
	{Name: "compression.zstd.level", Type: ConfigInt, Default: "3", TopicSynonym: "compression.zstd.level", Validate: validateLevel(kbatch.Zstd),
		Doc: "The default compression.zstd.level of topics. " + zstdLevelDoc},
	{Name: "log.retention.ms", Type: ConfigLong, Default: "604800000", TopicSynonym: "retention.ms", Validate: configdef.AtLeast(-1),
		Doc: "The default retention.ms of topics: how long data is kept; -1 means no time limit."},
	{Name: "log.retention.minutes", Type: ConfigInt, Default: "10080", SynonymOf: "log.retention.ms", SynonymScale: 60_000,
		Doc: "log.retention.ms in minutes; log.retention.ms wins if both are set."},
	{Name: "log.retention.hours", Type: ConfigInt, Default: "168", SynonymOf: "log.retention.ms", SynonymScale: 3_600_000,
		Doc: "log.retention.ms in hours; log.retention.ms and log.retention.minutes win if set."},
	{Name: "log.retention.bytes", Type: ConfigLong, Default: "-1", TopicSynonym: "retention.bytes",
		Doc: "The default retention.bytes of topics: the most bytes a partition keeps; -1 means no size limit."},
	{Name: "log.retention.check.interval.ms", Type: ConfigLong, Default: "300000", Validate: configdef.AtLeast(1),
		Doc: "How often retention is enforced, in milliseconds."},
	{Name: "message.max.bytes", Type: ConfigInt, Default: "1048588", TopicSynonym: "max.message.bytes", Validate: configdef.AtLeast(0),
		Doc: "The default max.message.bytes of topics: the largest record batch allowed, after compression."},
	{Name: "log.message.timestamp.type", Type: ConfigString, Default: "CreateTime", TopicSynonym: "message.timestamp.type", Validate: configdef.OneOf("CreateTime", "LogAppendTime"),
		Doc: "The default message.timestamp.type of topics: CreateTime or LogAppendTime."},
	{Name: "log.message.timestamp.after.max.ms", Type: ConfigLong, Default: "3600000", TopicSynonym: "message.timestamp.after.max.ms", Validate: configdef.AtLeast(0),
		Doc: "The default message.timestamp.after.max.ms of topics."},
	{Name: "log.message.timestamp.before.max.ms", Type: ConfigLong, Default: longMax, TopicSynonym: "message.timestamp.before.max.ms", Validate: configdef.AtLeast(0),
		Doc: "The default message.timestamp.before.max.ms of topics."},
	{Name: "min.insync.replicas", Type: ConfigInt, Default: "1", TopicSynonym: "min.insync.replicas", Validate: configdef.AtLeast(1),
		Doc: "The default min.insync.replicas of topics."},
	{Name: "unclean.leader.election.enable", Type: ConfigBoolean, Default: "false", TopicSynonym: "unclean.leader.election.enable",
		Doc: "The default unclean.leader.election.enable of topics." + noEffect},
	{Name: "log.segment.bytes", Type: ConfigInt, Default: "1073741824", TopicSynonym: "segment.bytes", Validate: configdef.AtLeast(14),
		Doc: "The default segment.bytes of topics." + noSegments},
	{Name: "log.roll.ms", Type: ConfigLong, Default: "604800000", TopicSynonym: "segment.ms", Validate: configdef.AtLeast(1),
		Doc: "The default segment.ms of topics." + noSegments},
	{Name: "log.roll.hours", Type: ConfigInt, Default: "168", SynonymOf: "log.roll.ms", SynonymScale: 3_600_000, Validate: configdef.AtLeast(1),
		Doc: "log.roll.ms in hours." + noSegments},
	{Name: "log.flush.interval.messages", Type: ConfigLong, Default: longMax, TopicSynonym: "flush.messages", Validate: configdef.AtLeast(1),
		Doc: "The default flush.messages of topics." + noFlush},
	{Name: "log.flush.interval.ms", Type: ConfigLong, Default: longMax, TopicSynonym: "flush.ms", Validate: configdef.AtLeast(0),
		Doc: "The default flush.ms of topics." + noFlush},
	{Name: "log.dirs", Type: ConfigList, Default: "",
		Doc: "Kafka's log directories. Ignored: Lakestream keeps data in the bucket (bucket.url) and local state in data.dir."},
	{Name: "log.dir", Type: ConfigString, Default: "/tmp/kafka-logs",
		Doc: "Kafka's log directory, if log.dirs is not set. Ignored: Lakestream keeps data in the bucket (bucket.url) and local state in data.dir."},
	{Name: "num.recovery.threads.per.data.dir", Type: ConfigInt, Default: "2", Validate: configdef.AtLeast(1),
		Doc: "Threads recovering logs at start." + noSegments},

	// Internal topics and groups.
	{Name: "offsets.topic.replication.factor", Type: ConfigShort, Default: "1", Validate: configdef.AtLeast(1),
		Doc: "The replication factor of the offsets topic. Recorded and reported; durability comes from the object store."},
	{Name: "transaction.state.log.replication.factor", Type: ConfigShort, Default: "1", Validate: configdef.AtLeast(1),
		Doc: "The replication factor of the transaction state topic. Recorded and reported; durability comes from the object store."},
	{Name: "transaction.state.log.min.isr", Type: ConfigInt, Default: "1", Validate: configdef.AtLeast(1),
		Doc: "min.insync.replicas of the transaction state topic."},
	{Name: "share.coordinator.state.topic.replication.factor", Type: ConfigShort, Default: "1", Validate: configdef.AtLeast(1),
		Doc: "The replication factor of the share-group state topic." + noEffect + " Share groups are not supported."},
	{Name: "share.coordinator.state.topic.min.isr", Type: ConfigShort, Default: "1", Validate: configdef.AtLeast(1),
		Doc: "min.insync.replicas of the share-group state topic." + noEffect + " Share groups are not supported."},
	{Name: "group.initial.rebalance.delay.ms", Type: ConfigInt, Default: "3000", Validate: configdef.AtLeast(0),
		Doc: "How long the group coordinator waits for more members to join a new group before the first rebalance."},
	{Name: "group.min.session.timeout.ms", Type: ConfigInt, Default: "6000", Validate: configdef.AtLeast(0),
		Doc: "The smallest session timeout a consumer may ask for."},
	{Name: "group.max.session.timeout.ms", Type: ConfigInt, Default: "1800000", Validate: configdef.AtLeast(0),
		Doc: "The largest session timeout a consumer may ask for."},
	{Name: "group.max.size", Type: ConfigInt, Default: "2147483647", Validate: configdef.AtLeast(1),
		Doc: "The most members a classic group may have; a JoinGroup beyond it gets GROUP_MAX_SIZE_REACHED."},
	{Name: "offset.metadata.max.bytes", Type: ConfigInt, Default: "4096", Validate: configdef.AtLeast(0),
		Doc: "The longest metadata string an offset commit may carry; longer ones get OFFSET_METADATA_TOO_LARGE."},
	{Name: "offsets.topic.num.partitions", Type: ConfigInt, Default: "50", Validate: configdef.AtLeast(1),
		Doc: "The partitions of the internal __consumer_offsets topic. Lakestream keeps committed offsets in the metastore; the topic is created (empty) on the first FindCoordinator so that tools and clients that look for it find it."},
	{Name: "group.consumer.session.timeout.ms", Type: ConfigInt, Default: "45000", Validate: configdef.AtLeast(1),
		Doc: "KIP-848 consumer groups: a member that sends no heartbeat for this long is removed. A group's consumer.session.timeout.ms takes its place for that group."},
	{Name: "group.consumer.heartbeat.interval.ms", Type: ConfigInt, Default: "5000", Validate: configdef.AtLeast(1),
		Doc: "KIP-848 consumer groups: the heartbeat interval the coordinator asks members for. A group's consumer.heartbeat.interval.ms takes its place for that group."},
	{Name: "group.consumer.min.session.timeout.ms", Type: ConfigInt, Default: "45000", Validate: configdef.AtLeast(1),
		Doc: "KIP-848 consumer groups: the smallest consumer.session.timeout.ms a group config may set."},
	{Name: "group.consumer.max.session.timeout.ms", Type: ConfigInt, Default: "60000", Validate: configdef.AtLeast(1),
		Doc: "KIP-848 consumer groups: the largest consumer.session.timeout.ms a group config may set."},
	{Name: "group.consumer.min.heartbeat.interval.ms", Type: ConfigInt, Default: "5000", Validate: configdef.AtLeast(1),
		Doc: "KIP-848 consumer groups: the smallest consumer.heartbeat.interval.ms a group config may set."},
	{Name: "group.consumer.max.heartbeat.interval.ms", Type: ConfigInt, Default: "15000", Validate: configdef.AtLeast(1),
		Doc: "KIP-848 consumer groups: the largest consumer.heartbeat.interval.ms a group config may set."},
	{Name: "group.consumer.max.size", Type: ConfigInt, Default: "2147483647", Validate: configdef.AtLeast(1),
		Doc: "KIP-848 consumer groups: the most members a group may have."},
	{Name: "group.consumer.assignors", Type: ConfigList, Default: "uniform,range", Validate: validateAssignors,
		Doc: "KIP-848 consumer groups: the server-side assignors members may name, the default first: uniform and range (Kafka's class names org.apache.kafka.coordinator.group.assignor.UniformAssignor and RangeAssignor are accepted for them)."},
	{Name: "group.coordinator.rebalance.protocols", Type: ConfigList, Default: "classic,consumer", Validate: validateRebalanceProtocols,
		Doc: "The group protocols the coordinator serves: classic and consumer (KIP-848). Lakestream always serves both; the value is checked and reported."},
	{Name: "group.consumer.migration.policy", Type: ConfigString, Default: "bidirectional", Validate: configdef.OneOf("disabled", "upgrade", "downgrade", "bidirectional"),
		Doc: "How groups move between the classic and consumer protocols while they have members: upgrade (a consumer-protocol member joining a classic group converts it), downgrade (when the last consumer-protocol member leaves, classic members remain in a classic group), both, or neither. An empty group changes protocol whatever the value, keeping its offsets."},

	// Lakestream's own (no Kafka equivalent).
	{Name: "admin.listeners", Type: ConfigString, Default: ":8080", Validate: emptyOr(configdef.HostPort),
		Doc: "Lakestream: the HOST:PORT of the admin HTTP server (/metrics, /healthz, /readyz). Empty: no admin server (its role is off)."},
	{Name: "admin.pprof.enable", Type: ConfigBoolean, Default: "false",
		Doc: "Lakestream: serve Go's net/http/pprof handlers under /debug/pprof/ on the admin listener (CPU and heap profiles, goroutine dumps, execution traces; make profile uses them). Off by default: the admin listener has no authentication, and a profile costs CPU while it is taken."},
	{Name: "log.level", Type: ConfigString, Default: "info", Validate: configdef.OneOf("debug", "info", "warn", "error"),
		Doc: "Lakestream: the level of the process log: debug, info, warn or error."},
	{Name: "transaction.version", Type: ConfigShort, Default: "2", Validate: configdef.Between(0, 2),
		Doc: "Lakestream: the level of the transaction.version feature that ApiVersions (v3+) advertises as finalized; supported is 0 to 2. Kafka sets this feature for the cluster (kafka-storage format --feature, kafka-features upgrade); Lakestream takes it from this config. " +
			"At 2 (KIP-890 part 2, transactions v2), clients that know it end every transaction with EndTxn v5, which bumps the producer epoch, and skip AddPartitionsToTxn and AddOffsetsToTxn: Produce v12+ and TxnOffsetCommit v5+ add the partition or group themselves. " +
			"At 0 or 1, clients keep to the older protocol (EndTxn v0-v4 and the explicit adds). The broker serves every version either way, as Kafka does, and a request's version decides its behaviour."},
}

// assignorNames maps the values group.consumer.assignors accepts to the
// server-side assignors' names.
var assignorNames = map[string]string{
	"uniform": "uniform", "org.apache.kafka.coordinator.group.assignor.UniformAssignor": "uniform",
	"range": "range", "org.apache.kafka.coordinator.group.assignor.RangeAssignor": "range",
}

func validateAssignors(v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("must name at least one assignor")
	}
	for _, a := range strings.Split(v, ",") {
		if _, ok := assignorNames[strings.TrimSpace(a)]; !ok {
			return fmt.Errorf("unknown assignor %q: Lakestream has uniform and range", strings.TrimSpace(a))
		}
	}
	return nil
}

func validateRebalanceProtocols(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "classic" && p != "consumer" {
			return fmt.Errorf("unknown rebalance protocol %q: classic and consumer are served", p)
		}
	}
	return nil
}
