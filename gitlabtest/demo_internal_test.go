package gitlabtest

import (
	"slices"
	"testing"

	"github.com/gitlabdata/gitlabdata"
)

// The demo seeds no model GitLab does not serve: every model it stores is
// a name of every release from 18.8 on (the smallest plural set is
// 18.8's), its singular form is a name of 18.3 to 18.7, and it makes no
// model accepted beyond the release's own.
func TestDemoServesOnlyGitLabModels(t *testing.T) {
	t.Parallel()
	for _, v := range []Version{{18, 7, 0}, {18, 8, 0}, NewestVersion} {
		srv := NewServer(WithVersion(v), WithDemoData())
		srv.mu.Lock()
		var stored []gitlabdata.ModelName
		for name, m := range srv.models {
			if len(m.recs) > 0 {
				stored = append(stored, name)
			}
		}
		extra := len(srv.extraModels)
		srv.mu.Unlock()
		srv.Close()
		if len(stored) != 10 || extra != 0 {
			t.Errorf("%s demo: %d models with records, %d accepted beyond the release; want 10 and 0", v, len(stored), extra)
		}
		for _, name := range stored {
			if !acceptsPluralName(Version{18, 8, 0}, string(name)) || !acceptsPluralName(NewestVersion, string(name)) {
				t.Errorf("%s demo model %q is not a name of every release from 18.8 on", v, name)
			}
			if !slices.Contains(singularModelNames, singularize(string(name))) {
				t.Errorf("%s demo model %q has no singular name of 18.3 to 18.7", v, name)
			}
		}
	}
}
