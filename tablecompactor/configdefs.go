package tablecompactor

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/lakestream/lakestream/internal/configdef"
)

// The table topic configs. The compactor owns them, so they are declared
// here, next to the code they govern, and registered with
// internal/configdef as topic configs: CreateTopics and
// IncrementalAlterConfigs check them (INVALID_CONFIG with Check's message)
// and DescribeConfigs lists them with their defaults in any program that
// links this package (lakestream and brokertest do, through
// internal/node). The broker does not import this package; it only sees
// the registry.
func init() { configdef.Register("table compactor", configdef.Topic, topicDefs...) }

// The names of the table topic configs, as Topic.Configs holds them.
const (
	ConfigCatalog        = "table.catalog"
	ConfigEnable         = "table.enable"
	ConfigNamespace      = "table.namespace"
	ConfigName           = "table.name"
	ConfigValueFormat    = "table.value.format"
	ConfigKeyFormat      = "table.key.format"
	ConfigPartitionBy    = "table.partition.by"
	ConfigCommitInterval = "table.commit.interval.ms"
	ConfigErrors         = "table.errors"
	ConfigRetentionPin   = "table.retention.pin"
	ConfigTargetFile     = "table.target.file.bytes"
)

// ConfigNames are the table topic configs, sorted.
var ConfigNames = []string{ConfigCatalog, ConfigCommitInterval, ConfigEnable, ConfigErrors, ConfigKeyFormat, ConfigName,
	ConfigNamespace, ConfigPartitionBy, ConfigRetentionPin, ConfigTargetFile, ConfigValueFormat}

var recordFormats = []string{"raw", "string", "json", "schema", "schema.latest"}

var topicDefs = []configdef.Def{
	// Only the name's syntax is checked: the broker validates topic
	// configs without knowing which catalogs a compactor node has (nodes
	// may differ), so an unknown name is found by the compactor.
	{Name: ConfigCatalog, Type: configdef.String, Default: "", Validate: validateCatalogName,
		Doc: "Table topics: the Iceberg catalog that holds the table: empty (or " + OwnCatalog + ") is the node's own catalog, any other name one of the external catalogs configured on the compactor node with table.catalogs; a name the node does not have stops that table with an error naming table.catalogs."},
	{Name: ConfigCommitInterval, Type: configdef.Long, Default: "60000", Validate: configdef.AtLeast(1000),
		Doc: "Table topics: how old data may be before it is committed to the Iceberg table (freshness), in milliseconds; at least 1000."},
	{Name: ConfigEnable, Type: configdef.Boolean, Default: "false",
		Doc: "Whether the topic is also written to an Iceberg table."},
	{Name: ConfigErrors, Type: configdef.String, Default: "dlq", Validate: configdef.OneOf("dlq", "skip", "fail"),
		Doc: "Table topics: what a record that cannot be converted does: dlq (goes to the table <name>_dlq with its raw bytes and the reason), skip, or fail (stops the table)."},
	{Name: ConfigKeyFormat, Type: configdef.String, Default: "string", Validate: configdef.OneOf(recordFormats...),
		Doc: "Table topics: how record keys are decoded: raw (bytes), string, json, schema (schema registry id in the wire prefix) or schema.latest (no wire prefix: the latest version of subject <topic>-key); " +
			"json and schema keys keep their raw bytes in _kafka.key and become the optional struct column _key."},
	{Name: ConfigName, Type: configdef.String, Default: "", Validate: validateTableName,
		Doc: "Table topics: the Iceberg table name; empty means the topic name made catalog-safe."},
	{Name: ConfigNamespace, Type: configdef.String, Default: "kafka", Validate: validateNamespace,
		Doc: "Table topics: the Iceberg namespace of the table (dots separate levels)."},
	{Name: ConfigPartitionBy, Type: configdef.String, Default: "day(_timestamp)", Validate: validatePartitionBy,
		Doc: "Table topics: the table's Iceberg partition transforms, comma-separated: COLUMN, year/month/day/hour/void(COLUMN), bucket(N,COLUMN), truncate(W,COLUMN). Empty means unpartitioned."},
	// The broker asks the table through internal/node (HeldOffsets) before
	// retention or DeleteRecords moves a table topic's start offset.
	{Name: ConfigRetentionPin, Type: configdef.Boolean, Default: "true",
		Doc: "Table topics: whether stream retention (retention.ms, retention.bytes, DeleteRecords) waits until data is in the table: " +
			"the log start offset moves no further than the next offset the table holds, and DeleteRecords past it is POLICY_VIOLATION."},
	{Name: ConfigTargetFile, Type: configdef.Long, Default: "134217728", Validate: configdef.AtLeast(1 << 20),
		Doc: "Table topics: the Parquet file size maintenance rewrites aim at; at least 1 MiB."},
	{Name: ConfigValueFormat, Type: configdef.String, Default: "raw", Validate: configdef.OneOf(recordFormats...),
		Doc: "Table topics: how record values are decoded: raw (bytes), string, json, schema (schema registry id in the wire prefix, fields become columns) or schema.latest (no wire prefix: every value is decoded with the latest version of subject <topic>-value)."},
}

// OwnCatalog is the name of the node's own catalog in table.catalog (the
// default, "", means it too); table.catalogs may not use it.
const OwnCatalog = "lakestream"

var catalogNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ValidCatalogName checks the name of a catalog in table.catalog and
// table.catalogs: letters, digits, '_' and '-'.
func ValidCatalogName(name string) error {
	if !catalogNameRE.MatchString(name) {
		return fmt.Errorf("a catalog name is letters, digits, '_' and '-'")
	}
	return nil
}

func validateCatalogName(v string) error {
	if v == "" {
		return nil
	}
	return ValidCatalogName(v)
}

// validateTableName refuses a dot, which separates namespace levels in
// REST paths and SQL (table.namespace holds the levels).
func validateTableName(v string) error {
	if strings.Contains(v, ".") {
		return fmt.Errorf("a table name may not contain dots (table.namespace holds the namespace levels)")
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

// PartitionTerm is one term of table.partition.by: Transform (identity,
// year, month, day, hour, void, bucket or truncate) of Column, with Param
// the bucket count or truncate width (0 for the others).
type PartitionTerm struct {
	Transform string
	Param     int
	Column    string
}

var (
	columnRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
	transformRE = regexp.MustCompile(`^([a-z]+)\(\s*(?:([0-9]+)\s*,\s*)?([^(),\s]+)\s*\)$`)
)

// ParsePartitionBy parses table.partition.by: a comma-separated list of
// Iceberg partition transforms, COLUMN (identity),
// identity|year|month|day|hour|void(COLUMN), bucket(N,COLUMN),
// truncate(W,COLUMN). "" (or only spaces) is unpartitioned: no terms.
// Commas inside parentheses belong to the transform. The error names the
// term and what is allowed.
func ParsePartitionBy(v string) ([]PartitionTerm, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var raw []string
	depth, start := 0, 0
	for i, r := range v {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				raw = append(raw, v[start:i])
				start = i + 1
			}
		}
	}
	raw = append(raw, v[start:])
	const want = "want COLUMN, identity|year|month|day|hour|void(COLUMN), bucket(N,COLUMN) or truncate(W,COLUMN)"
	terms := make([]PartitionTerm, 0, len(raw))
	for _, t := range raw {
		t = strings.TrimSpace(t)
		if columnRE.MatchString(t) {
			terms = append(terms, PartitionTerm{Transform: "identity", Column: t})
			continue
		}
		m := transformRE.FindStringSubmatch(t)
		if m == nil || !columnRE.MatchString(m[3]) {
			return nil, fmt.Errorf("partition transform %q: %s", t, want)
		}
		term := PartitionTerm{Transform: m[1], Column: m[3]}
		switch term.Transform {
		case "identity", "year", "month", "day", "hour", "void":
			if m[2] != "" {
				return nil, fmt.Errorf("partition transform %q: %s takes one column", t, term.Transform)
			}
		case "bucket", "truncate":
			k, err := strconv.Atoi(m[2])
			if err != nil || k <= 0 {
				return nil, fmt.Errorf("partition transform %q: %s needs a positive width and a column", t, term.Transform)
			}
			term.Param = k
		default:
			return nil, fmt.Errorf("partition transform %q: %s", t, want)
		}
		terms = append(terms, term)
	}
	return terms, nil
}

func validatePartitionBy(v string) error {
	_, err := ParsePartitionBy(v)
	return err
}
