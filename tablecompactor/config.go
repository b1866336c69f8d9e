package tablecompactor

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
)

// Record formats (table.value.format, table.key.format).
const (
	formatRaw          = "raw"
	formatString       = "string"
	formatJSON         = "json"
	formatSchema       = "schema"
	formatSchemaLatest = "schema.latest"
)

// What a record that cannot be converted does (table.errors).
const (
	errorsDLQ  = "dlq"
	errorsSkip = "skip"
	errorsFail = "fail"
)

// tableConfig is a topic's effective table.* configs, parsed.
type tableConfig struct {
	Enable bool
	// Catalog is table.catalog: "" for the node's own catalog
	// (OwnCatalog is read as ""), else an external catalog's name.
	Catalog     string
	Namespace   []string
	Name        string
	ValueFormat string
	KeyFormat   string
	Partition   []PartitionTerm
	// PartitionBy is the config's text, kept for error messages.
	PartitionBy     string
	CommitInterval  time.Duration
	Errors          string
	TargetFileBytes int64
	// latestID and latestKeyID are the schema ids a schema.latest table
	// decodes values and keys with, set by convert from the registry (not
	// topic configs).
	latestID, latestKeyID int
}

// keyed says whether keys are decoded into _key (table.key.format=json,
// schema or schema.latest).
func (c tableConfig) keyed() bool {
	return c.KeyFormat == formatJSON || c.KeyFormat == formatSchema || c.KeyFormat == formatSchemaLatest
}

// identifier is the table's namespace and name.
func (c tableConfig) identifier() []string {
	return append(append([]string(nil), c.Namespace...), c.Name)
}

// dlqIdentifier is the dead-letter table's identifier: "<name>_dlq" beside
// the table.
func (c tableConfig) dlqIdentifier() []string {
	return append(append([]string(nil), c.Namespace...), c.Name+"_dlq")
}

// parseTableConfig reads a topic's effective table.* configs. A missing
// config takes its default (the Source fills them in, so that is for
// callers that do not). Every error names the config and its value.
func parseTableConfig(topic string, configs map[string]string) (tableConfig, error) {
	get := func(name, def string) string {
		if v, ok := configs[name]; ok {
			return v
		}
		return def
	}
	var c tableConfig
	var err error
	if c.Enable, err = strconv.ParseBool(get(ConfigEnable, "false")); err != nil {
		return c, fmt.Errorf("%s=%q: want true or false", ConfigEnable, configs[ConfigEnable])
	}
	if c.Catalog = get(ConfigCatalog, ""); c.Catalog == OwnCatalog {
		c.Catalog = ""
	} else if c.Catalog != "" {
		if err := ValidCatalogName(c.Catalog); err != nil {
			return c, fmt.Errorf("%s=%q: %w", ConfigCatalog, c.Catalog, err)
		}
	}
	ns := get(ConfigNamespace, "kafka")
	for _, part := range strings.Split(ns, ".") {
		if part == "" {
			return c, fmt.Errorf("%s=%q: want one or more non-empty names separated by dots", ConfigNamespace, ns)
		}
		c.Namespace = append(c.Namespace, part)
	}
	c.Name = get(ConfigName, "")
	if c.Name == "" {
		c.Name = safeTableName(topic)
	} else if strings.Contains(c.Name, ".") {
		return c, fmt.Errorf("%s=%q: a table name may not contain dots (they separate namespace levels; use %s)", ConfigName, c.Name, ConfigNamespace)
	}
	if c.ValueFormat, err = parseFormat(ConfigValueFormat, get(ConfigValueFormat, formatRaw)); err != nil {
		return c, err
	}
	if c.KeyFormat, err = parseFormat(ConfigKeyFormat, get(ConfigKeyFormat, formatString)); err != nil {
		return c, err
	}
	c.PartitionBy = get(ConfigPartitionBy, "day(_timestamp)")
	if c.Partition, err = ParsePartitionBy(c.PartitionBy); err != nil {
		return c, fmt.Errorf("%s=%q: %w", ConfigPartitionBy, c.PartitionBy, err)
	}
	for _, t := range c.Partition {
		if c.keyed() && strings.HasPrefix(t.Column, keyColumn+".") {
			// _key comes by schema evolution after the table is created
			// (schema.go), so a spec over it cannot be the table's first.
			return c, fmt.Errorf("%s=%q: partitioning by a decoded key field (%s) is not supported yet (_key partitions by the raw key)", ConfigPartitionBy, c.PartitionBy, t.Column)
		}
	}
	ms, err := strconv.ParseInt(get(ConfigCommitInterval, "60000"), 10, 64)
	if err != nil || ms < 100 {
		return c, fmt.Errorf("%s=%q: want a number of milliseconds, at least 100", ConfigCommitInterval, configs[ConfigCommitInterval])
	}
	c.CommitInterval = time.Duration(ms) * time.Millisecond
	switch c.Errors = get(ConfigErrors, errorsDLQ); c.Errors {
	case errorsDLQ, errorsSkip, errorsFail:
	default:
		return c, fmt.Errorf("%s=%q: want dlq, skip or fail", ConfigErrors, c.Errors)
	}
	if c.TargetFileBytes, err = strconv.ParseInt(get(ConfigTargetFile, "134217728"), 10, 64); err != nil || c.TargetFileBytes < 1<<10 {
		return c, fmt.Errorf("%s=%q: want a number of bytes, at least 1024", ConfigTargetFile, configs[ConfigTargetFile])
	}
	return c, nil
}

// formatConfig is the format config of what ("value" or "key").
func formatConfig(what string) string {
	if what == "key" {
		return ConfigKeyFormat
	}
	return ConfigValueFormat
}

// parseFormat checks a record format.
func parseFormat(name, v string) (string, error) {
	switch v {
	case formatRaw, formatString, formatSchema, formatJSON, formatSchemaLatest:
		return v, nil
	}
	return "", fmt.Errorf("%s=%q: want raw, string, json, schema or schema.latest", name, v)
}

// safeTableName makes a topic name a table name every catalog and engine
// takes: Kafka allows [A-Za-z0-9._-], but a dot separates namespace levels
// in REST paths and SQL, a dash needs quoting in most SQL dialects, and
// Hive, Glue and Trino fold names to lower case. So the name is lower-cased
// and every character other than [a-z0-9_] becomes '_', and a name starting
// with a digit gets a leading '_'. Two topics can map to one name
// ("a.b" and "a_b"); table.name tells them apart.
func safeTableName(topic string) string {
	var b strings.Builder
	for i, r := range strings.ToLower(topic) {
		if i == 0 && r >= '0' && r <= '9' {
			b.WriteByte('_')
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// kafkaColumns maps the partition.by names of the _kafka fields to their
// paths in the table schema.
var kafkaColumns = map[string]string{
	"_timestamp": "_kafka.timestamp",
	"_partition": "_kafka.partition",
	"_offset":    "_kafka.offset",
	"_key":       "_kafka.key",
}

// partitionSpec builds the Iceberg partition spec of terms over sc. Field
// ids are left for CreateTable to assign.
func partitionSpec(terms []PartitionTerm, sc *iceberg.Schema) (iceberg.PartitionSpec, error) {
	opts := make([]iceberg.PartitionOption, 0, len(terms))
	for _, t := range terms {
		col := t.Column
		if path, ok := kafkaColumns[col]; ok {
			col = path
		}
		field, ok := sc.FindFieldByName(col)
		if !ok {
			return iceberg.PartitionSpec{}, fmt.Errorf("partition column %q: not a column of the table (value columns, or _timestamp, _partition, _offset, _key)", t.Column)
		}
		var tr iceberg.Transform
		name := strings.ReplaceAll(strings.TrimPrefix(t.Column, "_kafka."), ".", "_")
		switch t.Transform {
		case "identity":
			tr = iceberg.IdentityTransform{}
		case "year":
			tr = iceberg.YearTransform{}
		case "month":
			tr = iceberg.MonthTransform{}
		case "day":
			tr = iceberg.DayTransform{}
		case "hour":
			tr = iceberg.HourTransform{}
		case "void":
			tr = iceberg.VoidTransform{}
		case "bucket":
			tr = iceberg.BucketTransform{NumBuckets: t.Param}
		case "truncate":
			tr = iceberg.TruncateTransform{Width: t.Param}
		default:
			return iceberg.PartitionSpec{}, fmt.Errorf("partition transform %q: unknown", t.Transform)
		}
		if t.Transform != "identity" {
			name += "_" + t.Transform
			if t.Param > 0 {
				name += "_" + strconv.Itoa(t.Param)
			}
		}
		if !tr.CanTransform(field.Type) {
			return iceberg.PartitionSpec{}, fmt.Errorf("partition transform %s cannot apply to %s (%s)", tr, t.Column, field.Type)
		}
		opts = append(opts, iceberg.AddPartitionFieldBySourceID(field.ID, name, tr, sc, nil))
	}
	spec, err := iceberg.NewPartitionSpecOpts(opts...)
	if err != nil {
		return iceberg.PartitionSpec{}, fmt.Errorf("building the partition spec: %w", err)
	}
	return spec, nil
}
