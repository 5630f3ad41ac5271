package gitlabdata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
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
// A 404 means the API is not available on the server; the error's Hint
// says why it may not be.
//
// GitLab API docs: https://docs.gitlab.com/api/admin/data_management/#get-information-about-a-model
func (s *DataManagementService) List(ctx context.Context, model ModelName, opts *ListModelRecordsOptions) ([]*ModelRecord, *Response, error) {
	if err := opts.validate(); err != nil {
		return nil, nil, err
	}
	var (
		items []*ModelRecord
		resp  *Response
	)
	err := s.c.withModelName(model, func(name ModelName) (err error, retryable bool) {
		u, err := s.listURL(name, opts)
		items, resp, err = listPage[ModelRecord](ctx, s.c, u, err)
		return err, true
	})
	s.c.markUnavailable(err, true)
	if err != nil {
		return nil, resp, err
	}
	return items, resp, nil
}

// All returns an iterator over every record of model that matches opts,
// across all pages. opts may be nil.
//
// It asks for keyset pagination (pagination=keyset) unless opts.Pagination
// says otherwise, and follows whatever GitLab answers: X-NEXT-CURSOR or the
// Link rel="next" URL, else X-Next-Page (servers older than 18.8 ignore
// keyset and page by offset).
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
		o = *opts // copied now, so later changes to opts do not leak in
	}
	if o.Pagination == "" {
		o.Pagination = PaginationKeyset
	}
	return func(yield func(*ModelRecord, error) bool) {
		yielded := false
		err := s.c.withModelName(model, func(name ModelName) (err error, retryable bool) {
			u, err := s.listURL(name, &o)
			for rec, err := range all[ModelRecord](ctx, s.c, u, err) {
				if err != nil {
					return err, !yielded
				}
				yielded = true
				if !yield(rec, nil) {
					return nil, false
				}
			}
			return nil, false
		})
		if err != nil {
			s.c.markUnavailable(err, true)
			yield(nil, err)
		}
	}
}

// Get returns one record of model. A 404 naming the record means it does
// not exist; a bare 404 means the API is not available (see the Hint).
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
	var (
		rec  *ModelRecord
		resp *Response
	)
	err := s.c.withModelName(model, func(name ModelName) (err error, retryable bool) {
		u, err := s.modelURL(name, nil, append([]string{id.String()}, more...)...)
		rec, resp, err = callOne[ModelRecord](ctx, s.c, method, u, err, nil)
		return err, true
	})
	s.c.markUnavailable(err, false)
	if err != nil {
		return nil, resp, err
	}
	return rec, resp, nil
}

// RecalculateChecksumsRequest selects the records whose checksums
// [DataManagementService.RecalculateChecksums] recalculates. A request
// without ChecksumState or Identifiers selects every record of the model,
// and is refused unless AllowAllRecords says so.
type RecalculateChecksumsRequest struct {
	// ChecksumState keeps records in this state. GitLab refuses pending.
	ChecksumState ChecksumState `json:"checksum_state,omitempty"`
	// Identifiers keeps only these records. Integer and composite ids
	// cannot be mixed. GitLab recalculates every record of the model when
	// none of them exists, so the SDK first lists which exist and sends only
	// those (see SkipIdentifierCheck).
	Identifiers []RecordID `json:"identifiers,omitempty"`

	// AllowAllRecords is the caller's consent that every record of the
	// model is recalculated, which can be millions: because the request has
	// no filter, or because GitLab 18.3 to 18.7 ignore ChecksumState and
	// Identifiers. Without it such a request is refused with ErrUnsafe
	// before anything is sent. Not sent to GitLab.
	AllowAllRecords bool `json:"-"`
	// SkipIdentifierCheck sends Identifiers as given, without listing
	// which exist first: for callers that have just listed the records.
	// Not sent to GitLab.
	SkipIdentifierCheck bool `json:"-"`
}

// RecalculateChecksumsResult says what [DataManagementService.RecalculateChecksums]
// sent.
type RecalculateChecksumsResult struct {
	// Sent are the identifiers sent to GitLab: those of the request that
	// exist (all of them with SkipIdentifierCheck), nil for a request
	// without identifiers.
	Sent []RecordID
	// Missing are the identifiers that matched no record and were left out.
	Missing []RecordID
}

// bulkChecksumStates are the filters GitLab's bulk endpoint accepts.
var bulkChecksumStates = []ChecksumState{ChecksumStateStarted, ChecksumStateSucceeded, ChecksumStateFailed, ChecksumStateDisabled}

// bulkResult is the body of the bulk recalculation answer.
type bulkResult struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// RecalculateChecksums queues checksum recalculation for the records of
// model that req selects, and never for more than the caller consented to:
//
//   - a request without a filter (every record of the model) is refused
//     with [ErrUnsafe] unless req.AllowAllRecords;
//   - a filtered request to GitLab 18.3 to 18.7, which would ignore the
//     filters, is refused with [ErrUnsafe] unless req.AllowAllRecords (the
//     SDK asks GET /version once per Client to know);
//   - identifiers are first looked up (one listing per 100), only those that
//     exist are sent, and when none exists nothing is sent and the error
//     matches [ErrNotFound]: GitLab would otherwise recalculate every record.
//
// GitLab answers 200 even when it fails to queue the job; that answer comes
// back as an [*APIError] with GitLab's message.
//
// GitLab API docs: https://docs.gitlab.com/api/admin/data_management/#recalculate-the-checksum-of-selected-model-records
func (s *DataManagementService) RecalculateChecksums(ctx context.Context, model ModelName, req RecalculateChecksumsRequest) (*RecalculateChecksumsResult, *Response, error) {
	if err := checkContext(ctx); err != nil {
		return nil, nil, err
	}
	if err := model.validate(); err != nil {
		return nil, nil, err
	}
	if err := validateChecksumFilter(req.ChecksumState, bulkChecksumStates); err != nil {
		return nil, nil, err
	}
	if err := validateIdentifiers(req.Identifiers); err != nil {
		return nil, nil, err
	}
	switch {
	case req.ChecksumState != "" || len(req.Identifiers) > 0:
		if err := s.checkBulkFilters(ctx, model, req); err != nil {
			return nil, nil, err
		}
	case !req.AllowAllRecords:
		return nil, nil, fmt.Errorf("%w: a recalculation without ChecksumState or Identifiers recalculates every record of %s; "+
			"set AllowAllRecords to consent, or filter", ErrUnsafe, model)
	}
	result := &RecalculateChecksumsResult{}
	if len(req.Identifiers) > 0 {
		if req.SkipIdentifierCheck {
			result.Sent = slices.Clone(req.Identifiers)
		} else {
			var err error
			if result.Sent, result.Missing, err = s.existing(ctx, model, req.Identifiers); err != nil {
				return nil, nil, err
			}
			if len(result.Sent) == 0 {
				return result, nil, fmt.Errorf("%w: none of the %d identifiers is a record of %s, so nothing was sent: "+
					"GitLab would have recalculated every record of the model", ErrNotFound, len(req.Identifiers), model)
			}
		}
		req.Identifiers = result.Sent
	}
	var resp *Response
	err := s.c.withModelName(model, func(name ModelName) (err error, retryable bool) {
		u, err := s.modelURL(name, nil, "checksum")
		if err != nil {
			return err, false
		}
		var answer bulkResult
		resp, err = s.c.call(ctx, http.MethodPut, u, req, &answer)
		if err == nil && answer.Status == "error" {
			raw, _ := json.Marshal(answer)
			err = &APIError{
				StatusCode: resp.StatusCode,
				Method:     http.MethodPut,
				Path:       u.RequestURI(),
				Message:    answer.Message,
				RequestID:  resp.RequestID,
				Body:       raw,
			}
		}
		return err, true
	})
	s.c.markUnavailable(err, false)
	if err != nil {
		return nil, resp, err
	}
	return result, resp, nil
}

// ErrUnsafe matches a request the SDK refused to send because GitLab would
// do more than asked, such as recalculating every record of a model when the
// caller filtered. The error says how to send it anyway.
var ErrUnsafe = errors.New("gitlabdata: refused: GitLab would do more than asked")

// checkBulkFilters refuses a filtered bulk request to a server that ignores
// the filters.
func (s *DataManagementService) checkBulkFilters(ctx context.Context, model ModelName, req RecalculateChecksumsRequest) error {
	if req.AllowAllRecords {
		return nil
	}
	v, err := s.c.serverVersion(ctx)
	if err != nil {
		return fmt.Errorf("gitlabdata: cannot tell whether GitLab honours the filters of a bulk recalculation "+
			"(set AllowAllRecords to send it anyway): %w", err)
	}
	if !v.AtLeast(18, 8) {
		return fmt.Errorf("%w: GitLab %s ignores checksum_state and identifiers in a bulk recalculation and would recalculate "+
			"every record of %s; set AllowAllRecords to send it anyway, or recalculate records one by one with RecalculateChecksum",
			ErrUnsafe, v.Version, model)
	}
	return nil
}

// existingChunk is how many identifiers one lookup listing carries.
const existingChunk = 100

// existing splits ids into those that are records of model and those that
// are not, in the order given, without duplicates.
func (s *DataManagementService) existing(ctx context.Context, model ModelName, ids []RecordID) (found, missing []RecordID, err error) {
	seen := make(map[string]bool, len(ids))
	var unique []RecordID
	for _, id := range ids {
		if !seen[id.key()] {
			seen[id.key()] = true
			unique = append(unique, id)
		}
	}
	exists := make(map[string]bool, len(unique))
	for chunk := range slices.Chunk(unique, existingChunk) {
		opts := &ListModelRecordsOptions{Identifiers: chunk, PerPage: existingChunk, Pagination: PaginationOffset}
		for rec, err := range s.All(ctx, model, opts) {
			if err != nil {
				return nil, nil, fmt.Errorf("gitlabdata: looking up the identifiers before a bulk recalculation: %w", err)
			}
			exists[rec.RecordIdentifier.key()] = true
		}
	}
	for _, id := range unique {
		if exists[id.key()] {
			found = append(found, id)
		} else {
			missing = append(missing, id)
		}
	}
	return found, missing, nil
}

// CountOptions says what [DataManagementService.Count] counts and how
// exactly. The zero value counts every state with one request each.
type CountOptions struct {
	// States are the checksum states to count; nil counts all five.
	States []ChecksumState
	// Exact walks the records (keyset, 100 a page) of any count GitLab
	// gives no total for, instead of returning a lower bound. That costs a
	// request per 100 records.
	Exact bool
}

// Count is a number of records: exact, or a lower bound.
type Count struct {
	N int
	// AtLeast is true when N is a lower bound: GitLab leaves out totals
	// above 10,000 matching records, and GitLab 18.3 to 18.7 never send
	// them.
	AtLeast bool
}

// String is "42", or ">=10001" for a lower bound.
func (c Count) String() string {
	if c.AtLeast {
		return ">=" + strconv.Itoa(c.N)
	}
	return strconv.Itoa(c.N)
}

// RecordCounts is what [DataManagementService.Count] found.
type RecordCounts struct {
	// Total counts every record of the model.
	Total Count
	// ByState counts the records in each state asked for. It is nil when
	// GitLab refuses the checksum_state filter because Geo verification
	// is off for the model (the Hint of that error is in StatesError).
	ByState map[ChecksumState]Count
	// StatesError is why ByState is nil, if it is.
	StatesError error
	// Requests is how many listings the count took (on GitLab 18.3 to 18.7
	// the Client's first call also retries once in singular form).
	Requests int
}

// maxCounted is the most records GitLab counts for X-Total.
const maxCounted = 10_000

// Count counts the records of model, in all and by checksum state, with the
// fewest requests GitLab allows: one offset listing with per_page=1 per
// count, whose X-Total is the number, up to 10,000 matching records. Above
// that GitLab omits the total, and the count is the lower bound 10,001
// (AtLeast) unless opts.Exact asks for a walk through the records. GitLab
// 18.3 to 18.7 never send totals: there each count lists one page of 100,
// exact below 101 records and a lower bound of 101 above, or a walk with
// opts.Exact. The Client asks GET /version once to know the era. opts may be
// nil.
//
// GitLab API docs: https://docs.gitlab.com/api/rest/#pagination-response-headers
func (s *DataManagementService) Count(ctx context.Context, model ModelName, opts *CountOptions) (*RecordCounts, error) {
	var o CountOptions
	if opts != nil {
		o = *opts
	}
	states := o.States
	if states == nil {
		states = ChecksumStates()
	}
	for _, st := range states {
		if err := validateChecksumFilter(st, ChecksumStates()); err != nil {
			return nil, err
		}
		if st == "" {
			return nil, fmt.Errorf("%w: an empty checksum state in CountOptions.States", ErrInvalidArgument)
		}
	}
	out := &RecordCounts{}
	if s.c.facts.knownVersion() == nil {
		// The era decides how to count; an unknown version counts as new.
		if _, err := s.c.serverVersion(ctx); err == nil {
			out.Requests++
		}
	}
	var err error
	if out.Total, err = s.count(ctx, model, "", o.Exact, &out.Requests); err != nil {
		return nil, err
	}
	byState := make(map[ChecksumState]Count, len(states))
	for _, st := range states {
		c, err := s.count(ctx, model, st, o.Exact, &out.Requests)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest && strings.Contains(apiErr.Message, "not a verifiable model") {
			out.StatesError = err
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		byState[st] = c
	}
	out.ByState = byState
	return out, nil
}

// count counts the records of model in state ("" for all).
func (s *DataManagementService) count(ctx context.Context, model ModelName, state ChecksumState, exact bool, requests *int) (Count, error) {
	perPage := 1
	if s.c.facts.wantsSingular() {
		perPage = 100 // 18.3 to 18.7 send no totals: a full page counts up to 100 exactly
	}
	opts := &ListModelRecordsOptions{ChecksumState: state, PerPage: perPage, Pagination: PaginationOffset}
	items, resp, err := s.List(ctx, model, opts)
	*requests++
	if err != nil {
		return Count{}, err
	}
	if resp.Header.Get("X-Total") != "" {
		return Count{N: resp.Total}, nil
	}
	if len(items) == 0 || resp.NextPage == 0 {
		return Count{N: len(items)}, nil
	}
	if !exact {
		if s.c.facts.wantsSingular() { // 18.3 to 18.7: never a total
			return Count{N: len(items) + 1, AtLeast: true}, nil // a full page and a next one
		}
		return Count{N: maxCounted + 1, AtLeast: true}, nil
	}
	walk := ListModelRecordsOptions{ChecksumState: state, PerPage: 100, Pagination: PaginationKeyset}
	n := 0
	if perPage == walk.PerPage { // go on from the page just read
		walk.Pagination, walk.Page, n = PaginationOffset, resp.NextPage, len(items)
	}
	return s.walkCount(ctx, model, walk, n, requests)
}

// walkCount counts the records from walk on, n already counted, by listing
// them 100 a page: keyset where the server pages so, by offset on servers
// that ignore keyset or where walk asks for it.
func (s *DataManagementService) walkCount(ctx context.Context, model ModelName, walk ListModelRecordsOptions, n int, requests *int) (Count, error) {
	for {
		items, resp, err := s.List(ctx, model, &walk)
		*requests++
		if err != nil {
			return Count{}, err
		}
		n += len(items)
		switch {
		case resp.NextCursor != "" && resp.NextCursor != walk.Cursor:
			walk.Cursor = resp.NextCursor
		case resp.NextCursor == "" && resp.NextPage > max(walk.Page, 1):
			walk.Page = resp.NextPage
		case resp.NextCursor == "" && resp.NextPage == 0:
			return Count{N: n}, nil
		default:
			return Count{}, fmt.Errorf("gitlabdata: counting %s: pagination stalled", model)
		}
	}
}
