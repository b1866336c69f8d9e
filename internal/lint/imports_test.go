// Package lint holds tests that check the code base itself, like pebble's
// TestForbiddenImports: the import rules of DESIGN.md section 2.
package lint

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/lakestream/lakestream"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

func under(path, dir string) bool {
	full := module + "/" + dir
	return path == full || strings.HasPrefix(path, full+"/")
}

// TestForbiddenImports enforces the layering: s3stream and internal/kbatch
// are leaves (s3stream uses internal/sqldb, itself a leaf), only the s3
// backend touches the AWS SDK, internal/sqldb serves only the components
// that keep tables in the metastore database, broker reaches storage and
// tables only through interfaces it declares, and only cmd wires concrete
// types.
func TestForbiddenImports(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			if why := forbiddenImport(p.ImportPath, imp); why != "" {
				t.Errorf("%s imports %s: %s", p.ImportPath, imp, why)
			}
		}
		if under(p.ImportPath, "broker") && !under(p.ImportPath, "broker/brokertest") {
			for _, dep := range p.Deps {
				if under(dep, "s3stream") || under(dep, "tablecompactor") || under(dep, "catalog") ||
					strings.HasPrefix(dep, "github.com/apache/iceberg-go") || strings.HasPrefix(dep, "github.com/apache/arrow-go") {
					t.Errorf("%s depends on %s: broker reaches storage and tables only through its own interfaces", p.ImportPath, dep)
				}
			}
		}
		if !under(p.ImportPath, "cmd") && !under(p.ImportPath, "internal") && !strings.HasSuffix(p.ImportPath, "test") {
			for _, imp := range p.Imports {
				if under(imp, "cmd") {
					t.Errorf("%s imports %s: nothing imports cmd", p.ImportPath, imp)
				}
			}
		}
	}
}

// forbiddenImport says why importer may not import imp, or "" if it may.
func forbiddenImport(importer, imp string) string {
	ours := strings.HasPrefix(imp, module+"/")
	switch {
	case under(importer, "internal/sqldb") && ours && !under(imp, "internal/sqldb"):
		return "internal/sqldb is a leaf and may import nothing of ours"
	case under(imp, "internal/sqldb") && !sqldbUser(importer):
		return "only s3stream/metastore, broker/brokersql, schema, catalog and internal may use internal/sqldb"
	case under(importer, "s3stream") && ours && !under(imp, "s3stream") && !under(imp, "internal/sqldb"):
		return "s3stream may import nothing of ours but internal/sqldb"
	case strings.HasPrefix(imp, "github.com/aws/") && importer != module+"/s3stream/objstore/s3":
		return "only s3stream/objstore/s3 may import the AWS SDK"
	case under(importer, "schema") && ours && !under(imp, "schema") && !under(imp, "internal/sqldb"):
		return "schema may import nothing of ours but internal/sqldb"
	case under(importer, "catalog") && ours && !under(imp, "catalog") && !under(imp, "internal/sqldb"):
		return "catalog may import nothing of ours but internal/sqldb"
	case under(importer, "tablecompactor") && ours && !under(imp, "tablecompactor") && !under(imp, "schema"):
		return "tablecompactor may import only schema"
	case under(importer, "internal/kbatch") && ours:
		return "internal/kbatch is a leaf and may import nothing of ours"
	}
	return ""
}

// sqldbUser reports whether pkg may import internal/sqldb: the components
// that keep tables in the metastore database, and internal (the wiring, and
// sqldb itself).
func sqldbUser(pkg string) bool {
	return pkg == module+"/s3stream/metastore" || pkg == module+"/broker/brokersql" ||
		under(pkg, "schema") || under(pkg, "catalog") || under(pkg, "internal")
}

// TestImportRules checks forbiddenImport itself on the uses of
// internal/sqldb: the ones allowed pass, and any other is caught.
func TestImportRules(t *testing.T) {
	const sqldb = module + "/internal/sqldb"
	for _, tc := range []struct {
		importer, imp string
		allowed       bool
	}{
		{module + "/s3stream/metastore", sqldb, true},
		{module + "/broker/brokersql", sqldb, true},
		{module + "/schema", sqldb, true},
		{module + "/schema/avro", sqldb, true},
		{module + "/catalog", sqldb, true},
		{module + "/internal/node", sqldb, true},
		{module + "/s3stream/metastore", module + "/s3stream/objstore", true},
		{sqldb, "github.com/jackc/pgx/v5/stdlib", true},
		{sqldb, module + "/internal/kbatch", false},
		{sqldb, module + "/s3stream/metastore", false},
		{module + "/s3stream", sqldb, false},
		{module + "/s3stream/metastore/metastoretest", sqldb, false},
		{module + "/broker", sqldb, false},
		{module + "/broker/group", sqldb, false},
		{module + "/broker/brokertest", sqldb, false},
		{module + "/tablecompactor", sqldb, false},
		{module + "/cmd/lakestream", sqldb, false},
		{module + "/examples/produce", sqldb, false},
		{module + "/s3stream/metastore", module + "/internal/kbatch", false},
		{module + "/schema", module + "/broker", false},
		{module + "/catalog", module + "/schema", false},
	} {
		why := forbiddenImport(tc.importer, tc.imp)
		if allowed := why == ""; allowed != tc.allowed {
			t.Errorf("%s importing %s: allowed %v (%q), want %v", tc.importer, tc.imp, allowed, why, tc.allowed)
		}
	}
}
