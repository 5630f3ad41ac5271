package gitlabdata

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// ServerVersion is what GitLab says of itself at GET /version.
//
// GitLab API docs: https://docs.gitlab.com/api/version/
type ServerVersion struct {
	// Version is the version string as GitLab sends it, such as
	// "18.9.0-ee" or "18.10.0-pre".
	Version string
	// Revision is the Git revision GitLab was built from.
	Revision string
	// Major, Minor and Patch are parsed from Version; 0 when it does not
	// start with numbers.
	Major, Minor, Patch int
	// Enterprise is true for GitLab Enterprise Edition: GitLab's
	// "enterprise" field, or an "-ee" suffix on servers that do not send it.
	Enterprise bool
}

// AtLeast reports whether the server is major.minor or newer.
func (v ServerVersion) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// String returns the version string as GitLab sent it.
func (v ServerVersion) String() string { return v.Version }

// versionBody is GitLab's answer to GET /version.
type versionBody struct {
	Version    string `json:"version"`
	Revision   string `json:"revision"`
	Enterprise *bool  `json:"enterprise"`
}

// Version asks GitLab for its version. Any valid token may ask. The answer
// is also kept by the Client, which uses it to adapt to the server's era.
//
// GitLab API docs: https://docs.gitlab.com/api/version/#retrieve-version-information-for-this-instance
func (c *Client) Version(ctx context.Context) (*ServerVersion, *Response, error) {
	u, err := c.endpoint([]string{"version"}, nil)
	body, resp, err := callOne[versionBody](ctx, c, http.MethodGet, u, err, nil)
	if err != nil {
		return nil, resp, err
	}
	if body.Version == "" {
		return nil, resp, fmt.Errorf("gitlabdata: GET %s: the answer has no version", u.EscapedPath())
	}
	v := parseServerVersion(body.Version)
	v.Revision = body.Revision
	if body.Enterprise != nil {
		v.Enterprise = *body.Enterprise
	}
	c.facts.setVersion(v)
	out := v
	return &out, resp, nil
}

// parseServerVersion reads "18.9.0-ee", "18.10.0-pre" or "18.9.0-rc42-ee".
func parseServerVersion(s string) ServerVersion {
	v := ServerVersion{Version: s, Enterprise: strings.HasSuffix(s, "-ee")}
	core, _, _ := strings.Cut(s, "-")
	parts := strings.SplitN(core, ".", 3)
	nums := []*int{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			break
		}
		*nums[i] = n
	}
	return v
}
