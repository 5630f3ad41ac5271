package gitlabdata

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/gitlabdata/gitlabdata/internal/jsonscan"
)

// bufPool recycles the buffers that hold response bodies while they are
// decoded. Decoded values never point into a buffer.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuf keeps one huge body from pinning memory in the pool.
const maxPooledBuf = 4 << 20

// readAndDecode reads a 2xx body whole and decodes it into out (nil out:
// the body is ignored).
func readAndDecode(resp *http.Response, out any) error {
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBuf {
			bufPool.Put(buf)
		}
	}()
	if n := resp.ContentLength; n > 0 && n < maxPooledBuf {
		// Room for the whole body plus ReadFrom's end-of-file probe, so the
		// buffer does not double past what the page needs.
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return err
	}
	return decodeJSON(buf.Bytes(), out)
}

// decodeJSON decodes data into out. It is the one place a response body is
// turned into values. Data management records and storage moves, the hot
// types, go through decodeFast (fastdecode.go); whatever it declines,
// encoding/json decodes, so the results and errors are always exactly
// encoding/json's. out may be a pageInto, a page of a listing decoded with
// the listing's table of shared strings.
func decodeJSON(data []byte, out any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("empty response body")
	}
	var shared *jsonscan.Shared
	if p, ok := out.(pageInto); ok {
		out, shared = p.items, p.shared
	}
	if decodeFastShared(data, out, shared) {
		return nil
	}
	return json.Unmarshal(data, out)
}

// pageInto is what a page of a listing decodes into: items, a pointer to
// the page's slice, with shared, the table that gives the whole listing
// one copy of each short value its items repeat.
type pageInto struct {
	items  any
	shared *jsonscan.Shared
}

// notJSON is the media type of a Content-Type that names something other
// than JSON (text/html), and "" for JSON or no Content-Type.
func notJSON(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt == "application/json" || strings.HasSuffix(mt, "+json") {
		return ""
	}
	return mt
}
