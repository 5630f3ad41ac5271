package gitlabdata

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// String returns a pointer to a copy of s. It fills optional string fields
// such as [ScheduleStorageMoveRequest.DestinationStorageName].
func String(s string) *string { return &s }

// ModelName names a Geo data type served by the Data management API, as it
// appears in the path /admin/data_management/:model_name.
//
// GitLab 18.8 and later use plural names (the constants below); 18.3 to 18.7
// use singular ones. Pass the plural names to every server: on a server that
// answers that a plural name is not valid, the client retries once with the
// singular form ([ModelName.Singular]) and keeps using that form, so one tool
// works with every GitLab version. The SDK does not refuse names it does not know,
// because GitLab adds Geo data types over time; it only checks the form GitLab
// accepts (lower-case letters, digits and underscores).
//
// GitLab API docs: https://docs.gitlab.com/api/admin/data_management/
type ModelName string

// Model names of the newest GitLab, one per Geo replicator, pluralized as
// GitLab's source does. Which versions accept which: [ModelNamesFor].
const (
	ModelCIJobArtifacts                                    ModelName = "ci_job_artifacts"
	ModelCIPipelineArtifacts                               ModelName = "ci_pipeline_artifacts"
	ModelCISecureFiles                                     ModelName = "ci_secure_files"
	ModelContainerRepositories                             ModelName = "container_repositories"
	ModelDependencyProxyBlobs                              ModelName = "dependency_proxy_blobs"
	ModelDependencyProxyManifests                          ModelName = "dependency_proxy_manifests"
	ModelDesignManagementRepositories                      ModelName = "design_management_repositories"
	ModelGeoAbuseReportUploads                             ModelName = "geo_abuse_report_uploads"
	ModelGeoAchievementUploads                             ModelName = "geo_achievement_uploads"
	ModelGeoAIVectorizableFileUploads                      ModelName = "geo_ai_vectorizable_file_uploads"
	ModelGeoAlertManagementMetricImageUploads              ModelName = "geo_alert_management_metric_image_uploads"
	ModelGeoAppearanceUploads                              ModelName = "geo_appearance_uploads"
	ModelGeoBulkImportExportUploadUploads                  ModelName = "geo_bulk_import_export_upload_uploads"
	ModelGeoDependencyListExportPartUploads                ModelName = "geo_dependency_list_export_part_uploads"
	ModelGeoDependencyListExportUploads                    ModelName = "geo_dependency_list_export_uploads"
	ModelGeoDesignManagementActionUploads                  ModelName = "geo_design_management_action_uploads"
	ModelGeoGroupUploads                                   ModelName = "geo_group_uploads"
	ModelGeoImportExportUploadUploads                      ModelName = "geo_import_export_upload_uploads"
	ModelGeoIssuableMetricImageUploads                     ModelName = "geo_issuable_metric_image_uploads"
	ModelGeoOrganizationDetailUploads                      ModelName = "geo_organization_detail_uploads"
	ModelGeoPersonalSnippetUploads                         ModelName = "geo_personal_snippet_uploads"
	ModelGeoProjectImportExportRelationExportUploadUploads ModelName = "geo_project_import_export_relation_export_upload_uploads"
	ModelGeoProjectTopicUploads                            ModelName = "geo_project_topic_uploads"
	ModelGeoProjectUploads                                 ModelName = "geo_project_uploads"
	ModelGeoUserPermissionExportUploadUploads              ModelName = "geo_user_permission_export_upload_uploads"
	ModelGeoUserUploads                                    ModelName = "geo_user_uploads"
	ModelGeoVulnerabilityArchiveExportUploads              ModelName = "geo_vulnerability_archive_export_uploads"
	ModelGeoVulnerabilityExportPartUploads                 ModelName = "geo_vulnerability_export_part_uploads"
	ModelGeoVulnerabilityExportUploads                     ModelName = "geo_vulnerability_export_uploads"
	ModelGeoVulnerabilityRemediationUploads                ModelName = "geo_vulnerability_remediation_uploads"
	ModelGroupWikiRepositories                             ModelName = "group_wiki_repositories"
	ModelLFSObjects                                        ModelName = "lfs_objects"
	ModelMergeRequestDiffs                                 ModelName = "merge_request_diffs"
	ModelPackagesDebianProjectComponentFiles               ModelName = "packages_debian_project_component_files"
	ModelPackagesHelmMetadataCaches                        ModelName = "packages_helm_metadata_caches"
	ModelPackagesNugetSymbols                              ModelName = "packages_nuget_symbols"
	ModelPackagesPackageFiles                              ModelName = "packages_package_files"
	ModelPagesDeployments                                  ModelName = "pages_deployments"
	ModelProjects                                          ModelName = "projects"
	ModelProjectsWikiRepositories                          ModelName = "projects_wiki_repositories"
	ModelSnippetRepositories                               ModelName = "snippet_repositories"
	ModelSupplyChainAttestations                           ModelName = "supply_chain_attestations"
	ModelTerraformStateVersions                            ModelName = "terraform_state_versions"
	ModelUploads                                           ModelName = "uploads"
)

// ModelNames returns every model name of the newest GitLab, in alphabetical
// order: the 44 names of GitLab after 18.9, whose list is built from its Geo
// replicators (21 data types plus 23 kinds of uploads). Older servers accept
// fewer, and GitLab 18.3 to 18.7 only singular names; see [ModelNamesFor].
// The slice is new on every call.
func ModelNames() []ModelName {
	return []ModelName{
		ModelCIJobArtifacts, ModelCIPipelineArtifacts, ModelCISecureFiles,
		ModelContainerRepositories, ModelDependencyProxyBlobs, ModelDependencyProxyManifests,
		ModelDesignManagementRepositories, ModelGeoAbuseReportUploads, ModelGeoAchievementUploads,
		ModelGeoAIVectorizableFileUploads, ModelGeoAlertManagementMetricImageUploads, ModelGeoAppearanceUploads,
		ModelGeoBulkImportExportUploadUploads, ModelGeoDependencyListExportPartUploads, ModelGeoDependencyListExportUploads,
		ModelGeoDesignManagementActionUploads, ModelGeoGroupUploads, ModelGeoImportExportUploadUploads,
		ModelGeoIssuableMetricImageUploads, ModelGeoOrganizationDetailUploads, ModelGeoPersonalSnippetUploads,
		ModelGeoProjectImportExportRelationExportUploadUploads, ModelGeoProjectTopicUploads, ModelGeoProjectUploads,
		ModelGeoUserPermissionExportUploadUploads, ModelGeoUserUploads, ModelGeoVulnerabilityArchiveExportUploads,
		ModelGeoVulnerabilityExportPartUploads, ModelGeoVulnerabilityExportUploads, ModelGeoVulnerabilityRemediationUploads,
		ModelGroupWikiRepositories, ModelLFSObjects, ModelMergeRequestDiffs,
		ModelPackagesDebianProjectComponentFiles, ModelPackagesHelmMetadataCaches, ModelPackagesNugetSymbols,
		ModelPackagesPackageFiles, ModelPagesDeployments, ModelProjects,
		ModelProjectsWikiRepositories, ModelSnippetRepositories, ModelSupplyChainAttestations,
		ModelTerraformStateVersions, ModelUploads,
	}
}

// ModelNamesFor returns the model names a server of version v accepts, in
// alphabetical order. GitLab's source pins 18.3 to 18.7, 18.9 and 19.2; the
// releases between are inferred from the milestone of each Geo
// replicator's metrics (corrections #1):
//
//   - before 18.3: none (the Data management API does not exist);
//   - 18.3 to 18.7: 17 singular names, such as "lfs_object";
//   - 18.8: 19 plural names, those of 18.9 without
//     packages_helm_metadata_caches (inferred);
//   - 18.9: 20 plural names (packages_helm_metadata_caches included,
//     packages_debian_project_component_files not yet);
//   - 18.10: 22, adding geo_abuse_report_uploads and geo_project_uploads
//     (inferred);
//   - 18.11: 26, adding the uploads of achievements, design management
//     actions, groups and users (inferred);
//   - 19.0 and 19.1: 27, adding geo_bulk_import_export_upload_uploads
//     (inferred);
//   - 19.2 and later: the 44 of [ModelNames].
//
// A server may accept a name this list leaves out; a client must not
// refuse a name it does not know. The slice is new on every call.
func ModelNamesFor(v ServerVersion) []ModelName {
	var out []ModelName
	add := func(names ...ModelName) { out = append(out, names...) }
	switch {
	case !v.AtLeast(18, 3):
		return nil
	case !v.AtLeast(18, 8):
		for _, n := range legacyModelNames {
			add(ModelName(n))
		}
		return out
	case !v.AtLeast(19, 2):
		add(ModelCIJobArtifacts, ModelCIPipelineArtifacts, ModelCISecureFiles,
			ModelContainerRepositories, ModelDependencyProxyBlobs, ModelDependencyProxyManifests,
			ModelDesignManagementRepositories, ModelGroupWikiRepositories, ModelLFSObjects,
			ModelMergeRequestDiffs, ModelPackagesNugetSymbols,
			ModelPackagesPackageFiles, ModelPagesDeployments, ModelProjects,
			ModelProjectsWikiRepositories, ModelSnippetRepositories, ModelSupplyChainAttestations,
			ModelTerraformStateVersions, ModelUploads)
		if v.AtLeast(18, 9) {
			add(ModelPackagesHelmMetadataCaches)
		}
		if v.AtLeast(18, 10) {
			add(ModelGeoAbuseReportUploads, ModelGeoProjectUploads)
		}
		if v.AtLeast(18, 11) {
			add(ModelGeoAchievementUploads, ModelGeoDesignManagementActionUploads, ModelGeoGroupUploads, ModelGeoUserUploads)
		}
		if v.AtLeast(19, 0) {
			add(ModelGeoBulkImportExportUploadUploads)
		}
		slices.Sort(out)
		return out
	}
	return ModelNames()
}

// legacyModelNames are the singular names of GitLab 18.3 to 18.7.
var legacyModelNames = [...]string{
	"ci_job_artifact",
	"ci_pipeline_artifact",
	"ci_secure_file",
	"container_repository",
	"dependency_proxy_blob",
	"dependency_proxy_manifest",
	"design_management_repository",
	"group_wiki_repository",
	"lfs_object",
	"merge_request_diff",
	"packages_package_file",
	"pages_deployment",
	"project",
	"projects_wiki_repository",
	"snippet_repository",
	"terraform_state_version",
	"upload",
}

// Singular returns the singular name that GitLab 18.3 to 18.7 expect
// ("lfs_objects" becomes "lfs_object", "container_repositories" becomes
// "container_repository"). A name that is already singular is returned as is.
func (m ModelName) Singular() ModelName {
	s := string(m)
	switch {
	case strings.HasSuffix(s, "ies"):
		return ModelName(strings.TrimSuffix(s, "ies") + "y")
	case strings.HasSuffix(s, "s"):
		return ModelName(strings.TrimSuffix(s, "s"))
	}
	return m
}

// validate checks the form GitLab accepts for :model_name. GitLab compares
// names case-sensitively, so upper case is refused here rather than by a 400.
func (m ModelName) validate() error {
	if m == "" {
		return fmt.Errorf("%w: model name is empty", ErrInvalidArgument)
	}
	if len(m) > 255 {
		return fmt.Errorf("%w: model name is longer than 255 bytes", ErrInvalidArgument)
	}
	for _, r := range string(m) {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return fmt.Errorf("%w: model name %q: only lower-case letters, digits and underscores are allowed", ErrInvalidArgument, string(m))
		}
	}
	return nil
}

// RecordID identifies one record of the Data management API. GitLab sends the
// primary key as a JSON integer for single-column keys and as a base64 string
// for composite keys; RecordID holds either form and encodes back to the same.
//
// Build one with [IntRecordID], [CompositeRecordID] or [ParseRecordID]. The
// zero RecordID is invalid and refused before any request.
type RecordID struct {
	num int64  // single-column primary key; used when enc is ""
	enc string // URL-safe base64 of the composite key parts
}

// IntRecordID returns the RecordID of a record with a single-column primary key.
func IntRecordID(id int64) RecordID { return RecordID{num: id} }

// CompositeRecordID returns the RecordID of a record whose primary key has
// several columns, encoded the way GitLab encodes it: the values in key order
// joined by one space, then URL-safe base64 with padding. For example the
// parts "12" and "34" give "MTIgMzQ=".
func CompositeRecordID(parts ...string) RecordID {
	return RecordID{enc: base64.URLEncoding.EncodeToString([]byte(strings.Join(parts, " ")))}
}

// ParseRecordID reads a RecordID from its text form: a decimal integer, or a
// base64 composite key as GitLab sends it in record_identifier. It does not
// validate the base64; GitLab answers 400 for a malformed one.
func ParseRecordID(s string) RecordID {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return RecordID{num: n}
	}
	return RecordID{enc: s}
}

// IsComposite reports whether the id is a base64 composite key.
func (id RecordID) IsComposite() bool { return id.enc != "" }

// Int returns the integer primary key and true, or 0 and false for a
// composite key.
func (id RecordID) Int() (int64, bool) { return id.num, id.enc == "" }

// Parts decodes a composite key into its column values. For an integer id it
// returns the decimal form as the only part.
func (id RecordID) Parts() ([]string, error) {
	if id.enc == "" {
		return []string{strconv.FormatInt(id.num, 10)}, nil
	}
	raw, err := base64.URLEncoding.DecodeString(padBase64(id.enc))
	if err != nil {
		return nil, fmt.Errorf("gitlabdata: record id %q: %w", id.enc, err)
	}
	return strings.Split(string(raw), " "), nil
}

// padBase64 restores padding, since GitLab accepts unpadded composite keys.
func padBase64(s string) string {
	if n := len(s) % 4; n != 0 {
		return s + strings.Repeat("=", 4-n)
	}
	return s
}

// String returns the form used in paths and queries: the decimal integer or
// the base64 text.
func (id RecordID) String() string {
	if id.enc != "" {
		return id.enc
	}
	return strconv.FormatInt(id.num, 10)
}

// key identifies the record whatever padding a composite key was written
// with.
func (id RecordID) key() string {
	if id.enc != "" {
		return padBase64(id.enc)
	}
	return id.String()
}

// Equal reports whether two ids are the same; go-cmp uses it.
func (id RecordID) Equal(other RecordID) bool { return id == other }

func (id RecordID) validate() error {
	if id.enc == "" && id.num <= 0 {
		return fmt.Errorf("%w: record id must be a positive integer or a base64 composite key", ErrInvalidArgument)
	}
	return nil
}

// MarshalJSON encodes the id as GitLab does: an integer, or a string for a
// composite key.
func (id RecordID) MarshalJSON() ([]byte, error) {
	if id.enc != "" {
		return json.Marshal(id.enc)
	}
	return strconv.AppendInt(nil, id.num, 10), nil
}

// UnmarshalJSON accepts a JSON integer or a JSON string.
func (id *RecordID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = RecordID{enc: s}
		return nil
	}
	if string(b) == "null" {
		*id = RecordID{}
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("gitlabdata: record_identifier %s is neither an integer nor a string", b)
	}
	*id = RecordID{num: n}
	return nil
}

// ChecksumState is the Geo verification state of a record.
//
// GitLab 18.6 and later send it as a string; older servers send an integer
// (0 pending, 1 started, 2 succeeded, 3 failed, 4 disabled). Both decode to
// the constants below. An unknown integer decodes to its decimal text and an
// unknown string is kept as sent, so a newer server never breaks decoding.
type ChecksumState string

// Checksum states, with the integers older servers send for them.
const (
	ChecksumStatePending   ChecksumState = "pending"   // 0
	ChecksumStateStarted   ChecksumState = "started"   // 1
	ChecksumStateSucceeded ChecksumState = "succeeded" // 2
	ChecksumStateFailed    ChecksumState = "failed"    // 3
	ChecksumStateDisabled  ChecksumState = "disabled"  // 4
)

var checksumStatesByInt = [...]ChecksumState{
	ChecksumStatePending, ChecksumStateStarted, ChecksumStateSucceeded,
	ChecksumStateFailed, ChecksumStateDisabled,
}

// ChecksumStates returns the five known states in GitLab's numeric order.
// The slice is new on every call.
func ChecksumStates() []ChecksumState {
	return append([]ChecksumState(nil), checksumStatesByInt[:]...)
}

// Int returns the integer older servers use for s, or -1 if s is unknown.
func (s ChecksumState) Int() int {
	for i, known := range checksumStatesByInt {
		if s == known {
			return i
		}
	}
	return -1
}

// UnmarshalJSON accepts the string form, the legacy integer form, and null.
func (s *ChecksumState) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		*s = ChecksumState(str)
	case string(b) == "null":
		*s = ""
	default:
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return fmt.Errorf("gitlabdata: checksum_state %s is neither a string nor an integer", b)
		}
		if n >= 0 && n < int64(len(checksumStatesByInt)) {
			*s = checksumStatesByInt[n]
		} else {
			*s = ChecksumState(strconv.FormatInt(n, 10))
		}
	}
	return nil
}

// ModelRecord is one record of the Data management API
// (API::Entities::Admin::Model).
//
// GitLab API docs: https://docs.gitlab.com/api/admin/data_management/
type ModelRecord struct {
	// RecordIdentifier is the primary key: an integer, or a base64 string
	// for composite keys.
	RecordIdentifier RecordID `json:"record_identifier"`
	// ModelClass is the Rails class name, such as "Project" or "Upload".
	ModelClass string     `json:"model_class"`
	CreatedAt  *time.Time `json:"created_at"`
	// FileSize is nil for models without a size column.
	FileSize *int64 `json:"file_size"`
	// ChecksumInformation is nil when GitLab leaves it out: Geo is off,
	// the model has no replicator, or its verification is disabled.
	ChecksumInformation *ChecksumInformation `json:"checksum_information,omitempty"`
}

// ChecksumState returns the record's verification state, or "" when GitLab
// sent no checksum information. It is safe on a nil record.
func (r *ModelRecord) ChecksumState() ChecksumState {
	if r == nil || r.ChecksumInformation == nil {
		return ""
	}
	return r.ChecksumInformation.ChecksumState
}

// ChecksumFailure returns why the record's last verification failed, or ""
// when it did not fail or GitLab sent no checksum information. It is safe on
// a nil record.
func (r *ModelRecord) ChecksumFailure() string {
	if r == nil || r.ChecksumInformation == nil || r.ChecksumInformation.ChecksumFailure == nil {
		return ""
	}
	return *r.ChecksumInformation.ChecksumFailure
}

// ChecksumInformation is the Geo verification state of a [ModelRecord].
type ChecksumInformation struct {
	Checksum           *string       `json:"checksum"`
	LastChecksum       *time.Time    `json:"last_checksum"`
	ChecksumState      ChecksumState `json:"checksum_state"`
	ChecksumRetryCount *int64        `json:"checksum_retry_count"`
	ChecksumRetryAt    *time.Time    `json:"checksum_retry_at"`
	ChecksumFailure    *string       `json:"checksum_failure"`
}

// StorageMoveState is the state of a repository storage move as GitLab
// sends it. Unknown states decode without error and are kept as sent.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/
type StorageMoveState string

// Storage move states. GitLab sends "cleanup failed" with a space.
const (
	StorageMoveStateInitial       StorageMoveState = "initial"
	StorageMoveStateScheduled     StorageMoveState = "scheduled"
	StorageMoveStateStarted       StorageMoveState = "started"
	StorageMoveStateReplicated    StorageMoveState = "replicated"
	StorageMoveStateFinished      StorageMoveState = "finished"
	StorageMoveStateFailed        StorageMoveState = "failed"
	StorageMoveStateCleanupFailed StorageMoveState = "cleanup failed"
)

// Terminal reports whether GitLab will not move s to another state:
// finished, failed or cleanup failed. A replicated move still has its old
// copy to clean up, so it is not terminal, although the repository already
// serves from the destination.
func (s StorageMoveState) Terminal() bool {
	return s == StorageMoveStateFinished || s == StorageMoveStateFailed || s == StorageMoveStateCleanupFailed
}

// Succeeded reports whether the move has done its work: finished, or
// replicated (the repository already serves from the destination and only
// the removal of the old copy is left). A "cleanup failed" move also serves
// from the destination, but left its old copy behind, so it counts as failed.
func (s StorageMoveState) Succeeded() bool {
	return s == StorageMoveStateFinished || s == StorageMoveStateReplicated
}

// RepositoryStorageMove holds the fields shared by project, group and snippet
// storage moves (API::Entities::BasicRepositoryStorageMove).
type RepositoryStorageMove struct {
	ID                     int64            `json:"id"`
	CreatedAt              time.Time        `json:"created_at"`
	State                  StorageMoveState `json:"state"`
	SourceStorageName      string           `json:"source_storage_name"`
	DestinationStorageName string           `json:"destination_storage_name"`
	// ErrorMessage says why the move failed; nil while it has not failed
	// and on servers older than GitLab 16.7.
	ErrorMessage *string `json:"error_message"`
}

// common gives generic code access to the shared fields of every move type.
func (m *RepositoryStorageMove) common() *RepositoryStorageMove { return m }

// ProjectRepositoryStorageMove is a move of a project's repositories.
//
// GitLab API docs: https://docs.gitlab.com/api/project_repository_storage_moves/
type ProjectRepositoryStorageMove struct {
	RepositoryStorageMove
	Project *ProjectIdentity `json:"project"`
}

// ProjectIdentity is the short form of a project inside a storage move.
type ProjectIdentity struct {
	ID                int64      `json:"id"`
	Description       *string    `json:"description"`
	Name              string     `json:"name"`
	NameWithNamespace string     `json:"name_with_namespace"`
	Path              string     `json:"path"`
	PathWithNamespace string     `json:"path_with_namespace"`
	CreatedAt         *time.Time `json:"created_at"`
}

// GroupRepositoryStorageMove is a move of a group's wiki repository
// (GitLab Premium and Ultimate).
//
// GitLab API docs: https://docs.gitlab.com/api/group_repository_storage_moves/
type GroupRepositoryStorageMove struct {
	RepositoryStorageMove
	Group *BasicGroupDetails `json:"group"`
}

// BasicGroupDetails is the short form of a group inside a storage move.
type BasicGroupDetails struct {
	ID     int64  `json:"id"`
	WebURL string `json:"web_url"`
	Name   string `json:"name"`
}

// SnippetRepositoryStorageMove is a move of a snippet's repository.
//
// GitLab API docs: https://docs.gitlab.com/api/snippet_repository_storage_moves/
type SnippetRepositoryStorageMove struct {
	RepositoryStorageMove
	Snippet *BasicSnippet `json:"snippet"`
}

// BasicSnippet is the short form of a snippet inside a storage move.
type BasicSnippet struct {
	ID          int64      `json:"id"`
	Title       string     `json:"title"`
	Description *string    `json:"description"`
	Visibility  string     `json:"visibility"`
	Author      *UserBasic `json:"author,omitempty"`
	CreatedAt   *time.Time `json:"created_at"`
	UpdatedAt   *time.Time `json:"updated_at"`
	// ProjectID is nil for personal snippets.
	ProjectID *int64 `json:"project_id"`
	WebURL    string `json:"web_url"`
	RawURL    string `json:"raw_url"`
	// SSHURLToRepo and HTTPURLToRepo are empty when the snippet has no
	// repository; GitLab leaves the keys out then.
	SSHURLToRepo  string `json:"ssh_url_to_repo,omitempty"`
	HTTPURLToRepo string `json:"http_url_to_repo,omitempty"`
}

// UserBasic is the short form of a user, such as a snippet's author.
type UserBasic struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	// PublicEmail is the address the user made public, or "".
	PublicEmail string  `json:"public_email"`
	Name        string  `json:"name"`
	State       string  `json:"state"`
	Locked      bool    `json:"locked,omitempty"`
	AvatarURL   *string `json:"avatar_url"`
	WebURL      string  `json:"web_url"`
}
