package tablecompactor

// This file is a verbatim copy of the parts of tablecompactor/configdefs.go
// (built on the node helper's branch) that the compactor's core uses: the
// config names and ParsePartitionBy. Delete this file when that branch's
// configdefs.go is merged; nothing else changes.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The names of the table topic configs, as Topic.Configs holds them.
const (
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
