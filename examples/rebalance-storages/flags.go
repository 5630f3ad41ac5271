package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gitlabdata/gitlabdata/examples/internal/size"
)

// parseCapacities reads -capacity: name=size pairs, comma-separated, such
// as default=10TiB,storage2=8TiB.
func parseCapacities(s string) (map[string]int64, error) {
	out := map[string]int64{}
	for pair := range strings.SplitSeq(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		name, sz, ok := strings.Cut(pair, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%q: want name=size, such as default=10TiB", pair)
		}
		n, err := size.Parse(sz)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		if n <= 0 {
			return nil, fmt.Errorf("%s: the capacity must be above 0", name)
		}
		if _, twice := out[name]; twice {
			return nil, fmt.Errorf("%s is given twice", name)
		}
		out[name] = n
	}
	return out, nil
}

// readCapacities reads -capacity-file: a JSON object of storage names to
// sizes, each a string ("10TiB") or a number of bytes.
func readCapacities(path string) (map[string]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf(`%s: want a JSON object such as {"default": "10TiB", "storage2": "8TiB"} (%v)`, path, err)
	}
	out := map[string]int64{}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range raw {
			if !yield(k) {
				return
			}
		}
	}) {
		var text string
		var n int64
		switch {
		case json.Unmarshal(raw[name], &text) == nil:
			n, err = size.Parse(text)
		case json.Unmarshal(raw[name], &n) == nil:
		default:
			err = errors.New("want a size such as \"10TiB\" or a number of bytes")
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %v", path, name, err)
		}
		if n <= 0 {
			return nil, fmt.Errorf("%s: %s: the capacity must be above 0", path, name)
		}
		out[name] = n
	}
	return out, nil
}

// percent is a -high or -low value: 70%, 70 or 0.7 (1 is 1%, 1.0 is
// 100%).
type percent float64

func (p *percent) String() string { return strconv.FormatFloat(float64(*p)*100, 'g', -1, 64) + "%" }

func (p *percent) Set(s string) error {
	t := strings.TrimSpace(s)
	hasSign := strings.HasSuffix(t, "%")
	num := strings.TrimSuffix(t, "%")
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return errors.New("want a percentage such as 70%")
	}
	// 70% and 70 are percentages; 0.7 (with its point) is a fraction; 1
	// is 1%, not 100%.
	if hasSign || !strings.Contains(num, ".") || v > 1 {
		v /= 100
	}
	if v <= 0 || v > 1 {
		return errors.New("want a percentage above 0% and at most 100%")
	}
	*p = percent(v)
	return nil
}

// parseIDs reads -ids: project ids, comma-separated, or @FILE with one id
// per line.
func parseIDs(s string) ([]int64, error) {
	text := s
	if path, ok := strings.CutPrefix(s, "@"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		text = string(b)
	}
	var out []int64
	for f := range strings.FieldsFuncSeq(text, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' || r == '\t' || r == '\r' }) {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("%q is not a project id", f)
		}
		out = append(out, id)
	}
	if len(out) == 0 {
		return nil, errors.New("no project id")
	}
	return out, nil
}
