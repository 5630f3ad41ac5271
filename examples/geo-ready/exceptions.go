package main

import (
	"bytes"
	"encoding/json"
	"fmt"
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
// site, or the primary's failed checksums of the records RecordIDs of one
// model. Reason is required.
type Exception struct {
	Site      string   `json:"site,omitempty"`
	DataType  string   `json:"data_type,omitempty"`
	MaxFailed *int64   `json:"max_failed,omitempty"`
	Model     string   `json:"model,omitempty"`
	RecordIDs []string `json:"record_ids,omitempty"`
	Reason    string   `json:"reason"`
}

// exceptions are the accepted exceptions of a run, and which matched.
type exceptions struct {
	list    []Exception
	matched []bool
	// acceptedRecords counts, per model, the failed records accepted.
	acceptedRecords map[gitlabdata.ModelName]int
	// staleIDs are the record ids of record exceptions that did not fail.
	staleIDs map[int][]string
}

// loadExceptions reads an exceptions file ("" for none).
func loadExceptions(path string) (*exceptions, error) {
	e := &exceptions{acceptedRecords: map[gitlabdata.ModelName]int{}, staleIDs: map[int][]string{}}
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
		return nil, fmt.Errorf("%s: %v (see -h for the form)", path, err)
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
		case siteForm && (x.Site == "" || x.DataType == "" || x.MaxFailed == nil || *x.MaxFailed < 0):
			return nil, fmt.Errorf("%s: site, data_type and max_failed (0 or more) go together", where)
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

// acceptFailures says whether an exception accepts n failures of dataType
// on site, and with which reason.
func (e *exceptions) acceptFailures(site, dataType string, n int64) (string, bool) {
	for i, x := range e.list {
		if x.Site == site && x.DataType == dataType && x.MaxFailed != nil {
			e.matched[i] = true
			if n <= *x.MaxFailed {
				return x.Reason, true
			}
		}
	}
	return "", false
}

// acceptRecords returns the failed record ids of model that exceptions
// accept, and their reasons.
func (e *exceptions) acceptRecords(model gitlabdata.ModelName, failed []string) ([]string, string) {
	var ids, reasons []string
	for i, x := range e.list {
		if x.Model != string(model) {
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
		if x.Model == string(model) {
			e.staleIDs[i] = x.RecordIDs
		}
	}
}

// coversRecords says whether the accepted records of model cover n
// failures (the primary's status counts the same failures).
func (e *exceptions) coversRecords(model gitlabdata.ModelName, n int) (string, bool) {
	if e.acceptedRecords[model] < n || n == 0 {
		return "", false
	}
	var reasons []string
	for i, x := range e.list {
		if x.Model == string(model) && e.matched[i] && !slices.Contains(reasons, x.Reason) {
			reasons = append(reasons, x.Reason)
		}
	}
	return strings.Join(reasons, "; "), true
}

// stale returns the exceptions that matched nothing, and those of which
// some record ids did not fail (with those ids only).
func (e *exceptions) stale() []Exception {
	out := []Exception{}
	for i, x := range e.list {
		switch {
		case !e.matched[i]:
			out = append(out, x)
		case len(e.staleIDs[i]) > 0:
			x.RecordIDs = e.staleIDs[i]
			out = append(out, x)
		}
	}
	return out
}
