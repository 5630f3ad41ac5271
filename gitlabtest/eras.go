package gitlabtest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gitlabdata/gitlabdata"
)

// Version is the GitLab release the fake emulates. Only Major and Minor
// choose the behaviour (see [Era]); Patch is echoed by GET /api/v4/version.
type Version struct {
	Major, Minor, Patch int
}

// Versions the fake knows how to be.
var (
	// OldestVersion is the first release with the Data management API.
	OldestVersion = Version{18, 3, 0}
	// NewestVersion is what the fake emulates by default: GitLab 19.2, the
	// first release known to accept all 44 model names of Geo's
	// replicators and to check granular token permissions on the Data
	// management routes (the project's corrections #1 to gitlab-server.md).
	NewestVersion = Version{19, 2, 0}
)

// ParseVersion reads a version such as "18.5", "18.5.2", "18.5.2-ee" or
// "v18.9". It fails for text that is not a version and for a version older
// than [OldestVersion]; a version newer than [NewestVersion] behaves like
// it.
func ParseVersion(s string) (Version, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	t, _, _ = strings.Cut(t, "-")
	parts := strings.Split(t, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("gitlabtest: version %q: want MAJOR.MINOR or MAJOR.MINOR.PATCH", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return Version{}, fmt.Errorf("gitlabtest: version %q: %q is not a number", s, p)
		}
		n[i] = v
	}
	v := Version{n[0], n[1], n[2]}
	if v.less(OldestVersion) {
		return Version{}, fmt.Errorf("gitlabtest: version %s has no Data management API (it first shipped in %s)", v, OldestVersion.short())
	}
	return v, nil
}

func (v Version) less(o Version) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor < o.Minor
	}
	return v.Patch < o.Patch
}

func (v Version) short() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// String returns the version as GitLab's /api/v4/version sends it, such as
// "18.5.2-ee".
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d-ee", v.Major, v.Minor, v.Patch) }

// Era groups the GitLab releases whose Data management API behaves alike.
type Era int

// The eras the fake emulates, oldest first.
const (
	// EraSingular is GitLab 18.3 to 18.7: singular model names, integer
	// checksum_state, offset pagination without totals, bulk
	// recalculation that ignores its filters, behind the
	// geo_primary_verification_view feature flag.
	EraSingular Era = iota + 1
	// EraPlural is GitLab 18.8 and 18.9: plural model names (19 on 18.8,
	// the 20 of the OpenAPI enum on 18.9), string checksum_state, totals,
	// keyset pagination, still behind the feature flag.
	EraPlural
	// EraGranular is GitLab 18.10 and later: no feature flag, granular
	// token permissions, and the model names of Geo's replicators, a few
	// more with each release up to the 44 of 19.2 (see [ModelNamesOf]).
	EraGranular
)

// String names the era by its releases.
func (e Era) String() string {
	switch e {
	case EraSingular:
		return "18.3-18.7"
	case EraPlural:
		return "18.8-18.9"
	case EraGranular:
		return "18.10+"
	}
	return "Era(" + strconv.Itoa(int(e)) + ")"
}

// Era returns the era v belongs to.
func (v Version) Era() Era {
	switch {
	case v.less(Version{18, 8, 0}):
		return EraSingular
	case v.less(Version{18, 10, 0}):
		return EraPlural
	}
	return EraGranular
}

// revision is a stable fake git revision for a version: 11 hex digits, as
// GitLab sends.
func (v Version) revision() string {
	h := uint64(14695981039346656037)
	for _, c := range []byte(v.String()) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return fmt.Sprintf("%011x", h&(1<<44-1))
}

// The fake's own record of GitLab's model names, written from the project's
// notes on GitLab's source (gitlab-server.md §2.1 and corrections.md #1),
// not from package gitlabdata.
var (
	// singularModelNames are the names of 18.3 to 18.7.
	singularModelNames = []string{
		"ci_job_artifact", "ci_pipeline_artifact", "ci_secure_file", "container_repository",
		"dependency_proxy_blob", "dependency_proxy_manifest", "design_management_repository",
		"group_wiki_repository", "lfs_object", "merge_request_diff", "packages_package_file",
		"pages_deployment", "project", "projects_wiki_repository", "snippet_repository",
		"terraform_state_version", "upload",
	}
	// pluralModelNames are the 20 names of the 18.9 OpenAPI enum:
	// packages_helm_metadata_caches is in, packages_debian_project_component_files
	// is not.
	pluralModelNames = []string{
		"ci_job_artifacts", "ci_pipeline_artifacts", "ci_secure_files", "container_repositories",
		"dependency_proxy_blobs", "dependency_proxy_manifests", "design_management_repositories",
		"group_wiki_repositories", "lfs_objects", "merge_request_diffs", "packages_helm_metadata_caches",
		"packages_nuget_symbols", "packages_package_files", "pages_deployments", "projects",
		"projects_wiki_repositories", "snippet_repositories", "supply_chain_attestations",
		"terraform_state_versions", "uploads",
	}
	// geoUploadOwners are the models whose uploads newer GitLab replicates
	// as geo_<owner>_uploads.
	geoUploadOwners = []string{
		"abuse_report", "achievement", "ai_vectorizable_file", "alert_management_metric_image", "appearance",
		"bulk_import_export_upload", "dependency_list_export_part", "dependency_list_export",
		"design_management_action", "group", "import_export_upload", "issuable_metric_image",
		"organization_detail", "personal_snippet", "project_import_export_relation_export_upload",
		"project_topic", "project", "user_permission_export_upload", "user", "vulnerability_archive_export",
		"vulnerability_export_part", "vulnerability_export", "vulnerability_remediation",
	}
	// replicatorModelNames are the 44 names of GitLab 19.2 and later: the
	// 21 replicated models plus the 23 upload partitions, sorted.
	replicatorModelNames = func() []string {
		names := []string{
			"ci_job_artifacts", "ci_pipeline_artifacts", "ci_secure_files", "container_repositories",
			"dependency_proxy_blobs", "dependency_proxy_manifests", "design_management_repositories",
			"group_wiki_repositories", "lfs_objects", "merge_request_diffs",
			"packages_debian_project_component_files", "packages_helm_metadata_caches", "packages_nuget_symbols",
			"packages_package_files", "pages_deployments", "projects", "projects_wiki_repositories",
			"snippet_repositories", "supply_chain_attestations", "terraform_state_versions", "uploads",
		}
		for _, o := range geoUploadOwners {
			names = append(names, "geo_"+o+"_uploads")
		}
		slices.Sort(names)
		return names
	}()
	// pluralNamesAdded says which release of the plural era (18.8 on)
	// brought which names, oldest first; a release accepts the names of
	// every entry up to its own. Corrections #1 dates them from each
	// replicator's metrics milestone: only 18.9's 20 names and 19.2's 44
	// are confirmed, the steps between are inferred.
	pluralNamesAdded = func() []pluralAddition {
		steps := []pluralAddition{
			// 18.9's enum without the helm cache, which came with 18.9.
			{Version{18, 8, 0}, slices.DeleteFunc(slices.Clone(pluralModelNames), func(n string) bool {
				return n == "packages_helm_metadata_caches"
			})},
			{Version{18, 9, 0}, []string{"packages_helm_metadata_caches"}},
			{Version{18, 10, 0}, []string{"geo_abuse_report_uploads", "geo_project_uploads"}},
			{Version{18, 11, 0}, []string{
				"geo_achievement_uploads", "geo_design_management_action_uploads", "geo_group_uploads", "geo_user_uploads",
			}},
			{Version{19, 0, 0}, []string{"geo_bulk_import_export_upload_uploads"}},
		}
		// 19.2: the rest of the 44.
		var rest []string
		for _, n := range replicatorModelNames {
			if !slices.ContainsFunc(steps, func(a pluralAddition) bool { return slices.Contains(a.names, n) }) {
				rest = append(rest, n)
			}
		}
		return append(steps, pluralAddition{Version{19, 2, 0}, rest})
	}()
)

// pluralAddition is the model names a release added.
type pluralAddition struct {
	since Version
	names []string
}

// singularize turns a plural model name into the singular form 18.3 to
// 18.7 use: "ies" becomes "y", a final "s" goes. (It is right for the 17
// names of that era, which is all it is used for.)
func singularize(p string) string {
	switch {
	case strings.HasSuffix(p, "ies"):
		return strings.TrimSuffix(p, "ies") + "y"
	case strings.HasSuffix(p, "s"):
		return strings.TrimSuffix(p, "s")
	}
	return p
}

// ModelNames returns the :model_name values of the newest release of era,
// in alphabetical order: the 17 singular names of 18.3 to 18.7, the 20
// plural names of 18.9, or the 44 names of 19.2 and later. Releases inside
// an era may accept fewer (18.8 has 19 names, 18.10 to 19.1 from 22 to 27):
// [ModelNamesOf] gives the set of one release, which is what a server of
// that version accepts. The slice is new on every call. Seed records under
// the plural names (a singular-era request finds them by the singular
// name); records seeded under a singular name are found too.
func ModelNames(era Era) []gitlabdata.ModelName {
	var src []string
	switch era {
	case EraSingular:
		src = singularModelNames
	case EraPlural:
		src = pluralModelNames
	case EraGranular:
		src = replicatorModelNames
	}
	return toModelNames(src)
}

// ModelNamesOf returns the :model_name values GitLab release v accepts, in
// alphabetical order; a server of version v ([WithVersion]) accepts exactly
// these (plus the models of [Server.AcceptModel]) and answers 400 to any
// other name. Only Major and Minor matter:
//
//   - 18.3 to 18.7: the 17 singular names, such as "lfs_object";
//   - 18.8: 19 plural names, 18.9's without packages_helm_metadata_caches
//     (inferred);
//   - 18.9: the 20 plural names of GitLab's OpenAPI enum;
//   - 18.10: 22, adding geo_abuse_report_uploads and geo_project_uploads
//     (inferred);
//   - 18.11: 26, adding geo_achievement_uploads,
//     geo_design_management_action_uploads, geo_group_uploads and
//     geo_user_uploads (inferred);
//   - 19.0 and 19.1: 27, adding geo_bulk_import_export_upload_uploads
//     (inferred);
//   - 19.2 and later: the 44 names built from Geo's replicators (21 models,
//     packages_debian_project_component_files included, plus 23
//     geo_*_uploads partitions).
//
// It returns nil for a release older than [OldestVersion], which has no
// Data management API. The slice is new on every call.
func ModelNamesOf(v Version) []gitlabdata.ModelName {
	switch {
	case v.less(OldestVersion):
		return nil
	case v.Era() == EraSingular:
		return toModelNames(singularModelNames)
	}
	var names []string
	for _, a := range pluralNamesAdded {
		if !v.less(a.since) {
			names = append(names, a.names...)
		}
	}
	slices.Sort(names)
	return toModelNames(names)
}

// acceptsPluralName reports whether release v, of the plural eras (18.8
// and later), accepts the model name n. It allocates nothing: the server
// asks on every Data management request.
func acceptsPluralName(v Version, n string) bool {
	for _, a := range pluralNamesAdded {
		if !v.less(a.since) && slices.Contains(a.names, n) {
			return true
		}
	}
	return false
}

func toModelNames(src []string) []gitlabdata.ModelName {
	out := make([]gitlabdata.ModelName, len(src))
	for i, n := range src {
		out[i] = gitlabdata.ModelName(n)
	}
	return out
}

// Checksum states as the fake stores them; the integer is what 18.3 to
// 18.7 send, the name what later releases send (Geo's
// VERIFICATION_STATE_VALUES without the "verification_" prefix).
var checksumStateNames = [...]string{"pending", "started", "succeeded", "failed", "disabled"}

// stateByName returns the number of a checksum state name, or -1.
func stateByName(name string) int8 {
	for i, n := range checksumStateNames {
		if n == name {
			return int8(i)
		}
	}
	return -1
}

// The wire states of storage moves: human_state_name of GitLab's
// RepositoryStorageMovable state machine (gitlab-server.md §3.4), which
// turns cleanup_failed into "cleanup failed".
const (
	moveInitial       gitlabdata.StorageMoveState = "initial"
	moveScheduled     gitlabdata.StorageMoveState = "scheduled"
	moveStarted       gitlabdata.StorageMoveState = "started"
	moveFinished      gitlabdata.StorageMoveState = "finished"
	moveFailed        gitlabdata.StorageMoveState = "failed"
	moveReplicated    gitlabdata.StorageMoveState = "replicated"
	moveCleanupFailed gitlabdata.StorageMoveState = "cleanup failed"
)
