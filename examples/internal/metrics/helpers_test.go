package metrics

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gitlabdata/gitlabdata/drain"
)

// exposition is the /metrics text of a fresh registry holding only cs, as
// the tools' handler serves it.
func exposition(t *testing.T, cs ...prometheus.Collector) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.PanicOnError}).
		ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// samples reads the samples of an exposition: `name{labels}` → value.
func samples(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("not a sample: %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// moves is the name of the moves_total sample of kind and outcome.
func moves(kind drain.Kind, o drain.Outcome) string {
	return `gitlabdata_moves_total{kind="` + string(kind) + `",outcome="` + string(o) + `"}`
}

// t0 is when the synthetic runs start.
var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// ev is an event of project id at second sec of a run.
func ev(typ drain.EventType, id int64, sec int) drain.Event {
	return drain.Event{Type: typ, Kind: drain.KindProject, ID: id, Time: t0.Add(time.Duration(sec) * time.Second)}
}

// sized is e with a size.
func sized(e drain.Event, n int64) drain.Event {
	e.Size = &n
	return e
}

// final is a failed event after which the container is not tried again.
func final(e drain.Event) drain.Event {
	e.Final = true
	return e
}

// of is e of another kind.
func of(k drain.Kind, e drain.Event) drain.Event {
	e.Kind = k
	return e
}
