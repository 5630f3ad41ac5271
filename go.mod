module github.com/gitlabdata/gitlabdata

go 1.25

require (
	github.com/google/go-querystring v1.2.0
	github.com/hashicorp/go-cleanhttp v0.5.2
)

require github.com/google/go-cmp v0.7.0
