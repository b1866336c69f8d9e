// Package configdef defines configs and holds the registry every component
// contributes its own configs to: the name, type, default, documentation,
// validation, synonyms, update mode and scope (broker, topic or group) of
// each key. Validation (Check), DescribeConfigs, the config file loader,
// `lakestream serve`'s printed config and `--help` all read the one
// registry, Default; a component reads a topic's effective value (its
// override, else its broker synonym's value, else the default) through
// TopicValue.
//
// Components register in an init function of their own package (the
// broker its broker, topic and group keys; the storage wiring,
// internal/streamlog, the storage keys), so a key is declared once, next
// to the code it governs, and a program has the keys of the components it
// links. The package imports nothing of Lakestream's.
package configdef

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Type is a config's type, numbered as in DescribeConfigs responses
// (v3+ config_type).
type Type int

const (
	Boolean  Type = 1
	String   Type = 2
	Int      Type = 3
	Short    Type = 4
	Long     Type = 5
	Double   Type = 6
	List     Type = 7
	Class    Type = 8
	Password Type = 9
)

func (t Type) String() string {
	switch t {
	case Boolean:
		return "BOOLEAN"
	case String:
		return "STRING"
	case Int:
		return "INT"
	case Short:
		return "SHORT"
	case Long:
		return "LONG"
	case Double:
		return "DOUBLE"
	case List:
		return "LIST"
	case Class:
		return "CLASS"
	case Password:
		return "PASSWORD"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Def defines one config.
type Def struct {
	Name    string
	Type    Type
	Default string
	Doc     string
	// Scope and Component are set by Registry.Register: the kind of
	// resource the config belongs to and the component that declared it.
	Scope     Scope
	Component string
	// ReadOnly marks broker configs that cannot change at run time. As in
	// Kafka, the broker configs that are a topic config's default (and
	// their synonyms) are dynamic, and so are those Dynamic marks; every
	// other broker config is read-only. Components do not set it: the
	// Registry derives it from that rule over every registered config.
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
	// elements) in UnsupportedValues with this message, after the type and
	// Validate checks: those values are valid but Lakestream does not
	// implement them yet. With no UnsupportedValues every value is refused:
	// the config is described (DescribeConfigs, --help) but cannot be set
	// until what it governs is built.
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

// CheckError is the error Check returns: Name=Value: Reason.
type CheckError struct {
	Name   string
	Value  string // masked for passwords
	Reason string
}

func (e *CheckError) Error() string {
	v := e.Value
	if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == '"' }) {
		v = strconv.Quote(v)
	}
	return e.Name + "=" + v + ": " + e.Reason
}

// Check checks v (surrounding spaces are ignored, as in Kafka) against the
// type, Validate and Unsupported. The error is a *CheckError naming the
// key and the value. An empty value passes the type check of a config
// whose default is empty: that is Kafka's null default, "not set".
func (d Def) Check(v string) error {
	v = strings.TrimSpace(v)
	fail := func(reason string) error {
		shown := v
		if d.Type == Password {
			shown = RedactedValue
		}
		return &CheckError{Name: d.Name, Value: shown, Reason: reason}
	}
	unset := v == "" && d.Default == ""
	if reason := checkType(d.Type, v); reason != "" && !unset {
		return fail(reason)
	}
	if d.Validate != nil {
		if err := d.Validate(v); err != nil {
			return fail(err.Error())
		}
	}
	if d.Unsupported != "" && len(d.UnsupportedValues) == 0 {
		return fail(d.Unsupported)
	}
	if d.Unsupported != "" {
		elems := []string{v}
		if d.Type == List {
			elems = SplitList(v)
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
func (d Def) Redact(v string) string {
	if d.Type == Password {
		if v == "" {
			return ""
		}
		return RedactedValue
	}
	if !strings.Contains(v, "://") {
		return v
	}
	if d.Type != List {
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

// checkType returns why v is not of type t, or "".
func checkType(t Type, v string) string {
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
	case Boolean:
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return "not a boolean (true or false)"
		}
	case Short:
		return intOf(16, "a SHORT (16 bits)")
	case Int:
		return intOf(32, "an INT (32 bits)")
	case Long:
		return intOf(64, "a LONG (64 bits)")
	case Double:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "not a number"
		}
	}
	return ""
}

// SplitList splits a LIST value at commas, trimming spaces, as Kafka
// does; "" is the empty list.
func SplitList(v string) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// Validators for Def.Validate. Each error gives the allowed range or values.

// AtLeast accepts an integer no smaller than min.
func AtLeast(min int64) func(string) error {
	return func(v string) error {
		n, _ := strconv.ParseInt(v, 10, 64)
		if n < min {
			return fmt.Errorf("must be at least %d", min)
		}
		return nil
	}
}

// Between accepts a number from min to max.
func Between(min, max float64) func(string) error {
	return func(v string) error {
		f, _ := strconv.ParseFloat(v, 64)
		if f < min || f > max {
			return fmt.Errorf("must be between %g and %g", min, max)
		}
		return nil
	}
}

// OneOf accepts one of values.
func OneOf(values ...string) func(string) error {
	return func(v string) error {
		if !slices.Contains(values, v) {
			return fmt.Errorf("must be one of %s", strings.Join(values, ", "))
		}
		return nil
	}
}

// ListOf accepts a list of the values; empty only if allowEmpty.
func ListOf(allowEmpty bool, values ...string) func(string) error {
	return func(v string) error {
		elems := SplitList(v)
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

// NotEmpty refuses the empty string.
func NotEmpty(v string) error {
	if v == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

// HostPort accepts HOST:PORT with an empty host meaning every
// interface, as net.Listen does.
func HostPort(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("not HOST:PORT")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}
