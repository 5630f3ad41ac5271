package gitlabtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPackageDoesNotImportTesting keeps package testing (and anything
// outside the standard library but the SDK) out of the package's own
// files, so that commands such as gitlabfake can use it.
func TestPackageDoesNotImportTesting(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("parsing %s: %v", name, err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if path == "testing" || strings.HasPrefix(path, "testing/") ||
				(strings.Contains(first, ".") && path != "github.com/gitlabdata/gitlabdata") {
				t.Errorf("%s imports %q", name, path)
			}
		}
	}
}
