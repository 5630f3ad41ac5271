package gitlabdata

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
)

// DataManagementService reads Geo data records and their checksums, and
// triggers checksum recalculation. Every call needs an administrator's token.
//
// GitLab API docs: https://docs.gitlab.com/api/admin/data_management/
type DataManagementService struct{ c *Client }

// Pagination modes for [ListModelRecordsOptions.Pagination].
const (
	PaginationKeyset = "keyset"
	PaginationOffset = "offset"
)

// Sort orders for keyset listings.
const (
	SortAsc  = "asc"
	SortDesc = "desc"
)

// ListModelRecordsOptions filters and pages a listing of model records.
// The zero value lists everything with GitLab's defaults.
//
// GitLab API docs: https://docs.gitlab.com/api/admin/data_management/#get-information-about-a-model
type ListModelRecordsOptions struct {
	// ChecksumState keeps records in this verification state. GitLab
	// answers 400 when Geo verification is off for the model.
	ChecksumState ChecksumState `url:"checksum_state,omitempty"`
	// Identifiers keeps only these records, sent as identifiers[]=….
	// Integer and composite ids cannot be mixed in one request.
	Identifiers []RecordID `url:"identifiers,brackets,omitempty"`
	// Pagination is PaginationKeyset or PaginationOffset. List sends it as
	// given (GitLab's default is offset); All uses keyset when it is empty.
	Pagination string `url:"pagination,omitempty"`
	// Sort is SortAsc (GitLab's default) or SortDesc. GitLab applies it in
	// keyset mode only; offset listings are always ascending.
	Sort string `url:"sort,omitempty"`
	// PerPage is the page size (GitLab's default 20; offset pages hold at
	// most 100).
	PerPage int `url:"per_page,omitempty"`
	// Page is the offset page to fetch, from 1.
	Page int `url:"page,omitempty"`
	// Cursor resumes a keyset listing: use Response.NextCursor.
	Cursor string `url:"cursor,omitempty"`
}

func (o *ListModelRecordsOptions) validate() error {
	if o == nil {
		return nil
	}
	if err := validateChecksumFilter(o.ChecksumState, ChecksumStates()); err != nil {
		return err
	}
	if err := validateIdentifiers(o.Identifiers); err != nil {
		return err
	}
	switch o.Pagination {
	case "", PaginationKeyset, PaginationOffset:
	default:
		return fmt.Errorf("%w: pagination %q: want %q or %q", ErrInvalidArgument, o.Pagination, PaginationKeyset, PaginationOffset)
	}
	switch o.Sort {
	case "", SortAsc, SortDesc:
	default:
		return fmt.Errorf("%w: sort %q: want %q or %q", ErrInvalidArgument, o.Sort, SortAsc, SortDesc)
	}
	return validatePaging(o.Page, o.PerPage)
}

// modelURL validates model and opts and resolves
// /admin/data_management/:model_name[/more...].
func (s *DataManagementService) modelURL(model ModelName, opts any, more ...string) (*url.URL, error) {
	if err := model.validate(); err != nil {
		return nil, err
	}
	return s.c.endpoint(append([]string{"admin", "data_management", string(model)}, more...), opts)
}

func (s *DataManagementService) listURL(model ModelName, opts *ListModelRecordsOptions) (*url.URL, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return s.modelURL(model, opts)
}

// List returns one page of model's records. opts may be nil.
//
// For keyset paging set opts.Pagination to PaginationKeyset and pass
// Response.NextCursor as opts.Cursor for the next page; for offset paging
// use Response.NextPage. To walk every page use [DataManagementService.All].
//
// GitLab API docs: https://docs.gitlab.com/api/admin/data_management/#get-information-about-a-model
func (s *DataManagementService) List(ctx context.Context, model ModelName, opts *ListModelRecordsOptions) ([]*ModelRecord, *Response, error) {
	u, err := s.listURL(model, opts)
	return listPage[ModelRecord](ctx, s.c, u, err)
}

// All returns an iterator over every record of model that matches opts,
// across all pages. opts may be nil.
//
// It asks for keyset pagination (pagination=keyset) unless opts.Pagination
// says otherwise, and follows whatever GitLab answers: the Link rel="next"
// URL, else X-Next-Page (servers older than 18.8 ignore keyset and page by
// offset).
//
// The iterator is lazy (no request before the first step), can be ranged
// again (each range starts from opts), and stops after the first error,
// which it yields with a nil record. Breaking out of the loop sends no
// further request.
//
// GitLab API docs: https://docs.gitlab.com/api/admin/data_management/#get-information-about-a-model
func (s *DataManagementService) All(ctx context.Context, model ModelName, opts *ListModelRecordsOptions) iter.Seq2[*ModelRecord, error] {
	var o ListModelRecordsOptions
	if opts != nil {
		o = *opts // the query is encoded now, so later changes to opts do not leak in
	}
	if o.Pagination == "" {
		o.Pagination = PaginationKeyset
	}
	u, err := s.listURL(model, &o)
	return all[ModelRecord](ctx, s.c, u, err)
}

// Get returns one record of model.
//
// GitLab API docs: https://docs.gitlab.com/api/admin/data_management/#get-information-about-a-specific-model-record
func (s *DataManagementService) Get(ctx context.Context, model ModelName, id RecordID) (*ModelRecord, *Response, error) {
	return s.record(ctx, http.MethodGet, model, id)
}

// RecalculateChecksum recalculates the checksum of one record now and
// returns the record with its new checksum information. GitLab answers 400
// on a Geo secondary site and when the verification fails. id must be an
// integer: GitLab's route refuses composite keys, so for those use
// RecalculateChecksums with Identifiers.
//
// GitLab API docs: https://docs.gitlab.com/api/admin/data_management/#recalculate-the-checksum-of-a-specific-model-record
func (s *DataManagementService) RecalculateChecksum(ctx context.Context, model ModelName, id RecordID) (*ModelRecord, *Response, error) {
	if id.IsComposite() {
		return nil, nil, fmt.Errorf("%w: record id %s is a composite key, and GitLab's single-record checksum route takes an integer only; "+
			"use RecalculateChecksums with Identifiers: []RecordID{id}", ErrInvalidArgument, id)
	}
	return s.record(ctx, http.MethodPut, model, id, "checksum")
}

func (s *DataManagementService) record(ctx context.Context, method string, model ModelName, id RecordID, more ...string) (*ModelRecord, *Response, error) {
	if err := id.validate(); err != nil {
		return nil, nil, err
	}
	u, err := s.modelURL(model, nil, append([]string{id.String()}, more...)...)
	return callOne[ModelRecord](ctx, s.c, method, u, err, nil)
}

// RecalculateChecksumsRequest selects the records whose checksums
// [DataManagementService.RecalculateChecksums] recalculates. The zero value
// selects every record of the model.
type RecalculateChecksumsRequest struct {
	// ChecksumState keeps records in this state. GitLab refuses pending.
	ChecksumState ChecksumState `json:"checksum_state,omitempty"`
	// Identifiers keeps only these records. Integer and composite ids
	// cannot be mixed. Beware: when none of them exists, GitLab
	// recalculates every record of the model.
	Identifiers []RecordID `json:"identifiers,omitempty"`
}

// bulkChecksumStates are the filters GitLab's bulk endpoint accepts.
var bulkChecksumStates = []ChecksumState{ChecksumStateStarted, ChecksumStateSucceeded, ChecksumStateFailed, ChecksumStateDisabled}

// bulkResult is the body of the bulk recalculation answer.
type bulkResult struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// RecalculateChecksums queues checksum recalculation for the records of
// model that req selects (the zero req: every record). GitLab answers 200
// even when it fails to queue the job; that answer comes back as an
// [*APIError] with GitLab's message.
//
// GitLab API docs: https://docs.gitlab.com/api/admin/data_management/#recalculate-the-checksum-of-selected-model-records
func (s *DataManagementService) RecalculateChecksums(ctx context.Context, model ModelName, req RecalculateChecksumsRequest) (*Response, error) {
	if err := validateChecksumFilter(req.ChecksumState, bulkChecksumStates); err != nil {
		return nil, err
	}
	if err := validateIdentifiers(req.Identifiers); err != nil {
		return nil, err
	}
	u, err := s.modelURL(model, nil, "checksum")
	if err != nil {
		return nil, err
	}
	var result bulkResult
	resp, err := s.c.call(ctx, http.MethodPut, u, req, &result)
	if err != nil {
		return resp, err
	}
	if result.Status == "error" {
		raw, _ := json.Marshal(result)
		return resp, &APIError{
			StatusCode: resp.StatusCode,
			Method:     http.MethodPut,
			Path:       u.RequestURI(),
			Message:    result.Message,
			RequestID:  resp.RequestID,
			Body:       raw,
		}
	}
	return resp, nil
}
