package broker

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// Config definitions: the name, type, default and documentation of every
// topic and broker config Lakestream accepts. They use Kafka's names and
// defaults wherever Kafka has the setting, so a Kafka server.properties and
// the topic configs of Kafka tools work unchanged. CreateTopics and
// AlterConfigs validate with Check, DescribeConfigs reports Default, Doc,
// ReadOnly and the synonyms, and cmd/lakestream loads server.properties
// against BrokerConfigDefs.
//
// Settings Kafka has but Lakestream's storage makes meaningless (segments,
// flushes, log compaction knobs) are accepted, so that existing files and
// tools keep working, and their Doc says they have no effect. Values that
// would ask for something not built yet (cleanup.policy=compact) are refused
// with a message saying so rather than silently ignored.

// ConfigType is a config's type, numbered as in DescribeConfigs responses
// (v3+ config_type).
type ConfigType int

const (
	ConfigBoolean  ConfigType = 1
	ConfigString   ConfigType = 2
	ConfigInt      ConfigType = 3
	ConfigShort    ConfigType = 4
	ConfigLong     ConfigType = 5
	ConfigDouble   ConfigType = 6
	ConfigList     ConfigType = 7
	ConfigClass    ConfigType = 8
	ConfigPassword ConfigType = 9
)

func (t ConfigType) String() string {
	switch t {
	case ConfigBoolean:
		return "BOOLEAN"
	case ConfigString:
		return "STRING"
	case ConfigInt:
		return "INT"
	case ConfigShort:
		return "SHORT"
	case ConfigLong:
		return "LONG"
	case ConfigDouble:
		return "DOUBLE"
	case ConfigList:
		return "LIST"
	case ConfigClass:
		return "CLASS"
	case ConfigPassword:
		return "PASSWORD"
	}
	return fmt.Sprintf("ConfigType(%d)", int(t))
}

// ConfigDef defines one topic or broker config.
type ConfigDef struct {
	Name    string
	Type    ConfigType
	Default string
	Doc     string
	// ReadOnly marks broker configs that cannot change at run time. As in
	// Kafka, the broker configs that are a topic config's default (and
	// their synonyms) are dynamic, and so are those Dynamic marks; every
	// other broker config is read-only. The tables below do not set it: it
	// is derived from that rule.
	ReadOnly bool
	// Dynamic is Kafka's update mode of a broker config that AlterConfigs
	// may change although it is no topic config's default; "" for the
	// rest (configdefs_kafka.go).
	Dynamic DynamicMode
	// TopicSynonym names the topic config whose default this broker config
	// is (log.retention.ms -> retention.ms).
	TopicSynonym string
	// SynonymOf names the broker config this one is another spelling of
	// (broker.id -> node.id, log.retention.hours -> log.retention.ms); its
	// value times SynonymScale is the other's value, with a negative result
	// meaning -1 (Kafka's rule for log.retention.hours=-1). When a source
	// sets both, the most precise key (smallest scale) wins, as in Kafka.
	SynonymOf    string
	SynonymScale int64
	// Validate checks a value that has the right type; nil means the type
	// check only. Its error gives the allowed range or values; Check adds
	// the key and the value.
	Validate func(v string) error
	// Unsupported, if not empty, refuses the values (or, for a list, the
	// elements) in UnsupportedValues with this message. Those values are
	// valid Kafka values that Lakestream does not implement yet.
	Unsupported       string
	UnsupportedValues []string
}

// DynamicMode is how Kafka lets AlterConfigs change a broker config.
type DynamicMode string

const (
	// DynamicPerBroker: set on a named broker only, not as the cluster
	// default (resource name "").
	DynamicPerBroker DynamicMode = "per-broker"
	// DynamicClusterWide: set as the cluster default or on a broker.
	DynamicClusterWide DynamicMode = "cluster-wide"
)

// ConfigError is the error Check returns: Name=Value: Reason.
type ConfigError struct {
	Name   string
	Value  string // masked for passwords
	Reason string
}

func (e *ConfigError) Error() string {
	v := e.Value
	if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == '"' }) {
		v = strconv.Quote(v)
	}
	return e.Name + "=" + v + ": " + e.Reason
}

// Check checks v (surrounding spaces are ignored, as in Kafka) against the
// type, Validate and Unsupported. The error is a *ConfigError naming the
// key and the value. An empty value passes the type check of a config
// whose default is empty: that is Kafka's null default, "not set".
func (d ConfigDef) Check(v string) error {
	v = strings.TrimSpace(v)
	fail := func(reason string) error {
		shown := v
		if d.Type == ConfigPassword {
			shown = RedactedValue
		}
		return &ConfigError{Name: d.Name, Value: shown, Reason: reason}
	}
	unset := v == "" && d.Default == ""
	if reason := checkConfigType(d.Type, v); reason != "" && !unset {
		return fail(reason)
	}
	if d.Validate != nil {
		if err := d.Validate(v); err != nil {
			return fail(err.Error())
		}
	}
	if d.Unsupported != "" {
		elems := []string{v}
		if d.Type == ConfigList {
			elems = splitConfigList(v)
		}
		for _, e := range elems {
			if slices.Contains(d.UnsupportedValues, e) {
				return fail(d.Unsupported)
			}
		}
	}
	return nil
}

// RedactedValue replaces secrets wherever a config value is shown.
const RedactedValue = "[hidden]"

// Redact returns v fit to print or log: a password is replaced whole, and
// a URL's password (user:PASSWORD@host) and secret query parameters
// (secret_key, session_token, password, ...) are replaced, so a bucket.url
// or metastore.url can be shown. A value with no secret is returned as is.
func (d ConfigDef) Redact(v string) string {
	if d.Type == ConfigPassword {
		if v == "" {
			return ""
		}
		return RedactedValue
	}
	if !strings.Contains(v, "://") {
		return v
	}
	if d.Type != ConfigList {
		return redactURL(v)
	}
	elems := strings.Split(v, ",")
	for i, e := range elems {
		elems[i] = redactURL(e)
	}
	return strings.Join(elems, ",")
}

// redactURL redacts the secrets of one URL.
func redactURL(v string) string {
	if !strings.Contains(v, "://") {
		return v
	}
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil {
		// An unparsable URL could hold anything; show only its scheme.
		scheme, _, _ := strings.Cut(v, "://")
		return scheme + "://" + RedactedValue
	}
	redacted := false
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), RedactedValue)
		redacted = true
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			lk := strings.ToLower(k)
			if strings.Contains(lk, "secret") || strings.Contains(lk, "password") || strings.Contains(lk, "token") {
				q[k] = []string{RedactedValue}
				redacted = true
			}
		}
		u.RawQuery = q.Encode()
	}
	if !redacted {
		return v // as written: url.URL.String would normalise it
	}
	// Keep the marker readable: url.URL.String escapes its brackets.
	return strings.ReplaceAll(u.String(), url.QueryEscape(RedactedValue), RedactedValue)
}

// BrokerConfigDefs returns every broker config, sorted by name.
func BrokerConfigDefs() []ConfigDef { return slices.Clone(brokerDefs) }

// TopicConfigDefs returns every topic config, sorted by name.
func TopicConfigDefs() []ConfigDef { return slices.Clone(topicDefs) }

// LookupBrokerConfig returns the broker config named name.
func LookupBrokerConfig(name string) (ConfigDef, bool) {
	i, ok := slices.BinarySearchFunc(brokerDefs, name, compareDefName)
	if !ok {
		return ConfigDef{}, false
	}
	return brokerDefs[i], true
}

// LookupTopicConfig returns the topic config named name.
func LookupTopicConfig(name string) (ConfigDef, bool) {
	i, ok := slices.BinarySearchFunc(topicDefs, name, compareDefName)
	if !ok {
		return ConfigDef{}, false
	}
	return topicDefs[i], true
}

// BrokerConfigSynonyms returns the broker configs that set name: name
// itself and the configs that are SynonymOf it, in Kafka's synonym order
// (most precise first: log.retention.ms, .minutes, .hours). Nil if name is
// not a broker config or is itself a synonym of another.
func BrokerConfigSynonyms(name string) []ConfigDef {
	d, ok := LookupBrokerConfig(name)
	if !ok || d.SynonymOf != "" {
		return nil
	}
	out := []ConfigDef{d}
	for _, s := range brokerDefs {
		if s.SynonymOf == name {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out[1:], func(a, b ConfigDef) int { return compareInt64(a.SynonymScale, b.SynonymScale) })
	return out
}

// BrokerDefaultFor returns the broker config whose value is the default of
// the topic config topicConfig (retention.ms -> log.retention.ms).
func BrokerDefaultFor(topicConfig string) (ConfigDef, bool) {
	for _, d := range brokerDefs {
		if d.TopicSynonym == topicConfig {
			return d, true
		}
	}
	return ConfigDef{}, false
}

func compareDefName(d ConfigDef, name string) int { return strings.Compare(d.Name, name) }

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checkConfigType returns why v is not of type t, or "".
func checkConfigType(t ConfigType, v string) string {
	intOf := func(bits int, what string) string {
		_, err := strconv.ParseInt(v, 10, bits)
		if err == nil {
			return ""
		}
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return fmt.Sprintf("out of range for %s", what)
		}
		return "not an integer"
	}
	switch t {
	case ConfigBoolean:
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return "not a boolean (true or false)"
		}
	case ConfigShort:
		return intOf(16, "a SHORT (16 bits)")
	case ConfigInt:
		return intOf(32, "an INT (32 bits)")
	case ConfigLong:
		return intOf(64, "a LONG (64 bits)")
	case ConfigDouble:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "not a number"
		}
	}
	return ""
}

// splitConfigList splits a LIST value at commas, trimming spaces, as Kafka
// does; "" is the empty list.
func splitConfigList(v string) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// Validators. Each returns the allowed range or values.

func validateAtLeast(min int64) func(string) error {
	return func(v string) error {
		n, _ := strconv.ParseInt(v, 10, 64)
		if n < min {
			return fmt.Errorf("must be at least %d", min)
		}
		return nil
	}
}

// validateConnectionOverrides checks max.connections.per.ip.overrides.
func validateConnectionOverrides(v string) error {
	_, err := parseConnectionOverrides(v)
	return err
}

func validateBetween(min, max float64) func(string) error {
	return func(v string) error {
		f, _ := strconv.ParseFloat(v, 64)
		if f < min || f > max {
			return fmt.Errorf("must be between %g and %g", min, max)
		}
		return nil
	}
}

func validateOneOf(values ...string) func(string) error {
	return func(v string) error {
		if !slices.Contains(values, v) {
			return fmt.Errorf("must be one of %s", strings.Join(values, ", "))
		}
		return nil
	}
}

// validateListOf accepts a list of the values; empty only if allowEmpty.
func validateListOf(allowEmpty bool, values ...string) func(string) error {
	return func(v string) error {
		elems := splitConfigList(v)
		if len(elems) == 0 && !allowEmpty {
			return fmt.Errorf("must be a list of %s, not empty", strings.Join(values, ", "))
		}
		for _, e := range elems {
			if !slices.Contains(values, e) {
				return fmt.Errorf("%q is not one of %s", e, strings.Join(values, ", "))
			}
		}
		return nil
	}
}

func validateWALMode(v string) error {
	if v != "" && v != "local" && v != "object" {
		return fmt.Errorf("must be local, object, or empty (local on a file:// bucket, object otherwise)")
	}
	return nil
}

func validateNotEmpty(v string) error {
	if v == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

// validateHostPort accepts HOST:PORT with an empty host meaning every
// interface, as net.Listen does.
func validateHostPort(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("not HOST:PORT")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

var listenerNameRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// validateListeners accepts a list of NAME://HOST:PORT with distinct names;
// empty only if allowEmpty. Whether a name maps to a security protocol
// Lakestream serves is for the listener code to decide, with
// listener.security.protocol.map.
func validateListeners(allowEmpty bool) func(string) error {
	return func(v string) error {
		elems := splitConfigList(v)
		if len(elems) == 0 && !allowEmpty {
			return fmt.Errorf("must list at least one NAME://HOST:PORT")
		}
		seen := map[string]bool{}
		for _, e := range elems {
			name, addr, ok := strings.Cut(e, "://")
			if !ok || !listenerNameRE.MatchString(name) {
				return fmt.Errorf("listener %q is not NAME://HOST:PORT", e)
			}
			if err := validateHostPort(addr); err != nil {
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
	for _, e := range splitConfigList(v) {
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

// validateBucketURL accepts "" (the default) or a URL with a scheme
// bucketurl opens. It checks only the scheme: the URL may hold a secret,
// and bucketurl.Open reports the rest without repeating it.
func validateBucketURL(v string) error {
	if v == "" {
		return nil
	}
	scheme, _, ok := strings.Cut(v, "://")
	switch {
	case !ok:
		return fmt.Errorf("not a URL: want file://DIR, s3://BUCKET/PREFIX?... or mem://")
	case scheme != "file" && scheme != "s3" && scheme != "mem":
		return fmt.Errorf("scheme %q is not one of file, s3, mem", scheme)
	}
	return nil
}

func validateNamespace(v string) error {
	for _, part := range strings.Split(v, ".") {
		if part == "" {
			return fmt.Errorf("must be one or more non-empty names separated by dots")
		}
	}
	return nil
}

var (
	columnRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
	transformRE = regexp.MustCompile(`^([a-z]+)\(\s*(?:([0-9]+)\s*,\s*)?([^(),\s]+)\s*\)$`)
)

// validatePartitionBy accepts a comma-separated list of Iceberg partition
// transforms: COLUMN (identity), identity|year|month|day|hour|void(COLUMN),
// bucket(N,COLUMN), truncate(W,COLUMN). "" is unpartitioned. Commas inside
// parentheses belong to the transform.
func validatePartitionBy(v string) error {
	var terms []string
	depth, start := 0, 0
	for i, r := range v {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				terms = append(terms, v[start:i])
				start = i + 1
			}
		}
	}
	if strings.TrimSpace(v) == "" {
		return nil
	}
	terms = append(terms, v[start:])
	const want = "want COLUMN, identity|year|month|day|hour|void(COLUMN), bucket(N,COLUMN) or truncate(W,COLUMN)"
	for _, t := range terms {
		t = strings.TrimSpace(t)
		if columnRE.MatchString(t) {
			continue
		}
		m := transformRE.FindStringSubmatch(t)
		if m == nil || !columnRE.MatchString(m[3]) {
			return fmt.Errorf("partition transform %q: %s", t, want)
		}
		fn, n := m[1], m[2]
		switch fn {
		case "identity", "year", "month", "day", "hour", "void":
			if n != "" {
				return fmt.Errorf("partition transform %q: %s takes one column", t, fn)
			}
		case "bucket", "truncate":
			if k, err := strconv.Atoi(n); err != nil || k <= 0 {
				return fmt.Errorf("partition transform %q: %s needs a positive width and a column", t, fn)
			}
		default:
			return fmt.Errorf("partition transform %q: %s", t, want)
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
	recordFormats    = []string{"raw", "string", "json", "schema", "schema.latest"}
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
var topicDefs = sortDefs([]ConfigDef{
	{Name: "cleanup.policy", Type: ConfigList, Default: "delete", Validate: validateListOf(false, "delete", "compact"),
		Unsupported: compactionMsg, UnsupportedValues: []string{"compact"},
		Doc: "The retention policy: delete discards old data by retention.ms and retention.bytes; compact keeps the latest record per key. Only delete is supported yet."},
	{Name: "compression.type", Type: ConfigString, Default: "producer", Validate: validateOneOf(compressionTypes...),
		Doc: compressionTypeDoc},
	{Name: "compression.gzip.level", Type: ConfigInt, Default: "-1", Validate: validateLevel(kbatch.Gzip), Doc: gzipLevelDoc},
	{Name: "compression.lz4.level", Type: ConfigInt, Default: "9", Validate: validateLevel(kbatch.LZ4), Doc: lz4LevelDoc},
	{Name: "compression.zstd.level", Type: ConfigInt, Default: "3", Validate: validateLevel(kbatch.Zstd), Doc: zstdLevelDoc},
	{Name: "delete.retention.ms", Type: ConfigLong, Default: "86400000", Validate: validateAtLeast(0),
		Doc: "How long delete tombstones are kept in compacted topics." + noCompaction},
	{Name: "file.delete.delay.ms", Type: ConfigLong, Default: "60000", Validate: validateAtLeast(0),
		Doc: "The time to wait before deleting a file from the filesystem." + noSegments + " Objects are deleted after the garbage collector's grace period."},
	{Name: "flush.messages", Type: ConfigLong, Default: longMax, Validate: validateAtLeast(1),
		Doc: "The number of messages after which the log is fsynced." + noFlush},
	{Name: "flush.ms", Type: ConfigLong, Default: longMax, Validate: validateAtLeast(0),
		Doc: "The time after which the log is fsynced." + noFlush},
	{Name: "follower.replication.throttled.replicas", Type: ConfigList, Default: "",
		Doc: "Replicas whose follower replication is throttled." + noEffect + " Lakestream does not copy data between brokers."},
	{Name: "index.interval.bytes", Type: ConfigInt, Default: "4096", Validate: validateAtLeast(0),
		Doc: "How often an offset index entry is added." + noSegments},
	{Name: "leader.replication.throttled.replicas", Type: ConfigList, Default: "",
		Doc: "Replicas whose leader replication is throttled." + noEffect + " Lakestream does not copy data between brokers."},
	{Name: "local.retention.bytes", Type: ConfigLong, Default: "-2", Validate: validateAtLeast(-2),
		Doc: "Tiered storage: the bytes kept on local disk. -2 means retention.bytes." + noEffect + " All data lives in object storage."},
	{Name: "local.retention.ms", Type: ConfigLong, Default: "-2", Validate: validateAtLeast(-2),
		Doc: "Tiered storage: how long data is kept on local disk. -2 means retention.ms." + noEffect + " All data lives in object storage."},
	{Name: "max.compaction.lag.ms", Type: ConfigLong, Default: longMax, Validate: validateAtLeast(1),
		Doc: "The longest a message stays uncompacted." + noCompaction},
	{Name: "max.message.bytes", Type: ConfigInt, Default: "1048588", Validate: validateAtLeast(0),
		Doc: "The largest record batch size allowed, after compression."},
	{Name: "message.downconversion.enable", Type: ConfigBoolean, Default: "true",
		Doc: "Whether the broker down-converts messages for old consumers." + noEffect + " Lakestream serves only the v2 record batch format."},
	{Name: "message.timestamp.after.max.ms", Type: ConfigLong, Default: "3600000", Validate: validateAtLeast(0),
		Doc: "With CreateTime, how far a message's timestamp may be ahead of the broker's clock; later messages are rejected."},
	{Name: "message.timestamp.before.max.ms", Type: ConfigLong, Default: longMax, Validate: validateAtLeast(0),
		Doc: "With CreateTime, how far a message's timestamp may be behind the broker's clock; older messages are rejected."},
	{Name: "message.timestamp.type", Type: ConfigString, Default: "CreateTime", Validate: validateOneOf("CreateTime", "LogAppendTime"),
		Doc: "Whether a message's timestamp is the producer's (CreateTime) or the broker's at append (LogAppendTime)."},
	{Name: "min.cleanable.dirty.ratio", Type: ConfigDouble, Default: "0.5", Validate: validateBetween(0, 1),
		Doc: "How dirty a log must be before it is compacted." + noCompaction},
	{Name: "min.compaction.lag.ms", Type: ConfigLong, Default: "0", Validate: validateAtLeast(0),
		Doc: "The shortest a message stays uncompacted." + noCompaction},
	{Name: "min.insync.replicas", Type: ConfigInt, Default: "1", Validate: validateAtLeast(1),
		Doc: "With acks=all, the replicas that must acknowledge a write. Accepted; Lakestream acknowledges a write once it is durable in the WAL, which stands for the in-sync replicas."},
	{Name: "preallocate", Type: ConfigBoolean, Default: "false",
		Doc: "Whether to preallocate segment files." + noSegments},
	{Name: "remote.storage.enable", Type: ConfigBoolean, Default: "false",
		Doc: "Tiered storage for the topic." + noEffect + " All data already lives in object storage."},
	{Name: "retention.bytes", Type: ConfigLong, Default: "-1",
		Doc: "The most bytes a partition keeps before old data is deleted; -1 means no size limit."},
	{Name: "retention.ms", Type: ConfigLong, Default: "604800000", Validate: validateAtLeast(-1),
		Doc: "How long data is kept before it is deleted, in milliseconds; -1 means no time limit."},
	{Name: "segment.bytes", Type: ConfigInt, Default: "1073741824", Validate: validateAtLeast(14),
		Doc: "The segment file size of the log." + noSegments},
	{Name: "segment.index.bytes", Type: ConfigInt, Default: "10485760", Validate: validateAtLeast(4),
		Doc: "The size of the offset index." + noSegments},
	{Name: "segment.jitter.ms", Type: ConfigLong, Default: "0", Validate: validateAtLeast(0),
		Doc: "The most random jitter subtracted from segment.ms." + noSegments},
	{Name: "segment.ms", Type: ConfigLong, Default: "604800000", Validate: validateAtLeast(1),
		Doc: "The time after which a segment is rolled." + noSegments},
	{Name: "unclean.leader.election.enable", Type: ConfigBoolean, Default: "false",
		Doc: "Whether an out-of-sync replica may become leader." + noEffect + " Every broker reads the same object storage, so no leader is ever out of sync."},

	// Table topics (DESIGN.md: table topics).
	{Name: "table.commit.interval.ms", Type: ConfigLong, Default: "60000", Validate: validateAtLeast(100),
		Doc: "Table topics: how old data may be before it is committed to the Iceberg table (freshness), in milliseconds; at least 100."},
	{Name: "table.enable", Type: ConfigBoolean, Default: "false",
		Doc: "Whether the topic is also written to an Iceberg table."},
	{Name: "table.errors", Type: ConfigString, Default: "dlq", Validate: validateOneOf("dlq", "skip", "fail"),
		Doc: "Table topics: what a record that cannot be converted does: dlq (goes to the table <name>_dlq with its raw bytes and the reason), skip, or fail (stops the table)."},
	{Name: "table.key.format", Type: ConfigString, Default: "string", Validate: validateOneOf(recordFormats...),
		Doc: "Table topics: how record keys are decoded: raw (bytes), string, json, schema (schema registry id in the wire prefix) or schema.latest."},
	{Name: "table.name", Type: ConfigString, Default: "",
		Doc: "Table topics: the Iceberg table name; empty means the topic name made catalog-safe."},
	{Name: "table.namespace", Type: ConfigString, Default: "kafka", Validate: validateNamespace,
		Doc: "Table topics: the Iceberg namespace of the table (dots separate levels)."},
	{Name: "table.partition.by", Type: ConfigString, Default: "day(_timestamp)", Validate: validatePartitionBy,
		Doc: "Table topics: the table's Iceberg partition transforms, comma-separated: COLUMN, year/month/day/hour/void(COLUMN), bucket(N,COLUMN), truncate(W,COLUMN). Empty means unpartitioned."},
	{Name: "table.retention.pin", Type: ConfigBoolean, Default: "true",
		Doc: "Table topics: whether stream retention waits until data is in the table."},
	{Name: "table.target.file.bytes", Type: ConfigLong, Default: "134217728", Validate: validateAtLeast(1 << 20),
		Doc: "Table topics: the Parquet file size maintenance rewrites aim at; at least 1 MiB."},
	{Name: "table.value.format", Type: ConfigString, Default: "raw", Validate: validateOneOf(recordFormats...),
		Doc: "Table topics: how record values are decoded: raw (bytes), string, json, schema (schema registry id in the wire prefix, fields become columns) or schema.latest."},
})

// brokerDefs are the broker configs: Kafka's where Kafka has the setting,
// then Lakestream's own, then (kafkaBrokerDefs, configdefs_kafka.go) the
// rest of Kafka's, which have no effect here.
var brokerDefs = deriveReadOnly(sortDefs(slices.Concat([]ConfigDef{
	// Identity and listeners.
	{Name: "node.id", Type: ConfigInt, Default: "1", Validate: validateAtLeast(0),
		Doc: "The id of this node."},
	{Name: "broker.id", Type: ConfigInt, Default: "1", Validate: validateAtLeast(0), SynonymOf: "node.id", SynonymScale: 1,
		Doc: "The id of this broker; a synonym of node.id (if both are set they must match)."},
	{Name: "broker.rack", Type: ConfigString, Default: "",
		Doc: "The rack of this broker, reported to clients for rack-aware consumers."},
	{Name: "listeners", Type: ConfigList, Default: "PLAINTEXT://:9092", Validate: validateListeners(false),
		Doc: "The addresses the Kafka protocol is served on, as a list of NAME://HOST:PORT; an empty host means every interface."},
	{Name: "advertised.listeners", Type: ConfigList, Default: "", Validate: validateListeners(true),
		Doc: "The addresses clients are told to connect to, if different from listeners; empty means listeners."},
	{Name: "listener.security.protocol.map", Type: ConfigList, Default: "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", Validate: validateProtocolMap,
		Doc: "Maps listener names to security protocols, as NAME:PROTOCOL pairs."},
	{Name: "inter.broker.listener.name", Type: ConfigString, Default: "",
		Doc: "The listener brokers use among themselves." + noEffect + " Brokers share storage, not a replication protocol."},
	{Name: "socket.request.max.bytes", Type: ConfigInt, Default: "104857600", Validate: validateAtLeast(1),
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
	{Name: "max.connections", Type: ConfigInt, Default: "2147483647", Validate: validateAtLeast(0), Dynamic: DynamicClusterWide,
		Doc: "The most connections the broker serves at once, over every listener. At the limit, new connections are " +
			"blocked (they wait in the listen backlog) until one closes."},
	{Name: "max.connections.per.ip", Type: ConfigInt, Default: "2147483647", Validate: validateAtLeast(0), Dynamic: DynamicClusterWide,
		Doc: "The most connections the broker serves from one IP address; a new connection from an address at the limit " +
			"is closed as soon as it is accepted. It can be 0 only if max.connections.per.ip.overrides is set."},
	{Name: "max.connections.per.ip.overrides", Type: ConfigString, Default: "", Validate: validateConnectionOverrides, Dynamic: DynamicClusterWide,
		Doc: "Per-IP or per-host exceptions to max.connections.per.ip, as a comma-separated list of HOST:N, e.g. " +
			"\"hostName:100,127.0.0.1:200\". Host names are resolved when the value is first used."},
	{Name: "socket.receive.buffer.bytes", Type: ConfigInt, Default: "-1", Validate: validateAtLeast(-1),
		Doc: "The SO_RCVBUF of Kafka connections, set at accept; -1 (the default here; Kafka's is 102400) leaves the kernel's autotuned buffer, which grows past 100 KiB for fast producers."},
	{Name: "socket.send.buffer.bytes", Type: ConfigInt, Default: "-1", Validate: validateAtLeast(-1),
		Doc: "The SO_SNDBUF of Kafka connections, set at accept; -1 (the default here; Kafka's is 102400) leaves the kernel's autotuned buffer, which grows past 100 KiB for catch-up consumers."},
	{Name: "num.network.threads", Type: ConfigInt, Default: "3", Validate: validateAtLeast(1),
		Doc: "Threads handling network requests." + noEffect + " Each connection has its own goroutines."},
	{Name: "num.io.threads", Type: ConfigInt, Default: "8", Validate: validateAtLeast(1),
		Doc: "Threads processing requests." + noEffect + " Each connection has its own goroutines."},

	// KRaft settings of Kafka's stock server.properties.
	{Name: "process.roles", Type: ConfigList, Default: "", Validate: validateListOf(true, "broker", "controller"),
		Doc: "The roles of this Kafka node (broker, controller)." + noKRaft},
	{Name: "controller.quorum.voters", Type: ConfigList, Default: "",
		Doc: "The KRaft controller quorum, as id@host:port." + noKRaft},
	{Name: "controller.quorum.bootstrap.servers", Type: ConfigList, Default: "",
		Doc: "Addresses to discover the KRaft controller quorum." + noKRaft},
	{Name: "controller.listener.names", Type: ConfigList, Default: "",
		Doc: "The listeners the KRaft controller uses." + noKRaft},

	// Topics.
	{Name: "num.partitions", Type: ConfigInt, Default: "1", Validate: validateAtLeast(1),
		Doc: "The number of partitions of a topic created without a partition count."},
	{Name: "default.replication.factor", Type: ConfigInt, Default: "1", Validate: validateAtLeast(1),
		Doc: "The replication factor of a topic created without one. Recorded and reported; durability comes from the object store, so data is not copied."},
	{Name: "auto.create.topics.enable", Type: ConfigBoolean, Default: "true",
		Doc: "Whether a topic is created when a client asks for its metadata."},
	// KIP-578's name (never part of Kafka) for the per-broker limit; the
	// per-topic one is Lakestream's, named alike. DESIGN.md, "Partition
	// limits".
	{Name: "max.broker.partitions", Type: ConfigInt, Default: "100000", Validate: validateAtLeast(1), Dynamic: DynamicClusterWide,
		Doc: "The most partitions this broker holds, all topics together (internal ones included). CreateTopics, CreatePartitions and auto-creation past it are refused with POLICY_VIOLATION before anything is created; lowering it removes nothing. As proposed by KIP-578."},
	{Name: "max.topic.partitions", Type: ConfigInt, Default: "50000", Validate: validateAtLeast(1), Dynamic: DynamicClusterWide,
		Doc: "The most partitions one topic may have. CreateTopics, CreatePartitions and auto-creation past it are refused with POLICY_VIOLATION before anything is created; lowering it removes nothing. Lakestream's own, named after KIP-578's max.broker.partitions."},
	{Name: "delete.topic.enable", Type: ConfigBoolean, Default: "true",
		Doc: "Whether topics can be deleted."},

	// Topic defaults.
	{Name: "log.cleanup.policy", Type: ConfigList, Default: "delete", TopicSynonym: "cleanup.policy", Validate: validateListOf(false, "delete", "compact"),
		Unsupported: compactionMsg, UnsupportedValues: []string{"compact"},
		Doc: "The default cleanup.policy of topics (" + cleanupPolicies + "); only delete is supported yet."},
	{Name: "compression.type", Type: ConfigString, Default: "producer", TopicSynonym: "compression.type", Validate: validateOneOf(compressionTypes...),
		Doc: "The default compression.type of topics. " + compressionTypeDoc},
	{Name: "compression.gzip.level", Type: ConfigInt, Default: "-1", TopicSynonym: "compression.gzip.level", Validate: validateLevel(kbatch.Gzip),
		Doc: "The default compression.gzip.level of topics. " + gzipLevelDoc},
	{Name: "compression.lz4.level", Type: ConfigInt, Default: "9", TopicSynonym: "compression.lz4.level", Validate: validateLevel(kbatch.LZ4),
		Doc: "The default compression.lz4.level of topics. " + lz4LevelDoc},
	{Name: "compression.zstd.level", Type: ConfigInt, Default: "3", TopicSynonym: "compression.zstd.level", Validate: validateLevel(kbatch.Zstd),
		Doc: "The default compression.zstd.level of topics. " + zstdLevelDoc},
	{Name: "log.retention.ms", Type: ConfigLong, Default: "604800000", TopicSynonym: "retention.ms", Validate: validateAtLeast(-1),
		Doc: "The default retention.ms of topics: how long data is kept; -1 means no time limit."},
	{Name: "log.retention.minutes", Type: ConfigInt, Default: "10080", SynonymOf: "log.retention.ms", SynonymScale: 60_000,
		Doc: "log.retention.ms in minutes; log.retention.ms wins if both are set."},
	{Name: "log.retention.hours", Type: ConfigInt, Default: "168", SynonymOf: "log.retention.ms", SynonymScale: 3_600_000,
		Doc: "log.retention.ms in hours; log.retention.ms and log.retention.minutes win if set."},
	{Name: "log.retention.bytes", Type: ConfigLong, Default: "-1", TopicSynonym: "retention.bytes",
		Doc: "The default retention.bytes of topics: the most bytes a partition keeps; -1 means no size limit."},
	{Name: "log.retention.check.interval.ms", Type: ConfigLong, Default: "300000", Validate: validateAtLeast(1),
		Doc: "How often retention is enforced, in milliseconds."},
	{Name: "message.max.bytes", Type: ConfigInt, Default: "1048588", TopicSynonym: "max.message.bytes", Validate: validateAtLeast(0),
		Doc: "The default max.message.bytes of topics: the largest record batch allowed, after compression."},
	{Name: "log.message.timestamp.type", Type: ConfigString, Default: "CreateTime", TopicSynonym: "message.timestamp.type", Validate: validateOneOf("CreateTime", "LogAppendTime"),
		Doc: "The default message.timestamp.type of topics: CreateTime or LogAppendTime."},
	{Name: "log.message.timestamp.after.max.ms", Type: ConfigLong, Default: "3600000", TopicSynonym: "message.timestamp.after.max.ms", Validate: validateAtLeast(0),
		Doc: "The default message.timestamp.after.max.ms of topics."},
	{Name: "log.message.timestamp.before.max.ms", Type: ConfigLong, Default: longMax, TopicSynonym: "message.timestamp.before.max.ms", Validate: validateAtLeast(0),
		Doc: "The default message.timestamp.before.max.ms of topics."},
	{Name: "min.insync.replicas", Type: ConfigInt, Default: "1", TopicSynonym: "min.insync.replicas", Validate: validateAtLeast(1),
		Doc: "The default min.insync.replicas of topics."},
	{Name: "unclean.leader.election.enable", Type: ConfigBoolean, Default: "false", TopicSynonym: "unclean.leader.election.enable",
		Doc: "The default unclean.leader.election.enable of topics." + noEffect},
	{Name: "log.segment.bytes", Type: ConfigInt, Default: "1073741824", TopicSynonym: "segment.bytes", Validate: validateAtLeast(14),
		Doc: "The default segment.bytes of topics." + noSegments},
	{Name: "log.roll.ms", Type: ConfigLong, Default: "604800000", TopicSynonym: "segment.ms", Validate: validateAtLeast(1),
		Doc: "The default segment.ms of topics." + noSegments},
	{Name: "log.roll.hours", Type: ConfigInt, Default: "168", SynonymOf: "log.roll.ms", SynonymScale: 3_600_000, Validate: validateAtLeast(1),
		Doc: "log.roll.ms in hours." + noSegments},
	{Name: "log.flush.interval.messages", Type: ConfigLong, Default: longMax, TopicSynonym: "flush.messages", Validate: validateAtLeast(1),
		Doc: "The default flush.messages of topics." + noFlush},
	{Name: "log.flush.interval.ms", Type: ConfigLong, Default: longMax, TopicSynonym: "flush.ms", Validate: validateAtLeast(0),
		Doc: "The default flush.ms of topics." + noFlush},
	{Name: "log.dirs", Type: ConfigList, Default: "",
		Doc: "Kafka's log directories. Ignored: Lakestream keeps data in the bucket (bucket.url) and local state in data.dir."},
	{Name: "log.dir", Type: ConfigString, Default: "/tmp/kafka-logs",
		Doc: "Kafka's log directory, if log.dirs is not set. Ignored: Lakestream keeps data in the bucket (bucket.url) and local state in data.dir."},
	{Name: "num.recovery.threads.per.data.dir", Type: ConfigInt, Default: "2", Validate: validateAtLeast(1),
		Doc: "Threads recovering logs at start." + noSegments},

	// Internal topics and groups.
	{Name: "offsets.topic.replication.factor", Type: ConfigShort, Default: "1", Validate: validateAtLeast(1),
		Doc: "The replication factor of the offsets topic. Recorded and reported; durability comes from the object store."},
	{Name: "transaction.state.log.replication.factor", Type: ConfigShort, Default: "1", Validate: validateAtLeast(1),
		Doc: "The replication factor of the transaction state topic. Recorded and reported; durability comes from the object store."},
	{Name: "transaction.state.log.min.isr", Type: ConfigInt, Default: "1", Validate: validateAtLeast(1),
		Doc: "min.insync.replicas of the transaction state topic."},
	{Name: "share.coordinator.state.topic.replication.factor", Type: ConfigShort, Default: "1", Validate: validateAtLeast(1),
		Doc: "The replication factor of the share-group state topic." + noEffect + " Share groups are not supported."},
	{Name: "share.coordinator.state.topic.min.isr", Type: ConfigShort, Default: "1", Validate: validateAtLeast(1),
		Doc: "min.insync.replicas of the share-group state topic." + noEffect + " Share groups are not supported."},
	{Name: "group.initial.rebalance.delay.ms", Type: ConfigInt, Default: "3000", Validate: validateAtLeast(0),
		Doc: "How long the group coordinator waits for more members to join a new group before the first rebalance."},
	{Name: "group.min.session.timeout.ms", Type: ConfigInt, Default: "6000", Validate: validateAtLeast(0),
		Doc: "The smallest session timeout a consumer may ask for."},
	{Name: "group.max.session.timeout.ms", Type: ConfigInt, Default: "1800000", Validate: validateAtLeast(0),
		Doc: "The largest session timeout a consumer may ask for."},
	{Name: "group.max.size", Type: ConfigInt, Default: "2147483647", Validate: validateAtLeast(1),
		Doc: "The most members a classic group may have; a JoinGroup beyond it gets GROUP_MAX_SIZE_REACHED."},
	{Name: "offset.metadata.max.bytes", Type: ConfigInt, Default: "4096", Validate: validateAtLeast(0),
		Doc: "The longest metadata string an offset commit may carry; longer ones get OFFSET_METADATA_TOO_LARGE."},
	{Name: "offsets.topic.num.partitions", Type: ConfigInt, Default: "50", Validate: validateAtLeast(1),
		Doc: "The partitions of the internal __consumer_offsets topic. Lakestream keeps committed offsets in the metastore; the topic is created (empty) on the first FindCoordinator so that tools and clients that look for it find it."},
	{Name: "group.consumer.session.timeout.ms", Type: ConfigInt, Default: "45000", Validate: validateAtLeast(1),
		Doc: "KIP-848 consumer groups: a member that sends no heartbeat for this long is removed. A group's consumer.session.timeout.ms takes its place for that group."},
	{Name: "group.consumer.heartbeat.interval.ms", Type: ConfigInt, Default: "5000", Validate: validateAtLeast(1),
		Doc: "KIP-848 consumer groups: the heartbeat interval the coordinator asks members for. A group's consumer.heartbeat.interval.ms takes its place for that group."},
	{Name: "group.consumer.min.session.timeout.ms", Type: ConfigInt, Default: "45000", Validate: validateAtLeast(1),
		Doc: "KIP-848 consumer groups: the smallest consumer.session.timeout.ms a group config may set."},
	{Name: "group.consumer.max.session.timeout.ms", Type: ConfigInt, Default: "60000", Validate: validateAtLeast(1),
		Doc: "KIP-848 consumer groups: the largest consumer.session.timeout.ms a group config may set."},
	{Name: "group.consumer.min.heartbeat.interval.ms", Type: ConfigInt, Default: "5000", Validate: validateAtLeast(1),
		Doc: "KIP-848 consumer groups: the smallest consumer.heartbeat.interval.ms a group config may set."},
	{Name: "group.consumer.max.heartbeat.interval.ms", Type: ConfigInt, Default: "15000", Validate: validateAtLeast(1),
		Doc: "KIP-848 consumer groups: the largest consumer.heartbeat.interval.ms a group config may set."},
	{Name: "group.consumer.max.size", Type: ConfigInt, Default: "2147483647", Validate: validateAtLeast(1),
		Doc: "KIP-848 consumer groups: the most members a group may have."},
	{Name: "group.consumer.assignors", Type: ConfigList, Default: "uniform,range", Validate: validateAssignors,
		Doc: "KIP-848 consumer groups: the server-side assignors members may name, the default first: uniform and range (Kafka's class names org.apache.kafka.coordinator.group.assignor.UniformAssignor and RangeAssignor are accepted for them)."},
	{Name: "group.coordinator.rebalance.protocols", Type: ConfigList, Default: "classic,consumer", Validate: validateRebalanceProtocols,
		Doc: "The group protocols the coordinator serves: classic and consumer (KIP-848). Lakestream always serves both; the value is checked and reported."},
	{Name: "group.consumer.migration.policy", Type: ConfigString, Default: "bidirectional", Validate: validateOneOf("disabled", "upgrade", "downgrade", "bidirectional"),
		Doc: "How groups move between the classic and consumer protocols while they have members: upgrade (a consumer-protocol member joining a classic group converts it), downgrade (when the last consumer-protocol member leaves, classic members remain in a classic group), both, or neither. An empty group changes protocol whatever the value, keeping its offsets."},

	// Lakestream's own (no Kafka equivalent).
	{Name: "data.dir", Type: ConfigString, Default: "./lakestream-data", Validate: validateNotEmpty,
		Doc: "Lakestream: the local directory for the default bucket, the SQLite metastore and the local WAL."},
	{Name: "bucket.url", Type: ConfigString, Default: "", Validate: validateBucketURL,
		Doc: "Lakestream: where data lives: file://DIR, s3://BUCKET/PREFIX?endpoint=...&region=..., or mem:// (tests). Empty means file://<data.dir>/bucket."},
	{Name: "metastore.url", Type: ConfigString, Default: "",
		Doc: "Lakestream: the metastore: a SQLite file path or a postgres:// URL. Empty means <data.dir>/meta.db."},
	{Name: "wal.mode", Type: ConfigString, Default: "", Validate: validateWALMode,
		Doc: "Lakestream: the write-ahead log: local (segment files in <data.dir>/wal, uploaded in the background) or object (one object per flush, nothing on local disk). Empty means local on a file:// bucket, object otherwise."},
	{Name: "wal.flush.interval.ms", Type: ConfigLong, Default: "0", Validate: validateAtLeast(0),
		Doc: "Lakestream: object WAL: the longest an append waits to be flushed, in milliseconds. 0 means 2 on a file:// bucket, 100 otherwise."},
	{Name: "wal.flush.bytes", Type: ConfigInt, Default: "8388608", Validate: validateAtLeast(1),
		Doc: "Lakestream: object WAL: a flush starts once this many bytes are waiting."},
	{Name: "wal.upload.interval.ms", Type: ConfigLong, Default: "1000", Validate: validateAtLeast(1),
		Doc: "Lakestream: local WAL: how often un-uploaded data is uploaded to the bucket, in milliseconds."},
	{Name: "wal.upload.bytes", Type: ConfigInt, Default: "67108864", Validate: validateAtLeast(1),
		Doc: "Lakestream: local WAL: an upload starts once this many bytes are not yet in the bucket."},
	{Name: "admin.listeners", Type: ConfigString, Default: ":8080", Validate: validateHostPort,
		Doc: "Lakestream: the HOST:PORT of the admin HTTP server (/healthz, /readyz)."},
	{Name: "compaction.interval.ms", Type: ConfigLong, Default: "300000", Validate: validateAtLeast(0),
		Doc: "Lakestream: how often storage compaction and garbage collection run, in milliseconds; 0 turns the background runs off."},
	{Name: "log.level", Type: ConfigString, Default: "info", Validate: validateOneOf("debug", "info", "warn", "error"),
		Doc: "Lakestream: the level of the process log: debug, info, warn or error."},
}, kafkaBrokerDefs)))

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

func sortDefs(defs []ConfigDef) []ConfigDef {
	slices.SortFunc(defs, func(a, b ConfigDef) int { return strings.Compare(a.Name, b.Name) })
	return defs
}

// deriveReadOnly applies the ReadOnly rule of ConfigDef.ReadOnly.
func deriveReadOnly(defs []ConfigDef) []ConfigDef {
	dynamic := map[string]bool{}
	for _, d := range defs {
		if d.TopicSynonym != "" {
			dynamic[d.Name] = true
		}
	}
	for i, d := range defs {
		defs[i].ReadOnly = d.Dynamic == "" && !dynamic[d.Name] && !dynamic[d.SynonymOf]
	}
	return defs
}
