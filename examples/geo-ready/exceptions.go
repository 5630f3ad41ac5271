package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/gitlabdata/gitlabdata"
)

// exceptionsExample is printed by -h.
const exceptionsExample = `{"exceptions": [
  {"site": "gitlab-secondary-1", "data_type": "project_repositories", "max_failed": 3,
   "reason": "three archived projects whose repositories are corrupt on the primary too (INC-2041)"},
  {"model": "projects", "record_ids": ["12", "15"],
   "reason": "known checksum mismatches of two read-only mirrors, accepted by the DR owner"}
]}`

// Exception accepts failures the gate would otherwise call a no-go: up to
// MaxFailed failed and verification-failed items of one data type on one
// site (the primary's name for its own status counts), or the primary's
// failed checksums of the records RecordIDs of one model. Reason is
// required.
type Exception struct {
	Site      string    `json:"site,omitempty"`
	DataType  string    `json:"data_type,omitempty"`
	MaxFailed *int64    `json:"max_failed,omitempty"`
	Model     string    `json:"model,omitempty"`
	RecordIDs recordIDs `json:"record_ids,omitempty"`
	Reason    string    `json:"reason"`
}

// recordIDs reads record ids written as strings or as numbers.
type recordIDs []string

// UnmarshalJSON accepts ["12", 15].
func (r *recordIDs) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return errors.New("record_ids must be a list of ids, such as [\"12\", \"15\"]")
	}
	*r = nil
	for _, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			*r = append(*r, s)
			continue
		}
		var n json.Number
		if json.Unmarshal(v, &n) != nil {
			return fmt.Errorf("record id %s is neither a string nor a number", v)
		}
		*r = append(*r, n.String())
	}
	return nil
}

// StaleException is an exception that accepted nothing in this run.
type StaleException struct {
	Exception
	// Why: "no longer fails", "no such site", "no such model", or "no such
	// data type".
	Why string `json:"why"`
}

// exceptions are the accepted exceptions of a run, and which matched.
type exceptions struct {
	list    []Exception
	matched []bool
	unknown map[int]string // why an exception names nothing this instance has
	// acceptedRecords counts, per model, the failed records accepted.
	acceptedRecords map[gitlabdata.ModelName]int
	// staleIDs are the record ids of record exceptions that did not fail.
	staleIDs map[int][]string
}

// loadExceptions reads an exceptions file ("" for none).
func loadExceptions(path string) (*exceptions, error) {
	e := &exceptions{acceptedRecords: map[gitlabdata.ModelName]int{}, staleIDs: map[int][]string{}, unknown: map[int]string{}}
	if path == "" {
		return e, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var file struct {
		Exceptions []Exception `json:"exceptions"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			err = fmt.Errorf("%s has the wrong type", typeErr.Field)
			if typeErr.Field == "" {
				err = errors.New(`want an object {"exceptions": [...]}`)
			}
		}
		return nil, fmt.Errorf("%s: %v (-h shows the form)", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: something follows the JSON object", path)
	}
	for i, x := range file.Exceptions {
		where := fmt.Sprintf("%s: exception %d", path, i+1)
		siteForm := x.Site != "" || x.DataType != "" || x.MaxFailed != nil
		recordForm := x.Model != "" || len(x.RecordIDs) > 0
		switch {
		case strings.TrimSpace(x.Reason) == "":
			return nil, fmt.Errorf("%s: a reason is required: say why the failure is acceptable", where)
		case siteForm && recordForm:
			return nil, fmt.Errorf("%s: give either site, data_type and max_failed, or model and record_ids", where)
		case siteForm && x.MaxFailed != nil && *x.MaxFailed < 0:
			return nil, fmt.Errorf("%s: max_failed %d: want 0 or more", where, *x.MaxFailed)
		case siteForm && (x.Site == "" || x.DataType == "" || x.MaxFailed == nil):
			return nil, fmt.Errorf("%s: site, data_type and max_failed go together", where)
		case recordForm && (x.Model == "" || len(x.RecordIDs) == 0):
			return nil, fmt.Errorf("%s: model and record_ids (at least one) go together", where)
		case !siteForm && !recordForm:
			return nil, fmt.Errorf("%s: give site, data_type and max_failed, or model and record_ids", where)
		}
	}
	e.list = file.Exceptions
	e.matched = make([]bool, len(e.list))
	return e, nil
}

// pluralModel is model's plural name: exceptions may name the singular form of
// GitLab 18.3 to 18.7.
func pluralModel(model string) string {
	for _, m := range gitlabdata.ModelNames() {
		if string(m.Singular()) == model {
			return string(m)
		}
	}
	return model
}

// acceptFailures says whether an exception accepts n failures of dataType
// on site, and with which reason. covered is the most an exception of
// that site and data type accepts (-1 when none names them).
func (e *exceptions) acceptFailures(site, dataType string, n int64) (reason string, ok bool, covered int64) {
	covered = -1
	for i, x := range e.list {
		if x.Site == site && x.DataType == dataType && x.MaxFailed != nil {
			e.matched[i] = true
			covered = max(covered, *x.MaxFailed)
			if n <= *x.MaxFailed {
				return x.Reason, true, covered
			}
		}
	}
	return "", false, covered
}

// acceptRecords returns the failed record ids of model that exceptions
// accept, and their reasons.
func (e *exceptions) acceptRecords(model gitlabdata.ModelName, failed []string) ([]string, string) {
	var ids, reasons []string
	for i, x := range e.list {
		if pluralModel(x.Model) != string(model) {
			continue
		}
		var stale []string
		for _, id := range x.RecordIDs {
			if slices.Contains(failed, id) {
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
				e.matched[i] = true
			} else {
				stale = append(stale, id)
			}
		}
		e.staleIDs[i] = stale
		if e.matched[i] && !slices.Contains(reasons, x.Reason) {
			reasons = append(reasons, x.Reason)
		}
	}
	e.acceptedRecords[model] = len(ids)
	return ids, strings.Join(reasons, "; ")
}

// noRecordFailures notes that model has no failed record.
func (e *exceptions) noRecordFailures(model gitlabdata.ModelName) {
	for i, x := range e.list {
		if pluralModel(x.Model) == string(model) {
			e.staleIDs[i] = x.RecordIDs
		}
	}
}

// checkNames notes the exceptions that name a site or a model this
// instance does not have (a typo, or a site since removed).
func (e *exceptions) checkNames(sites []*gitlabdata.GeoSite, models []gitlabdata.ModelName) {
	for i, x := range e.list {
		switch {
		case x.Site != "" && !slices.ContainsFunc(sites, func(s *gitlabdata.GeoSite) bool { return s.Name == x.Site }):
			e.unknown[i] = "no such site"
		case x.Model != "" && !slices.Contains(models, gitlabdata.ModelName(pluralModel(x.Model))):
			e.unknown[i] = "no such model on this GitLab release"
		}
	}
}

// stale returns the exceptions that accepted nothing, and those of which
// some record ids did not fail (with those ids only).
func (e *exceptions) stale() []StaleException {
	out := []StaleException{}
	for i, x := range e.list {
		switch {
		case e.unknown[i] != "":
			out = append(out, StaleException{x, e.unknown[i]})
		case !e.matched[i]:
			out = append(out, StaleException{x, "no longer fails"})
		case len(e.staleIDs[i]) > 0:
			x.RecordIDs = e.staleIDs[i]
			out = append(out, StaleException{x, "no longer fails"})
		}
	}
	return out
}
