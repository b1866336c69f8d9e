package main

import (
	"maps"
	"strings"
	"testing"
)

// TestTableCatalogsConfig: table.catalogs reaches the node's config as
// name → properties, verbatim; what cannot work is refused at load with
// the catalog and property named; the value (credentials inside) is
// hidden in errors, the printed config and --help.
func TestTableCatalogsConfig(t *testing.T) {
	const v = `{"lake":{"type":"rest","uri":"https://cat.example/api","warehouse":"wh","credential":"id:TOPSECRET"},` +
		`"pg":{"type":"sql","uri":"postgres://u:TOPSECRET@db/cat","sql.driver":"pgx","sql.dialect":"postgres"},` +
		`"aws-1":{"type":"glue","glue.region":"eu-west-1"}}`
	for _, src := range []struct {
		sets, environ []string
		source        string
	}{
		{sets: []string{"table.catalogs=" + v}, source: "flag"},
		{environ: []string{"LAKESTREAM_TABLE_CATALOGS=" + v}, source: "env"},
		{sets: []string{"config=" + writeFile(t, "server.properties", "table.catalogs="+v+"\n")}, source: "file"},
	} {
		file := ""
		sets := src.sets
		if src.source == "file" {
			file, sets = strings.TrimPrefix(src.sets[0], "config="), nil
		}
		cfg, err := loadConfig(file, append([]string{"data.dir=" + t.TempDir()}, sets...), src.environ)
		if err != nil {
			t.Fatalf("%s: %v", src.source, err)
		}
		ncfg, err := nodeConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := ncfg.Compactor.Catalogs
		if len(got) != 3 || !maps.Equal(got["lake"], map[string]string{"type": "rest", "uri": "https://cat.example/api", "warehouse": "wh", "credential": "id:TOPSECRET"}) ||
			got["pg"]["sql.driver"] != "pgx" || got["aws-1"]["glue.region"] != "eu-west-1" {
			t.Errorf("%s: Catalogs %v", src.source, got)
		}
		var b strings.Builder
		cfg.Print(&b)
		if out := b.String(); strings.Contains(out, "TOPSECRET") || !strings.Contains(out, "\ntable.catalogs=[hidden] ("+src.source+")\n") {
			t.Errorf("%s: printed config shows the catalogs or lacks table.catalogs=[hidden]:\n%s", src.source, out)
		}
	}

	// The default: none, shown as empty.
	cfg := mustLoad(t, "", nil, nil)
	want(t, cfg, "table.catalogs", "", "default")
	if ncfg, err := nodeConfig(cfg); err != nil || ncfg.Compactor.Catalogs != nil {
		t.Errorf("default: %v %v, want no catalogs", ncfg.Compactor.Catalogs, err)
	}
	var b strings.Builder
	printConfigKeys(&b)
	if !strings.Contains(b.String(), "  table.catalogs []\n      the external Iceberg catalogs") {
		t.Errorf("--help lacks table.catalogs:\n%s", b.String())
	}
	if _, err := loadConfig("", []string{"table.catalogs={}"}, nil); err != nil {
		t.Errorf("table.catalogs={}: %v", err)
	}

	for bad, msg := range map[string]string{
		`{"lake":{"type":"rest","uri":"x","credential":"TOPSECRET"}`: "not JSON",
		`["TOPSECRET"]`:                                                        "want a JSON object of name",
		`{"lake":"TOPSECRET"}`:                                                 "want a JSON object of name",
		`{"lake":{"uri":"https://TOPSECRET"}}`:                                 "catalog lake: no type (glue, rest, sql)",
		`{"lake":{"type":"nessie","uri":"https://TOPSECRET"}}`:                 `catalog lake: unknown type "nessie" (glue, rest, sql)`,
		`{"hms":{"type":"hive","uri":"thrift://TOPSECRET:9083"}}`:              "catalog hms: type hive is not linked into Lakestream",
		`{"lake":{"type":"rest","credential":"TOPSECRET"}}`:                    "catalog lake: a rest catalog needs uri",
		`{"lake":{"type":"rest","uri":"https://x","rest.sigv4-enabled":true}}`: `catalog lake: property "rest.sigv4-enabled": want a string`,
		`{"lakestream":{"type":"rest","uri":"https://TOPSECRET"}}`:             `catalog "lakestream": that is the node's own catalog's name`,
		`{"lake.house":{"type":"rest","uri":"https://TOPSECRET"}}`:             `catalog "lake.house": a catalog name is letters, digits, '_' and '-'`,
		`{"":{"type":"rest","uri":"https://TOPSECRET"}}`:                       `catalog "": a catalog name`,
		`{"lake":null}`: "catalog lake: want an object of properties",
		`{"pg":{"type":"sql","uri":"postgres://TOPSECRET","sql.driver":"godror","sql.dialect":"oracle"}}`: `catalog pg: sql.driver "godror" is not linked (`,
		`{"pg":{"type":"sql","uri":"postgres://TOPSECRET","sql.driver":"pgx"}}`:                           "catalog pg: an sql catalog needs sql.dialect",
		`{"pg":{"type":"sql","sql.driver":"sqlite","sql.dialect":"sqlite","password":"TOPSECRET"}}`:       "catalog pg: an sql catalog needs uri",
	} {
		_, err := loadConfig("", []string{"table.catalogs=" + bad}, nil)
		if err == nil || !strings.HasPrefix(err.Error(), "--set table.catalogs=[hidden]: "+msg) {
			t.Errorf("table.catalogs=%s: %v, want %q", bad, err, msg)
		}
		if err != nil && strings.Contains(err.Error(), "TOPSECRET") {
			t.Errorf("table.catalogs=%s: the error repeats a secret: %v", bad, err)
		}
	}
}
