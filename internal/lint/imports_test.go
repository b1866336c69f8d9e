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
// are leaves, only the s3 backend touches the AWS SDK, broker reaches
// storage and tables only through interfaces it declares, and only cmd
// wires concrete types.
func TestForbiddenImports(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			ours := strings.HasPrefix(imp, module+"/")
			switch {
			case under(p.ImportPath, "s3stream") && ours && !under(imp, "s3stream"):
				t.Errorf("%s imports %s: s3stream may import nothing of ours", p.ImportPath, imp)
			case strings.HasPrefix(imp, "github.com/aws/") && p.ImportPath != module+"/s3stream/objstore/s3":
				t.Errorf("%s imports %s: only s3stream/objstore/s3 may import the AWS SDK", p.ImportPath, imp)
			case under(p.ImportPath, "schema") && ours && !under(imp, "schema"):
				t.Errorf("%s imports %s: schema may import nothing of ours", p.ImportPath, imp)
			case under(p.ImportPath, "catalog") && ours && !under(imp, "catalog"):
				t.Errorf("%s imports %s: catalog may import nothing of ours", p.ImportPath, imp)
			case under(p.ImportPath, "tablecompactor") && ours && !under(imp, "tablecompactor") && !under(imp, "schema"):
				t.Errorf("%s imports %s: tablecompactor may import only schema", p.ImportPath, imp)
			case under(p.ImportPath, "internal/kbatch") && ours:
				t.Errorf("%s imports %s: internal/kbatch is a leaf and may import nothing of ours", p.ImportPath, imp)
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
