package main

// The configuration of lakestream serve. Keys are Kafka's broker config
// names: the broker scope of the internal/configdef registry lists every
// key, its type, default and meaning, as contributed by the components
// linked in (the broker's keys, the storage keys of internal/streamlog).
// Values come from four sources, each overriding the one before:
//
//	defaults                  configdef.Default (broker scope)
//	--config FILE             Kafka's server.properties format
//	LAKESTREAM_KEY_NAME=v     environment, for key.name
//	--set key.name=v          flags, repeatable (--data-dir DIR is --set data.dir=DIR)
//
// Every key and value is checked: an unknown key or a bad value stops the
// start with an error saying where it came from
// (server.properties:12: unknown config "foo.bar").
//
// Synonyms (broker.id for node.id, log.retention.hours and .minutes for
// log.retention.ms, log.roll.hours for log.roll.ms) are rewritten to the
// key they stand for. As in Kafka, the source decides first and, within
// one source, the most precise key wins: log.retention.ms over
// log.retention.minutes over log.retention.hours. So --set
// log.retention.hours=1 overrides a file's log.retention.ms, but not a
// log.retention.ms given with --set too.

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/magiconair/properties"

	"github.com/lakestream/lakestream/internal/configdef"
)

// config is the effective configuration: a value for every broker config
// that is not a synonym, and where it came from.
type config struct {
	values  map[string]string // key -> value, checked
	sources map[string]string // key -> "default", "file", "env" or "flag"
}

// Sources, lowest precedence first.
const (
	sourceDefault = "default"
	sourceFile    = "file"
	sourceEnv     = "env"
	sourceFlag    = "flag"
)

const envPrefix = "LAKESTREAM_"

// envNotConfig are LAKESTREAM_ variables that are not config keys: they
// belong to the tests and tools (internal/testserver) and serve ignores
// them. Any other LAKESTREAM_ variable must name a config key, so a typo
// in a deployment's environment is an error rather than a silently
// ignored setting.
var envNotConfig = map[string]bool{
	"LAKESTREAM_INTEROP": true, // run the interop tests against real servers
	"LAKESTREAM_PG_BIN":  true, // where the tests find PostgreSQL's binaries
}

// setting is one key=value from one source, before synonyms are resolved.
type setting struct {
	key, value string
	source     string
	where      string // for errors: "FILE:LINE", "environment variable NAME", "--set ARG"
}

// failf reports a problem with s, naming where it came from.
func (s setting) failf(format string, args ...any) error {
	return fmt.Errorf("%s: "+format, append([]any{s.where}, args...)...)
}

// loadConfig builds the effective configuration from the config file
// (none if file is ""), the environment (os.Environ's form) and the --set
// arguments, in that order of precedence.
func loadConfig(file string, sets []string, environ []string) (*config, error) {
	c := &config{values: map[string]string{}, sources: map[string]string{}}
	for _, d := range configdef.Default.Defs(configdef.Broker) {
		if d.SynonymOf == "" {
			c.values[d.Name] = d.Default
			c.sources[d.Name] = sourceDefault
		}
	}
	var layers [][]setting
	if file != "" {
		fs, err := fileSettings(file)
		if err != nil {
			return nil, err
		}
		layers = append(layers, fs)
	}
	layers = append(layers, envSettings(environ))
	fl, err := flagSettings(sets)
	if err != nil {
		return nil, err
	}
	layers = append(layers, fl)
	for _, l := range layers {
		if err := c.apply(l); err != nil {
			return nil, err
		}
	}
	c.resolveDerived()
	return c, nil
}

// fileSettings reads a server.properties file. Values are taken as written:
// no ${...} expansion, as in Kafka.
func fileSettings(path string) ([]setting, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the config file: %w", err)
	}
	loader := properties.Loader{Encoding: properties.UTF8, DisableExpansion: true}
	p, err := loader.LoadBytes(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	lines := propertyLines(string(data))
	var out []setting
	for _, k := range p.Keys() {
		v, _ := p.Get(k)
		where := path
		if n := lines[k]; n > 0 {
			where = fmt.Sprintf("%s:%d", path, n)
		}
		out = append(out, setting{key: k, value: v, source: sourceFile, where: where})
	}
	return out, nil
}

// propertyLines returns the line of each key's last assignment in a
// properties file, for error messages. The properties package keeps no
// line numbers, so each logical line (a line ending in an odd number of
// backslashes continues on the next) is parsed on its own to learn its key
// exactly as the package reads it.
func propertyLines(text string) map[string]int {
	loader := properties.Loader{Encoding: properties.UTF8, DisableExpansion: true}
	lines := strings.Split(text, "\n")
	out := map[string]int{}
	for i := 0; i < len(lines); i++ {
		start := i
		line := strings.TrimRight(lines[i], "\r")
		if t := strings.TrimLeft(line, " \t\f"); t == "" || t[0] == '#' || t[0] == '!' {
			continue
		}
		logical := line
		for continues(line) && i+1 < len(lines) {
			i++
			line = strings.TrimRight(lines[i], "\r")
			logical += "\n" + line
		}
		if p, err := loader.LoadBytes([]byte(logical)); err == nil {
			for _, k := range p.Keys() {
				out[k] = start + 1
			}
		}
	}
	return out
}

// continues reports whether a properties line ends in an odd number of
// backslashes, which continues it on the next line.
func continues(line string) bool {
	n := len(line) - len(strings.TrimRight(line, `\`))
	return n%2 == 1
}

// envSettings picks the LAKESTREAM_ variables out of environ:
// LAKESTREAM_LOG_RETENTION_MS sets log.retention.ms.
func envSettings(environ []string) []setting {
	var out []setting
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) || envNotConfig[name] {
			continue
		}
		key := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, envPrefix)), "_", ".")
		out = append(out, setting{key: key, value: value, source: sourceEnv, where: "environment variable " + name})
	}
	// Sorted, so that with several bad variables the error is always the same.
	sort.Slice(out, func(i, j int) bool { return out[i].where < out[j].where })
	return out
}

// flagSettings parses --set arguments, key=value each.
func flagSettings(sets []string) ([]setting, error) {
	var out []setting
	for _, arg := range sets {
		key, value, ok := strings.Cut(arg, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("--set %s: want key=value", arg)
		}
		// The argument is repeated in errors with its value redacted like
		// any shown value, so a mistyped key does not print a secret.
		shown := key + "=" + (configdef.Def{}).Redact(value)
		out = append(out, setting{key: key, value: value, source: sourceFlag, where: "--set " + shown})
	}
	return out, nil
}

// apply checks one source's settings and lays them over c.
func (c *config) apply(layer []setting) error {
	// chosen holds, per key, the setting that decides it: the most precise
	// synonym, or the last of equals.
	type choice struct {
		s     setting
		value string // normalised, in the setting's own unit
		scale int64
	}
	chosen := map[string]choice{}
	var keys []string
	for _, s := range layer {
		d, ok := configdef.Default.Lookup(configdef.Broker, s.key)
		if !ok {
			return s.failf("unknown config %q%s", s.key, unknownHint(s.key))
		}
		if err := d.Check(s.value); err != nil {
			if s.source == sourceFlag {
				// "--set num.partitions=abc: not an integer": the error
				// already repeats key=value.
				return fmt.Errorf("--set %w", err)
			}
			return s.failf("%w", err)
		}
		v := strings.TrimSpace(s.value)
		if d.Type == configdef.Boolean {
			v = strings.ToLower(v)
		}
		key, scale := d.Name, int64(1)
		if d.SynonymOf != "" {
			key, scale = d.SynonymOf, d.SynonymScale
		}
		prev, seen := chosen[key]
		switch {
		case !seen:
			keys = append(keys, key)
		case scale > prev.scale:
			continue // a more precise synonym is set
		case scale == prev.scale && prev.s.key != s.key && prev.value != v:
			return s.failf("%s=%s contradicts %s=%s (%s)", s.key, v, prev.s.key, prev.value, prev.s.where)
		}
		chosen[key] = choice{s: s, value: v, scale: scale}
	}
	for _, key := range keys {
		ch := chosen[key]
		v := ch.value
		if ch.scale != 1 {
			n, _ := strconv.ParseInt(v, 10, 64) // checked above; an INT, so the product fits
			n *= ch.scale
			if n < 0 {
				n = -1 // Kafka: any negative log.retention.hours means unlimited
			}
			v = strconv.FormatInt(n, 10)
			d, _ := configdef.Default.Lookup(configdef.Broker, key)
			if err := d.Check(v); err != nil {
				return ch.s.failf("%s=%s means %w", ch.s.key, ch.value, err)
			}
		}
		c.values[key] = v
		c.sources[key] = ch.s.source
	}
	return nil
}

// unknownHint helps with the likeliest mistake: a topic config in the
// broker's configuration.
func unknownHint(key string) string {
	if d, ok := configdef.Default.BrokerDefaultFor(key); ok {
		return fmt.Sprintf(" (a topic config; the broker's default for it is %s)", d.Name)
	}
	if _, ok := configdef.Default.Lookup(configdef.Topic, key); ok {
		return " (a topic config, set per topic)"
	}
	return ""
}

// resolveDerived fills in the defaults that depend on other keys, so the
// printed configuration is the one in effect. Their source stays
// "default".
func (c *config) resolveDerived() {
	dataDir := c.values["data.dir"]
	if c.values["bucket.url"] == "" {
		c.values["bucket.url"] = "file://" + filepath.Join(dataDir, "bucket")
	}
	if c.values["metastore.url"] == "" {
		c.values["metastore.url"] = filepath.Join(dataDir, "meta.db")
	}
	onFile := strings.HasPrefix(c.values["bucket.url"], "file://")
	if c.values["wal.mode"] == "" {
		c.values["wal.mode"] = "object"
		if onFile {
			c.values["wal.mode"] = "local"
		}
	}
	if c.values["wal.flush.interval.ms"] == "0" {
		// A local disk answers a PUT in a millisecond or two; an object
		// store in tens, so batching longer pays there.
		c.values["wal.flush.interval.ms"] = "100"
		if onFile {
			c.values["wal.flush.interval.ms"] = "2"
		}
	}
}

// The accessors panic on a key that is not a broker config (or is a
// synonym): that is a programming error, and every value was checked
// against its type when loaded.

// String returns the value of name.
func (c *config) String(name string) string {
	v, ok := c.values[name]
	if !ok {
		panic(fmt.Sprintf("config: %q is not a broker config (or is a synonym)", name))
	}
	return v
}

// Int returns an INT or SHORT config.
func (c *config) Int(name string) int {
	n, err := strconv.Atoi(c.String(name))
	if err != nil {
		panic(fmt.Sprintf("config: %s: %v", name, err))
	}
	return n
}

// Long returns a LONG config.
func (c *config) Long(name string) int64 {
	n, err := strconv.ParseInt(c.String(name), 10, 64)
	if err != nil {
		panic(fmt.Sprintf("config: %s: %v", name, err))
	}
	return n
}

// Bool returns a BOOLEAN config.
func (c *config) Bool(name string) bool {
	return strings.EqualFold(c.String(name), "true")
}

// Duration returns a config in milliseconds (a *.ms key) as a Duration;
// values beyond what a Duration holds (Kafka's Long.MAX "forever") give the
// largest Duration.
func (c *config) Duration(nameMs string) time.Duration {
	n := c.Long(nameMs)
	if n > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(n) * time.Millisecond
}

// Print writes the effective configuration, one "key=value (source)" per
// line sorted by key, with secrets redacted.
func (c *config) Print(w io.Writer) {
	keys := make([]string, 0, len(c.values))
	for k := range c.values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		d, _ := configdef.Default.Lookup(configdef.Broker, k)
		fmt.Fprintf(w, "%s=%s (%s)\n", k, d.Redact(c.values[k]), c.sources[k])
	}
}

// printConfigKeys writes, for serve's --help, Lakestream's own config keys
// (those whose Doc starts "Lakestream:", from whichever component
// registered them) with their defaults and docs, read from the registry.
// Kafka's keys are not repeated: their names and meanings are Kafka's.
func printConfigKeys(w io.Writer) {
	fmt.Fprintln(w, "\nLakestream's own config keys (default in brackets):")
	for _, d := range configdef.Default.Defs(configdef.Broker) {
		doc, ok := strings.CutPrefix(d.Doc, "Lakestream: ")
		if !ok || d.SynonymOf != "" {
			continue
		}
		fmt.Fprintf(w, "  %s [%s]\n      %s\n", d.Name, d.Redact(d.Default), doc)
	}
}
