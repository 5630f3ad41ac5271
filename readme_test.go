package gitlabdata

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeSnippetsComeFromExamples keeps the README's code honest: every
// Go block marked "copied from ExampleX in FILE" must appear, line by line
// and in order, in the body of ExampleX in FILE, which go test runs and
// checks against its // Output.
func TestReadmeSnippetsComeFromExamples(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	marked := regexp.MustCompile("(?s)<!-- copied from (\\w+) in ([\\w/]+_test\\.go) -->\n```go\n(.*?)```")
	matches := marked.FindAllStringSubmatch(string(readme), -1)
	if len(matches) < 2 {
		t.Fatalf("README.md has %d marked snippets; want the quick start and the drain snippet", len(matches))
	}
	for _, m := range matches {
		name, file, snippet := m[1], m[2], m[3]
		body, ok := exampleBodies(t, file)[name]
		if !ok {
			t.Errorf("README.md snippet is marked as copied from %s, which %s does not define", name, file)
			continue
		}
		source := normalizedLines(body)
		next := 0
		for _, line := range normalizedLines(snippet) {
			for next < len(source) && source[next] != line {
				next++
			}
			if next == len(source) {
				t.Errorf("README.md snippet from %s: line %q is not in the example (or is out of order)", name, line)
				break
			}
			next++
		}
	}
}

// exampleBodies returns the source of each function body in file.
func exampleBodies(t *testing.T, file string) map[string]string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string]string{}
	for _, decl := range f.Decls {
		if fn, ok := decl.(*ast.FuncDecl); ok && fn.Body != nil {
			bodies[fn.Name.Name] = string(src[fset.Position(fn.Body.Pos()).Offset:fset.Position(fn.Body.End()).Offset])
		}
	}
	return bodies
}

// normalizedLines drops blank lines and folds runs of white space.
func normalizedLines(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if f := strings.Join(strings.Fields(line), " "); f != "" {
			out = append(out, f)
		}
	}
	return out
}
