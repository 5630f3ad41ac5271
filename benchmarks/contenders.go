package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gitlabdata/gitlabdata"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// consumer is the loop body every contender feeds: it keeps nothing but a
// count and a sum. It can pause after each page of items, to stand for
// work done on them, and call probe in the middle of each page. A warm-up
// consumer calls stop once it has limit items, to cut the listing short.
type consumer struct {
	n     int
	sum   int64
	pause time.Duration
	probe func()
	limit int
	stop  func()
}

func (c *consumer) take(id int64) {
	c.n++
	c.sum += id
	if c.n == c.limit {
		c.stop()
	}
	if c.probe != nil && c.n%perPage == perPage/2 {
		c.probe()
	}
	if c.pause > 0 && c.n%perPage == 0 {
		time.Sleep(c.pause)
	}
}

// listing walks one whole listing on the server at base and hands every
// item to c. Each call builds its own client, so that connections are
// counted per run.
type listing func(ctx context.Context, base string, c *consumer) error

type contender struct {
	name string
	// lists holds the contender's listing function for each kind.
	lists map[string]listing
	// decodes is false for the floor, which only counts the items of
	// each body and so hands the consumer no ids.
	decodes bool
	// info marks a reference point outside the comparison; it
	// is left out of the latency scenario.
	info bool
}

const (
	nameSDK      = "gitlabdata"
	nameSDKAhead = "gitlabdata+prefetch"
	nameClientGo = "client-go"
	nameBaseline = "baseline"
	namePlain    = "baseline-plain"
	nameFloor    = "floor"
)

func contenders() []contender {
	return []contender{
		{name: nameSDK, lists: sdkLists(false), decodes: true},
		{name: nameSDKAhead, lists: sdkLists(true), decodes: true},
		{name: nameClientGo, lists: map[string]listing{
			kindRecords: clientGoRecords, kindMoves: clientGoMoves,
			kindGroupMoves: clientGoGroupMoves, kindSnippetMoves: clientGoSnippetMoves,
		}, decodes: true},
		{name: nameBaseline, lists: map[string]listing{
			kindRecords:      plainKeyset(func(r *gitlabdata.ModelRecord) int64 { id, _ := r.RecordIdentifier.Int(); return id }),
			kindMoves:        plainOffset(movesPath, func(m *gitlabdata.ProjectRepositoryStorageMove) int64 { return m.ID }),
			kindGroupMoves:   plainOffset(groupMovesPath, func(m *gitlabdata.GroupRepositoryStorageMove) int64 { return m.ID }),
			kindSnippetMoves: plainOffset(snippetMovesPath, func(m *gitlabdata.SnippetRepositoryStorageMove) int64 { return m.ID }),
		}, decodes: true},
		{name: namePlain, lists: map[string]listing{
			kindRecords:      plainKeyset(func(r *plainRecord) int64 { return r.RecordIdentifier }),
			kindMoves:        plainOffset(movesPath, func(m *plainMove) int64 { return m.ID }),
			kindGroupMoves:   plainOffset(groupMovesPath, func(m *plainGroupMove) int64 { return m.ID }),
			kindSnippetMoves: plainOffset(snippetMovesPath, func(m *plainSnippetMove) int64 { return m.ID }),
		}, decodes: true, info: true},
		{name: nameFloor, lists: map[string]listing{
			kindRecords:      plainKeyset[struct{}](nil),
			kindMoves:        plainOffset[struct{}](movesPath, nil),
			kindGroupMoves:   plainOffset[struct{}](groupMovesPath, nil),
			kindSnippetMoves: plainOffset[struct{}](snippetMovesPath, nil),
		}},
	}
}

// gitlabdata, through its public API only.

func sdkLists(prefetch bool) map[string]listing {
	newClient := func(base string) (*gitlabdata.Client, error) {
		return gitlabdata.NewClient(base, token, gitlabdata.WithPrefetch(prefetch))
	}
	opts := &gitlabdata.ListStorageMovesOptions{PerPage: perPage}
	return map[string]listing{
		kindRecords: func(ctx context.Context, base string, c *consumer) error {
			client, err := newClient(base)
			if err != nil {
				return err
			}
			opts := &gitlabdata.ListModelRecordsOptions{PerPage: perPage}
			for rec, err := range client.DataManagement.All(ctx, gitlabdata.ModelLFSObjects, opts) {
				if err != nil {
					return err
				}
				id, _ := rec.RecordIdentifier.Int()
				c.take(id)
			}
			return nil
		},
		kindMoves: func(ctx context.Context, base string, c *consumer) error {
			client, err := newClient(base)
			if err != nil {
				return err
			}
			for m, err := range client.ProjectRepositoryStorageMoves.All(ctx, opts) {
				if err != nil {
					return err
				}
				c.take(m.ID)
			}
			return nil
		},
		kindGroupMoves: func(ctx context.Context, base string, c *consumer) error {
			client, err := newClient(base)
			if err != nil {
				return err
			}
			for m, err := range client.GroupRepositoryStorageMoves.All(ctx, opts) {
				if err != nil {
					return err
				}
				c.take(m.ID)
			}
			return nil
		},
		kindSnippetMoves: func(ctx context.Context, base string, c *consumer) error {
			client, err := newClient(base)
			if err != nil {
				return err
			}
			for m, err := range client.SnippetRepositoryStorageMoves.All(ctx, opts) {
				if err != nil {
					return err
				}
				c.take(m.ID)
			}
			return nil
		},
	}
}

// GitLab's official client, with its defaults. Its rate limiter stays
// unlimited because the server sends no RateLimit-Limit header, and its
// retries only act on failed requests, of which there are none.

func newClientGo(base string) (*gitlab.Client, error) {
	return gitlab.NewClient(token, gitlab.WithBaseURL(base+"/api/v4"))
}

// clientGoRecords uses client-go's generic NewRequest and Do, since it has
// no data management service, and follows keyset pages with
// WithKeysetPaginationParameters(resp.NextLink). It decodes into
// gitlabdata's ModelRecord, as client-go has no type for it.
func clientGoRecords(ctx context.Context, base string, c *consumer) error {
	client, err := newClientGo(base)
	if err != nil {
		return err
	}
	opts := &gitlab.ListOptions{Pagination: "keyset", PerPage: perPage}
	reqOpts := []gitlab.RequestOptionFunc{gitlab.WithContext(ctx)}
	for {
		req, err := client.NewRequest(http.MethodGet, "admin/data_management/"+model, opts, reqOpts)
		if err != nil {
			return err
		}
		var recs []*gitlabdata.ModelRecord
		resp, err := client.Do(req, &recs)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			id, _ := rec.RecordIdentifier.Int()
			c.take(id)
		}
		if resp.NextLink == "" {
			return nil
		}
		reqOpts = []gitlab.RequestOptionFunc{gitlab.WithContext(ctx), gitlab.WithKeysetPaginationParameters(resp.NextLink)}
	}
}

// clientGoMoves uses client-go's Scan2 over RetrieveAllStorageMoves, as its
// documentation shows, with its own ProjectRepositoryStorageMove type.
func clientGoMoves(ctx context.Context, base string, c *consumer) error {
	client, err := newClientGo(base)
	if err != nil {
		return err
	}
	opts := gitlab.RetrieveAllProjectStorageMovesOptions{ListOptions: gitlab.ListOptions{PerPage: perPage}}
	return scanMoves(c, func(p gitlab.PaginationOptionFunc) ([]*gitlab.ProjectRepositoryStorageMove, *gitlab.Response, error) {
		return client.ProjectRepositoryStorageMove.RetrieveAllStorageMoves(opts, p, gitlab.WithContext(ctx))
	}, func(m *gitlab.ProjectRepositoryStorageMove) int64 { return m.ID })
}

func clientGoGroupMoves(ctx context.Context, base string, c *consumer) error {
	client, err := newClientGo(base)
	if err != nil {
		return err
	}
	opts := gitlab.RetrieveAllGroupStorageMovesOptions{ListOptions: gitlab.ListOptions{PerPage: perPage}}
	return scanMoves(c, func(p gitlab.PaginationOptionFunc) ([]*gitlab.GroupRepositoryStorageMove, *gitlab.Response, error) {
		return client.GroupRepositoryStorageMove.RetrieveAllStorageMoves(opts, p, gitlab.WithContext(ctx))
	}, func(m *gitlab.GroupRepositoryStorageMove) int64 { return m.ID })
}

func clientGoSnippetMoves(ctx context.Context, base string, c *consumer) error {
	client, err := newClientGo(base)
	if err != nil {
		return err
	}
	opts := gitlab.RetrieveAllSnippetStorageMovesOptions{ListOptions: gitlab.ListOptions{PerPage: perPage}}
	return scanMoves(c, func(p gitlab.PaginationOptionFunc) ([]*gitlab.SnippetRepositoryStorageMove, *gitlab.Response, error) {
		return client.SnippetRepositoryStorageMove.RetrieveAllStorageMoves(opts, p, gitlab.WithContext(ctx))
	}, func(m *gitlab.SnippetRepositoryStorageMove) int64 { return m.ID })
}

// scanMoves walks a client-go listing with its Scan2 and takes each id.
func scanMoves[T any](c *consumer, pages func(gitlab.PaginationOptionFunc) ([]*T, *gitlab.Response, error), id func(*T) int64) error {
	for m, err := range gitlab.Scan2(pages) {
		if err != nil {
			return err
		}
		c.take(id(m))
	}
	return nil
}

// The baseline: net/http and encoding/json, no SDK, the same structs as
// gitlabdata, pagination headers followed by hand.

func newPlainClient() *http.Client {
	return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: time.Minute}
}

// The plain baseline: as the baseline, but decoding into structs a caller
// might write for this one job, with plain fields and no UnmarshalJSON
// methods (gitlabdata's RecordID and ChecksumState have them, to accept
// both wire forms). It shows what those methods cost encoding/json.

type plainRecord struct {
	RecordIdentifier    int64      `json:"record_identifier"`
	ModelClass          string     `json:"model_class"`
	CreatedAt           *time.Time `json:"created_at"`
	FileSize            *int64     `json:"file_size"`
	ChecksumInformation *struct {
		Checksum           *string    `json:"checksum"`
		LastChecksum       *time.Time `json:"last_checksum"`
		ChecksumState      string     `json:"checksum_state"`
		ChecksumRetryCount *int64     `json:"checksum_retry_count"`
		ChecksumRetryAt    *time.Time `json:"checksum_retry_at"`
		ChecksumFailure    *string    `json:"checksum_failure"`
	} `json:"checksum_information"`
}

type plainMove struct {
	ID                     int64     `json:"id"`
	CreatedAt              time.Time `json:"created_at"`
	State                  string    `json:"state"`
	SourceStorageName      string    `json:"source_storage_name"`
	DestinationStorageName string    `json:"destination_storage_name"`
	ErrorMessage           *string   `json:"error_message"`
	Project                *struct {
		ID                int64      `json:"id"`
		Description       *string    `json:"description"`
		Name              string     `json:"name"`
		NameWithNamespace string     `json:"name_with_namespace"`
		Path              string     `json:"path"`
		PathWithNamespace string     `json:"path_with_namespace"`
		CreatedAt         *time.Time `json:"created_at"`
	} `json:"project"`
}

type plainMoveBase struct {
	ID                     int64     `json:"id"`
	CreatedAt              time.Time `json:"created_at"`
	State                  string    `json:"state"`
	SourceStorageName      string    `json:"source_storage_name"`
	DestinationStorageName string    `json:"destination_storage_name"`
	ErrorMessage           *string   `json:"error_message"`
}

type plainGroupMove struct {
	plainMoveBase
	Group *struct {
		ID     int64  `json:"id"`
		WebURL string `json:"web_url"`
		Name   string `json:"name"`
	} `json:"group"`
}

type plainSnippetMove struct {
	plainMoveBase
	Snippet *struct {
		ID          int64   `json:"id"`
		Title       string  `json:"title"`
		Description *string `json:"description"`
		Visibility  string  `json:"visibility"`
		Author      *struct {
			ID          int64   `json:"id"`
			Username    string  `json:"username"`
			PublicEmail string  `json:"public_email"`
			Name        string  `json:"name"`
			State       string  `json:"state"`
			Locked      bool    `json:"locked"`
			AvatarURL   *string `json:"avatar_url"`
			WebURL      string  `json:"web_url"`
		} `json:"author"`
		CreatedAt     *time.Time `json:"created_at"`
		UpdatedAt     *time.Time `json:"updated_at"`
		ProjectID     *int64     `json:"project_id"`
		WebURL        string     `json:"web_url"`
		RawURL        string     `json:"raw_url"`
		SSHURLToRepo  string     `json:"ssh_url_to_repo"`
		HTTPURLToRepo string     `json:"http_url_to_repo"`
	} `json:"snippet"`
}

// The three contenders without an SDK share two loops, one for the keyset
// listing and one for the offset ones: the baseline decodes into
// gitlabdata's structs, the plain baseline into the plain ones above, and
// the floor sends the same requests but only reads each body into a reused
// buffer and counts its items (what that costs, no client can save).

// plainKeyset walks the records listing with a bare http.Client, following
// Link rel="next" by hand. Each page is decoded into []*T and every item's id
// goes to the consumer; a nil id makes it the floor.
func plainKeyset[T any](id func(*T) int64) listing {
	return func(ctx context.Context, base string, c *consumer) error {
		hc := newPlainClient()
		var buf bytes.Buffer
		next := base + recordsPath + "?pagination=keyset&per_page=" + strconv.Itoa(perPage)
		for next != "" {
			h, err := plainPage(ctx, hc, next, c, id, &buf)
			if err != nil {
				return err
			}
			next = nextLink(h.Get("Link"))
		}
		return nil
	}
}

// plainOffset walks the offset listing at path the same way, following
// X-Next-Page.
func plainOffset[T any](path string, id func(*T) int64) listing {
	return func(ctx context.Context, base string, c *consumer) error {
		hc := newPlainClient()
		var buf bytes.Buffer
		next := offsetPage(base, path, "1")
		for next != "" {
			h, err := plainPage(ctx, hc, next, c, id, &buf)
			if err != nil {
				return err
			}
			next = ""
			if p := h.Get("X-Next-Page"); p != "" {
				next = offsetPage(base, path, p)
			}
		}
		return nil
	}
}

// plainPage gets one page and hands each item's id to c. With a nil id it
// is the floor: the body is read into buf, reused from page to page, and
// its items are counted; the consumer gets id 0 for each.
func plainPage[T any](ctx context.Context, hc *http.Client, u string, c *consumer, id func(*T) int64, buf *bytes.Buffer) (http.Header, error) {
	if id == nil {
		buf.Reset()
		h, err := plainGet(ctx, hc, u, buf)
		if err != nil {
			return nil, err
		}
		for range countItems(buf.Bytes()) {
			c.take(0)
		}
		return h, nil
	}
	var items []*T
	h, err := plainGet(ctx, hc, u, &items)
	if err != nil {
		return nil, err
	}
	for _, item := range items {
		c.take(id(item))
	}
	return h, nil
}

// countItems counts the elements of a JSON array of objects, skipping
// strings so that braces inside them do not count. It trusts the input.
func countItems(body []byte) int {
	n, depth := 0, 0
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '"':
			for i++; i < len(body) && body[i] != '"'; i++ {
				if body[i] == '\\' {
					i++
				}
			}
		case '{':
			if depth == 1 {
				n++
			}
			depth++
		case '[':
			depth++
		case '}', ']':
			depth--
		}
	}
	return n
}

func offsetPage(base, path, page string) string {
	return base + path + "?page=" + page + "&per_page=" + strconv.Itoa(perPage)
}

// plainGet sends one GET and decodes the body into out, or reads it into
// out when out is a *bytes.Buffer, then drains the body so the connection is
// reused. A nil out discards the body.
func plainGet(ctx context.Context, hc *http.Client, u string, out any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, msg)
	}
	if buf, ok := out.(*bytes.Buffer); ok {
		if _, err := buf.ReadFrom(resp.Body); err != nil {
			return nil, err
		}
	} else if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return nil, fmt.Errorf("GET %s: decoding: %w", u, err)
		}
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return nil, err
	}
	return resp.Header, nil
}

// nextLink returns the rel="next" target of a Link header, or "".
func nextLink(header string) string {
	for part := range strings.SplitSeq(header, ",") {
		target, params, ok := strings.Cut(part, ";")
		if ok && strings.Contains(params, `rel="next"`) {
			return strings.Trim(strings.TrimSpace(target), "<>")
		}
	}
	return ""
}
