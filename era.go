package gitlabdata

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// This file holds what a Client learns about the GitLab era it talks to
// (its version, and whether it wants singular model names) and what it says
// when a data-management call meets an era that cannot serve it.

// serverFacts is shared by a Client and its services; it sits behind a
// pointer so the Client stays copyable for fmt.
type serverFacts struct {
	mu       sync.Mutex
	version  *ServerVersion
	singular bool // the server refused a plural name and took its singular form
}

func (f *serverFacts) setVersion(v ServerVersion) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version = &v
	if !v.AtLeast(18, 8) {
		f.singular = true
	}
}

// knownVersion is the version learned so far, or nil.
func (f *serverFacts) knownVersion() *ServerVersion {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.version == nil {
		return nil
	}
	v := *f.version
	return &v
}

func (f *serverFacts) wantsSingular() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.singular
}

func (f *serverFacts) learnSingular() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.singular = true
}

// serverVersion returns the server's version, asking GitLab once per Client.
func (c *Client) serverVersion(ctx context.Context) (ServerVersion, error) {
	if v := c.facts.knownVersion(); v != nil {
		return *v, nil
	}
	v, _, err := c.Version(ctx)
	if err != nil {
		return ServerVersion{}, err
	}
	return *v, nil
}

// modelName is the form of model to send: its singular on a server known to
// want singular names (GitLab 18.3 to 18.7).
func (c *Client) modelName(model ModelName) ModelName {
	if c.facts.wantsSingular() {
		return model.Singular()
	}
	return model
}

// invalidModelName recognises GitLab's 400 for a model name its era does not
// accept.
func invalidModelName(err error, name ModelName) (*APIError, bool) {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest &&
		strings.Contains(apiErr.Message, "model_name does not have a valid value") && apiErr.forModel(name) {
		return apiErr, true
	}
	return nil, false
}

// forModel reports whether e answers a request about model name: an error
// of another request can reach a caller wrapped in its own (a context
// cancelled with that error as its cause), and must not be taken for its.
func (e *APIError) forModel(name ModelName) bool {
	path, _, _ := strings.Cut(e.Path, "?")
	_, rest, found := strings.Cut(path, "/data_management/")
	seg, _, _ := strings.Cut(rest, "/")
	return found && seg == url.PathEscape(string(name))
}

// withModelName runs call with the form of model the server wants. When the
// server refuses a plural name that has a singular form, call runs once more
// with that form, and the Client keeps it for later calls: GitLab 18.3 to
// 18.7 know only singular names. A refusal that stands gets a Hint naming
// the nearest known names. GitLab refuses the name before doing anything, so
// running call again never does more than asked. call reports, with
// retryable, whether it may run again after its error (an iterator that has
// yielded items may not).
func (c *Client) withModelName(model ModelName, call func(name ModelName) (err error, retryable bool)) error {
	name := c.modelName(model)
	err, retryable := call(name)
	apiErr, invalid := invalidModelName(err, name)
	if !invalid {
		return err
	}
	if singular := model.Singular(); retryable && singular != name && c.mayWantSingular() {
		retryErr, _ := call(singular)
		var answer *APIError
		_, stillInvalid := invalidModelName(retryErr, singular)
		// Only GitLab's answer to the singular name teaches the Client:
		// success, or an error about something else than the name. No
		// answer (a cancelled context, a dropped connection) says nothing.
		if retryErr == nil || !stillInvalid && errors.As(retryErr, &answer) {
			c.facts.learnSingular()
			return retryErr
		}
	}
	apiErr.Hint = c.unknownModelHint(model) // the error of the caller's own name
	return err
}

// mayWantSingular is false when the server is known to be GitLab 18.8 or
// later, which takes plural names only.
func (c *Client) mayWantSingular() bool {
	v := c.facts.knownVersion()
	return v == nil || !v.AtLeast(18, 8)
}

// unknownModelHint suggests the known names nearest to model.
func (c *Client) unknownModelHint(model ModelName) string {
	known := ModelNames()
	if v := c.facts.knownVersion(); v != nil {
		known = ModelNamesFor(*v)
	} else if c.facts.wantsSingular() {
		known = ModelNamesFor(ServerVersion{Major: 18, Minor: 3})
	}
	near := nearestNames(model, known, 3)
	hint := fmt.Sprintf("this server does not know the model %q", model)
	if len(near) > 0 {
		hint += "; did you mean " + strings.Join(near, ", ") + "?"
	} else {
		hint += ";"
	}
	return hint + " ModelNamesFor lists the names each GitLab version accepts"
}

// nearestNames returns up to n names of known within a small edit distance
// of model, nearest first.
func nearestNames(model ModelName, known []ModelName, n int) []string {
	type scored struct {
		name string
		d    int
	}
	var out []scored
	limit := max(3, len(model)/3)
	for _, k := range known {
		if d := editDistance(string(model), string(k)); d > 0 && d <= limit { // not the refused name itself
			out = append(out, scored{string(k), d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].d < out[j].d })
	names := make([]string, 0, min(n, len(out)))
	for _, s := range out[:min(n, len(out))] {
		names = append(names, s.name)
	}
	return names
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// unavailableHint says why a data-management route answered 404 as a whole
// (not for one missing record): the API is not there.
func (c *Client) unavailableHint() string {
	hint := "the Data management API is not available on this server: it needs GitLab 18.3 or later " +
		"(Premium or Ultimate) on a Geo primary site, and before GitLab 18.10 the feature flag " +
		"geo_primary_verification_view enabled (on by default from 18.8)"
	if v := c.facts.knownVersion(); v != nil {
		hint += "; the server is GitLab " + v.Version
	}
	return hint
}

// markUnavailable adds unavailableHint to a 404 that means the API is not
// there: any 404 of a listing, and GitLab's bare "404 Not Found" (no record
// named) elsewhere.
func (c *Client) markUnavailable(err error, listing bool) {
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		return
	}
	if listing || apiErr.Message == "404 Not Found" || apiErr.Message == "" {
		apiErr.Hint = c.unavailableHint()
	}
}
