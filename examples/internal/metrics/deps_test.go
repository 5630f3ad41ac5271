package metrics

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyExamplesDependOnPrometheus keeps client_golang out of the SDK:
// no package of the module outside examples/ (the root package, drain,
// gitlabtest, cmd/gitlabfake, internal/…), nor its tests, may depend on
// anything of github.com/prometheus, even indirectly.
func TestOnlyExamplesDependOnPrometheus(t *testing.T) {
	t.Parallel()
	const module = "github.com/gitlabdata/gitlabdata"
	out, err := exec.Command("go", "list", "-test", "-f", `{{.ImportPath}}|{{join .Deps ","}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	users := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, "|")
		pkg, _, _ = strings.Cut(pkg, " ") // "p [p.test]" is p's test build
		pkg = strings.TrimSuffix(pkg, ".test")
		for _, dep := range strings.Split(deps, ",") {
			if strings.HasPrefix(dep, "github.com/prometheus/") {
				users[pkg] = true
			}
		}
	}
	for pkg := range users {
		if !strings.HasPrefix(pkg, module+"/examples/") {
			t.Errorf("%s depends on github.com/prometheus: only the examples may", pkg)
		}
	}
	// The check sees what it looks for.
	for _, pkg := range []string{"examples/evacuate-storage", "examples/checksum-audit", "examples/internal/metrics"} {
		if !users[module+"/"+pkg] {
			t.Errorf("go list shows no dependency of %s on github.com/prometheus", pkg)
		}
	}
}
