package gitlabdata

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The model names per GitLab era, as GitLab's source has them (the spec's
// corrections #1 and the legacy list of gitlab-server.md §2.1), written out
// here rather than derived from the SDK's tables.
var (
	specNewestNames = []ModelName{
		"ci_job_artifacts", "ci_pipeline_artifacts", "ci_secure_files", "container_repositories",
		"dependency_proxy_blobs", "dependency_proxy_manifests", "design_management_repositories",
		"geo_abuse_report_uploads", "geo_achievement_uploads", "geo_ai_vectorizable_file_uploads",
		"geo_alert_management_metric_image_uploads", "geo_appearance_uploads",
		"geo_bulk_import_export_upload_uploads", "geo_dependency_list_export_part_uploads",
		"geo_dependency_list_export_uploads", "geo_design_management_action_uploads", "geo_group_uploads",
		"geo_import_export_upload_uploads", "geo_issuable_metric_image_uploads",
		"geo_organization_detail_uploads", "geo_personal_snippet_uploads",
		"geo_project_import_export_relation_export_upload_uploads", "geo_project_topic_uploads",
		"geo_project_uploads", "geo_user_permission_export_upload_uploads", "geo_user_uploads",
		"geo_vulnerability_archive_export_uploads", "geo_vulnerability_export_part_uploads",
		"geo_vulnerability_export_uploads", "geo_vulnerability_remediation_uploads",
		"group_wiki_repositories", "lfs_objects", "merge_request_diffs",
		"packages_debian_project_component_files", "packages_helm_metadata_caches", "packages_nuget_symbols",
		"packages_package_files", "pages_deployments", "projects", "projects_wiki_repositories",
		"snippet_repositories", "supply_chain_attestations", "terraform_state_versions", "uploads",
	}
	// spec18_9Names are the 20 names of GitLab 18.9's OpenAPI enum.
	spec18_9Names = []ModelName{
		"ci_job_artifacts", "ci_pipeline_artifacts", "ci_secure_files", "container_repositories",
		"dependency_proxy_blobs", "dependency_proxy_manifests", "design_management_repositories",
		"group_wiki_repositories", "lfs_objects", "merge_request_diffs", "packages_helm_metadata_caches",
		"packages_nuget_symbols", "packages_package_files", "pages_deployments", "projects",
		"projects_wiki_repositories", "snippet_repositories", "supply_chain_attestations",
		"terraform_state_versions", "uploads",
	}
	specLegacyNames = []ModelName{
		"ci_job_artifact", "ci_pipeline_artifact", "ci_secure_file", "container_repository",
		"dependency_proxy_blob", "dependency_proxy_manifest", "design_management_repository",
		"group_wiki_repository", "lfs_object", "merge_request_diff", "packages_package_file",
		"pages_deployment", "project", "projects_wiki_repository", "snippet_repository",
		"terraform_state_version", "upload",
	}
)

func TestModelNames(t *testing.T) {
	t.Parallel()
	got := ModelNames()
	if diff := cmp.Diff(specNewestNames, got); diff != "" {
		t.Errorf("ModelNames() mismatch (-want +got):\n%s", diff)
	}
	if len(got) != 44 || !slices.IsSorted(got) {
		t.Errorf("ModelNames() has %d names, sorted %v; want 44 in alphabetical order", len(got), slices.IsSorted(got))
	}
	got[0] = "changed"
	if again := ModelNames(); again[0] != "ci_job_artifacts" {
		t.Errorf("ModelNames()[0] = %q after a caller's write; want a new slice on every call", again[0])
	}
	for _, m := range got[1:] {
		if err := m.validate(); err != nil {
			t.Errorf("ModelName(%q).validate() = %v; want nil", m, err)
		}
	}
}

// with returns names plus more, sorted; without names less one.
func with(names []ModelName, more ...ModelName) []ModelName {
	return slices.Sorted(slices.Values(append(slices.Clone(names), more...)))
}

func without(names []ModelName, less ModelName) []ModelName {
	return slices.DeleteFunc(slices.Clone(names), func(n ModelName) bool { return n == less })
}

func TestModelNamesFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		version string
		want    []ModelName
	}{
		{"18.2.5-ee", nil},
		{"18.3.0-ee", specLegacyNames},
		{"18.7.2-ee", specLegacyNames},
		{"18.8.0-ee", without(spec18_9Names, "packages_helm_metadata_caches")},
		{"18.9.1-ee", spec18_9Names},
		{"18.10.0-ee", with(spec18_9Names, "geo_abuse_report_uploads", "geo_project_uploads")},
		{"18.11.0-ee", with(spec18_9Names, "geo_abuse_report_uploads", "geo_project_uploads",
			"geo_achievement_uploads", "geo_design_management_action_uploads", "geo_group_uploads", "geo_user_uploads")},
		{"19.1.0-ee", with(spec18_9Names, "geo_abuse_report_uploads", "geo_project_uploads",
			"geo_achievement_uploads", "geo_design_management_action_uploads", "geo_group_uploads", "geo_user_uploads",
			"geo_bulk_import_export_upload_uploads")},
		{"19.2.0-ee", specNewestNames},
		{"20.0.0-ee", specNewestNames},
	}
	for _, tc := range tests {
		got := ModelNamesFor(parseServerVersion(tc.version))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ModelNamesFor(%s) mismatch (-want +got):\n%s", tc.version, diff)
		}
	}
}

// Singular gives the names GitLab 18.3 to 18.7 expect for every plural
// name that era knows, and leaves a singular name as it is.
func TestModelNameSingular(t *testing.T) {
	t.Parallel()
	for _, legacy := range specLegacyNames {
		var plural ModelName
		for _, m := range spec18_9Names {
			if m.Singular() == legacy {
				plural = m
			}
		}
		if plural == "" {
			t.Errorf("no plural name has the singular %q", legacy)
		}
		if got := legacy.Singular(); got != legacy {
			t.Errorf("ModelName(%q).Singular() = %q; want it unchanged", legacy, got)
		}
	}
	for _, tc := range []struct{ plural, singular ModelName }{
		{ModelContainerRepositories, "container_repository"},
		{ModelPackagesHelmMetadataCaches, "packages_helm_metadata_cache"},
		{ModelGeoProjectUploads, "geo_project_upload"},
	} {
		if got := tc.plural.Singular(); got != tc.singular {
			t.Errorf("ModelName(%q).Singular() = %q; want %q", tc.plural, got, tc.singular)
		}
	}
	for _, m := range specNewestNames {
		if !strings.HasSuffix(string(m), "s") {
			t.Errorf("newest name %q is not plural", m)
		}
	}
}
