package gitlabdata

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinel errors. Match them with [errors.Is]; an [*APIError] matches the
// sentinel of its status code.
var (
	// ErrInvalidArgument marks bad input refused before any request.
	ErrInvalidArgument = errors.New("gitlabdata: invalid argument")
	// ErrNotFound matches 404 answers.
	ErrNotFound = errors.New("gitlabdata: not found")
	// ErrUnauthorized matches 401 answers: no token, or an unknown,
	// expired or revoked one.
	ErrUnauthorized = errors.New("gitlabdata: unauthorized")
	// ErrForbidden matches 403 answers, such as a token whose user is not
	// an administrator or lacks admin mode.
	ErrForbidden = errors.New("gitlabdata: forbidden")
	// ErrRateLimited matches 429 answers that were still limited after the
	// retry policy gave up (or whose wait exceeded its MaxDelay).
	ErrRateLimited = errors.New("gitlabdata: rate limited")
)

// maxErrorBody caps how much of an error body is read and kept.
const maxErrorBody = 64 << 10

// APIError is returned for every answer GitLab sends with a status other than
// 2xx, and for a 2xx answer whose body reports a failure (bulk checksum
// recalculation answers 200 with {"status":"error"}).
//
// GitLab API docs: https://docs.gitlab.com/api/rest/troubleshooting/
type APIError struct {
	StatusCode int
	Method     string
	// Path is the request path and query, without scheme or host.
	Path string
	// Message is GitLab's "message" or "error" (with "error_description")
	// flattened to one line. For field errors it reads
	// "project is read-only"; the fields are also in Fields.
	Message string
	// Fields holds field errors when GitLab sends "message" as an object,
	// such as {"destination_storage_name":["is not included in the list"]}.
	Fields map[string][]string
	// RequestID is GitLab's X-Request-Id, to quote in a support ticket.
	RequestID string
	// RetryAfter is how long GitLab asked the client to wait (Retry-After or
	// RateLimit-Reset), or 0.
	RetryAfter time.Duration
	// Body is the raw body, at most 64 KiB.
	Body []byte
	// Hint says what to do about the error when the SDK can tell: what
	// token GitLab wants for a 401 or 403, why a data-management listing is
	// not there (404), which model names are near an unknown one (400).
	// Error includes it.
	Hint string
}

// Error returns "gitlabdata: METHOD path: status: message (hint) (request
// id ...)". GitLab's messages often start with the status ("404 Project Not
// Found"); then the status is not repeated.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gitlabdata: %s %s: ", e.Method, e.Path)
	status := fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	switch {
	case e.StatusCode >= 200 && e.StatusCode < 300:
		b.WriteString("GitLab reported a failure")
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	case e.Message != "" && strings.HasPrefix(e.Message, strconv.Itoa(e.StatusCode)+" "):
		b.WriteString(e.Message)
	case e.Message != "":
		b.WriteString(status + ": " + e.Message)
	case len(e.Body) > 0:
		b.WriteString(status + ": response body is not GitLab's JSON error format")
	default:
		b.WriteString(status)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, " (%s)", e.Hint)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) and the other status sentinels work.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// newAPIError reads at most maxErrorBody bytes of resp's body and builds the
// error. The caller closes the body.
func newAPIError(resp *http.Response, method, path string) *APIError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{
		StatusCode: resp.StatusCode,
		Method:     method,
		Path:       path,
		RequestID:  resp.Header.Get("X-Request-Id"),
		Body:       body,
	}
	e.Message, e.Fields = parseErrorBody(resp.Header.Get("Content-Type"), body)
	e.Hint = statusHint(e.StatusCode, e.Message)
	if e.Hint == "" && e.Message == "" && len(body) > 0 && resp.StatusCode == http.StatusNotFound {
		e.Hint = "the answer is not GitLab's API: check that the base URL is your GitLab's URL"
	}
	return e
}

// statusHint is the Hint a status alone tells: what token GitLab wants.
func statusHint(status int, message string) string {
	switch status {
	case http.StatusUnauthorized:
		return "GitLab refused the token as missing, wrong, expired or revoked: use an administrator's access token; " +
			"an OAuth token needs WithOAuthToken"
	case http.StatusForbidden:
		switch {
		case strings.Contains(message, "insufficient_granular_scope"):
			return "the token lacks GitLab's granular permissions for this API " +
				"(read_admin_data_management to read, update_admin_data_management to recalculate)"
		case strings.Contains(message, "insufficient_scope"):
			return "the token lacks a scope: reads need read_api or api, changes need api"
		}
		return "this API needs an administrator's token, and admin mode where the instance enables it"
	}
	return ""
}

// errorBody covers GitLab's error shapes: "message" as a string, an array or
// an object of field errors, and "error" with an optional
// "error_description" (Grape validation and OAuth errors).
type errorBody struct {
	Message          json.RawMessage `json:"message"`
	Error            string          `json:"error"`
	ErrorDescription string          `json:"error_description"`
}

// parseErrorBody flattens an error body into one line plus field errors. A
// short plain-text body (Rack::Attack's "Retry later") becomes the message;
// anything else that is not JSON (an HTML 502 page) gives an empty message.
func parseErrorBody(contentType string, body []byte) (string, map[string][]string) {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		mediaType, _, _ := mime.ParseMediaType(contentType)
		text := strings.TrimSpace(string(body))
		if mediaType == "text/plain" && text != "" && len(text) <= 200 && !strings.ContainsRune(text, '\n') && utf8.ValidString(text) {
			return text, nil
		}
		return "", nil
	}
	var parts []string
	var fields map[string][]string
	if len(eb.Message) > 0 {
		var msg string
		var list []string
		var obj map[string]json.RawMessage
		switch {
		case json.Unmarshal(eb.Message, &msg) == nil:
			parts = append(parts, msg)
		case json.Unmarshal(eb.Message, &list) == nil:
			parts = append(parts, strings.Join(list, "; "))
		case json.Unmarshal(eb.Message, &obj) == nil:
			fields = fieldErrors(obj)
			parts = append(parts, flattenFields(fields))
		}
	}
	if eb.Error != "" {
		if eb.ErrorDescription != "" {
			parts = append(parts, eb.Error+": "+eb.ErrorDescription)
		} else {
			parts = append(parts, eb.Error)
		}
	}
	return strings.Join(parts, "; "), fields
}

// fieldErrors reads {"field": ["msg", ...]} or {"field": "msg"}.
func fieldErrors(obj map[string]json.RawMessage) map[string][]string {
	fields := make(map[string][]string, len(obj))
	for k, raw := range obj {
		var list []string
		if json.Unmarshal(raw, &list) == nil {
			fields[k] = list
			continue
		}
		var one string
		if json.Unmarshal(raw, &one) == nil {
			fields[k] = []string{one}
			continue
		}
		fields[k] = []string{string(raw)}
	}
	return fields
}

// flattenFields renders field errors sorted by field, as
// "field msg1, msg2; other msg". The keys "error" and "base" carry whole
// sentences and are rendered without their key.
func flattenFields(fields map[string][]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		msgs := strings.Join(fields[k], ", ")
		if k == "error" || k == "base" {
			out = append(out, msgs)
		} else {
			out = append(out, k+" "+msgs)
		}
	}
	return strings.Join(out, "; ")
}
