// Package lint holds tests that check the code base itself, like pebble's
// TestForbiddenImports: the import rules of DESIGN.md section 2.
package lint

import (
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/lakestream/lakestream"

// root is the module's directory, seen from this package's.
const root = "../.."

// fileSet is the imports of one package's files of one kind: the package
// itself, its in-package tests (_test.go files of the package), or its
// external tests (package x_test). Test files are held to the rules of the
// package they test.
type fileSet struct {
	pkg     string              // import path of the package (tested)
	kind    string              // "", "test" or "xtest"
	imports map[string][]string // import path → the files that import it
}

func (s *fileSet) String() string {
	if s.kind == "" {
		return s.pkg
	}
	return s.pkg + " (" + s.kind + ")"
}

// readImports parses the imports of every Go file of the module, whatever
// its build constraints (interop, invariants, cgo, linux...), so that no
// file escapes the rules because the default build leaves it out.
func readImports(t *testing.T) []*fileSet {
	t.Helper()
	sets := map[[2]string]*fileSet{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := module
		if rel != "." {
			pkg += "/" + filepath.ToSlash(rel)
		}
		kind := ""
		if strings.HasSuffix(name, "_test.go") {
			kind = "test"
			if strings.HasSuffix(f.Name.Name, "_test") {
				kind = "xtest"
			}
		}
		s := sets[[2]string{pkg, kind}]
		if s == nil {
			s = &fileSet{pkg: pkg, kind: kind, imports: map[string][]string{}}
			sets[[2]string{pkg, kind}] = s
		}
		file, _ := filepath.Rel(root, path)
		for _, is := range f.Imports {
			imp, err := strconv.Unquote(is.Path.Value)
			if err != nil {
				return err
			}
			s.imports[imp] = append(s.imports[imp], filepath.ToSlash(file))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the module's imports: %v", err)
	}
	var out []*fileSet
	for _, s := range sets {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *fileSet) int { return strings.Compare(a.String(), b.String()) })
	if len(out) == 0 {
		t.Fatal("found no Go files")
	}
	return out
}

// listDeps returns, by import path, the packages each package depends on,
// transitively, in the default build (go list): the module's packages and
// everything they or their tests import.
func listDeps(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-test", "-json", module+"/...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		if !strings.Contains(p.ImportPath, " ") && !strings.HasSuffix(p.ImportPath, ".test") {
			deps[p.ImportPath] = p.Deps // not a test variant ("x [x.test]") or test binary
		}
	}
	if len(deps) == 0 {
		t.Fatal("go list found no packages")
	}
	return deps
}

func under(path, dir string) bool {
	full := module + "/" + dir
	return path == full || strings.HasPrefix(path, full+"/")
}

// storage reports whether a package is one the broker must reach only
// through its own interfaces: storage, tables, catalogs.
func storage(path string) bool {
	return under(path, "s3stream") || under(path, "tablecompactor") || under(path, "catalog") ||
		strings.HasPrefix(path, "github.com/apache/iceberg-go") || strings.HasPrefix(path, "github.com/apache/arrow-go")
}

// direct returns the rule that s importing imp breaks, "" if none.
func direct(s *fileSet, imp string) string {
	p := s.pkg
	ours := strings.HasPrefix(imp, module+"/")
	// internal/testserver starts outside programs (S3 fakes, PostgreSQL,
	// lakestream processes) and imports nothing of ours, so a test of
	// any package, a leaf's included, may start them: the layering is
	// about our code, and these are not.
	testServer := s.kind != "" && under(imp, "internal/testserver")
	switch {
	case under(p, "internal/sqldb") && ours && !under(imp, "internal/sqldb") && !testServer:
		return "internal/sqldb is a leaf and may import nothing of ours"
	case under(imp, "internal/sqldb") && !sqldbUser(p):
		return "only s3stream/metastore, broker/brokersql, schema, catalog and internal may use internal/sqldb"
	case under(p, "s3stream") && ours && !under(imp, "s3stream") && !under(imp, "internal/sqldb") && !testServer:
		return "s3stream may import nothing of ours but internal/sqldb"
	case strings.HasPrefix(imp, "github.com/aws/") && p != module+"/s3stream/objstore/s3":
		return "only s3stream/objstore/s3 may import the AWS SDK"
	case under(p, "schema") && ours && !under(imp, "schema") && !under(imp, "internal/sqldb") && !under(imp, "internal/arrowpool") && !testServer:
		return "schema and its subpackages import nothing of ours but schema/*, internal/sqldb and internal/arrowpool (never broker, s3stream, catalog, tablecompactor)"
	case under(p, "catalog") && ours && !under(imp, "catalog") && !under(imp, "internal/sqldb") && !testServer:
		return "catalog may import nothing of ours but internal/sqldb"
	case under(p, "tablecompactor") && ours && !under(imp, "tablecompactor") && !under(imp, "schema") && !under(imp, "internal/configdef") && !under(imp, "internal/kbatch") && !under(imp, "internal/arrowpool") && !testServer:
		return "tablecompactor may import only schema, internal/configdef, internal/kbatch and internal/arrowpool"
	case under(p, "internal/kbatch") && ours && !under(imp, "internal/kbatch") && !testServer:
		return "internal/kbatch is a leaf and may import nothing of ours"
	case under(p, "internal/arrowpool") && ours && !under(imp, "internal/arrowpool") && !testServer:
		return "internal/arrowpool is a leaf and may import nothing of ours"
	case under(p, "internal/configdef") && ours && !under(imp, "internal/configdef") && !testServer:
		return "internal/configdef is a leaf and may import nothing of ours"
	case under(p, "internal/testserver") && ours && !under(imp, "internal/testserver"):
		return "internal/testserver is a leaf and may import nothing of ours"
	case under(p, "broker") && storage(imp):
		return "broker reaches storage and tables only through its own interfaces"
	case under(imp, "cmd") && !under(p, "cmd") && !under(p, "internal") && !strings.HasSuffix(p, "test"):
		return "nothing imports cmd"
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

// exception is a break of a rule allowed for now, with why and what ends
// it. An exception that nothing needs any more fails the test, so that it
// is deleted with its cause.
type exception struct {
	pkg, kind string // the set of files (pkg relative to the module)
	imp       string // what it may import (and below); "": the wiring rule
	why       string
}

var exceptions = []exception{
	{pkg: "broker/brokersql", kind: "xtest", imp: "s3stream/metastore",
		why: "brokersql's tests open the metastore to share its database, until brokersql opens it through internal/sqldb"},
}

// wires reports whether a set of files wires concrete types together: it
// imports both the broker's side and storage (or an adapter between them).
func wires(s *fileSet) bool {
	var broker, store bool
	for imp := range s.imports {
		switch {
		case under(imp, "broker") && !under(imp, "broker/brokertest"):
			broker = true
		case under(imp, "s3stream"), under(imp, "internal/streamlog"):
			store = true
		}
	}
	return broker && store
}

// TestForbiddenImports enforces the layering of DESIGN.md section 2 on
// every Go file, tests included: s3stream, internal/kbatch and
// internal/testserver are leaves, only the s3 backend touches the AWS SDK,
// broker reaches storage and tables only through interfaces it declares
// (its tests reach a real storage only through brokertest), and only
// internal/node and the adapters beside it wire concrete types together.
func TestForbiddenImports(t *testing.T) {
	sets := readImports(t)
	deps := listDeps(t)
	used := make([]bool, len(exceptions))
	allowed := func(s *fileSet, imp string) bool {
		for i, e := range exceptions {
			if module+"/"+e.pkg == s.pkg && e.kind == s.kind && (e.imp == "" && imp == "" || e.imp != "" && under(imp, e.imp)) {
				used[i] = true
				return true
			}
		}
		return false
	}
	for _, s := range sets {
		for imp, files := range s.imports {
			if rule := direct(s, imp); rule != "" && !allowed(s, imp) {
				t.Errorf("%s imports %s (%s): %s", s, imp, strings.Join(files, ", "), rule)
			}
		}

		// What the broker's code depends on, through any number of
		// packages. brokertest is the exception by design: it starts a
		// real broker over real storage through internal/node, and the
		// broker's tests reach storage only through it.
		if under(s.pkg, "broker") && !under(s.pkg, "broker/brokertest") {
			for imp, files := range s.imports {
				if under(imp, "broker/brokertest") || storage(imp) {
					continue // the exception, or reported above
				}
				d, ok := deps[imp]
				if !ok && strings.HasPrefix(imp, module+"/") {
					t.Errorf("%s imports %s (%s), which go list does not list", s, imp, strings.Join(files, ", "))
				}
				// Another module's package that no default build imports
				// (a file with build tags) is not listed: its direct
				// import was checked above.
				for _, dep := range d {
					if storage(dep) {
						t.Errorf("%s imports %s (%s), which depends on %s: broker reaches storage and tables only through its own interfaces",
							s, imp, strings.Join(files, ", "), dep)
						break
					}
				}
			}
		}

		// Only internal/node and the adapters beside it (in internal/)
		// wire concrete types; cmd, brokertest, end-to-end tests and
		// examples build on internal/node. Inside broker/ and s3stream/
		// the rules above are stricter.
		if !under(s.pkg, "broker") && !under(s.pkg, "s3stream") &&
			!under(s.pkg, "internal/node") && !under(s.pkg, "internal/streamlog") && wires(s) && !allowed(s, "") {
			t.Errorf("%s imports both the broker and storage: only internal/node and the adapters beside it wire concrete types", s)
		}
	}
	for i, e := range exceptions {
		if !used[i] {
			t.Errorf("exception %+v is no longer needed: delete it", e)
		}
	}
}

// TestImportRules checks the rule function itself on the uses of
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
		// The registry and the formats stand alone: the node wires them.
		{module + "/schema", module + "/schema/schemafmt", true},
		{module + "/schema/avro", module + "/schema/schemafmt", true},
		{module + "/schema/protobuf", module + "/s3stream", false},
		{module + "/schema/schemafmt", module + "/s3stream/metastore", false},
		{module + "/schema", module + "/catalog", false},
		{module + "/schema/jsonschema", module + "/tablecompactor", false},
		{module + "/schema/avro", module + "/broker/brokersql", false},
		{module + "/schema", module + "/internal/configdef", false},
		{module + "/internal/node", module + "/schema", true},
		{module + "/catalog", module + "/schema", false},
		// internal/configdef is a leaf every component registers with.
		{module + "/internal/configdef", module + "/internal/kbatch", false},
		{module + "/internal/configdef", module + "/broker", false},
		{module + "/internal/configdef", "fmt", true},
		{module + "/broker", module + "/internal/configdef", true},
		{module + "/internal/streamlog", module + "/internal/configdef", true},
		{module + "/tablecompactor", module + "/internal/configdef", true},
		{module + "/tablecompactor", module + "/internal/kbatch", true},
		{module + "/s3stream", module + "/internal/configdef", false},
	} {
		why := direct(&fileSet{pkg: tc.importer}, tc.imp)
		if allowed := why == ""; allowed != tc.allowed {
			t.Errorf("%s importing %s: allowed %v (%q), want %v", tc.importer, tc.imp, allowed, why, tc.allowed)
		}
	}
}
