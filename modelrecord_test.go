package gitlabdata

import "testing"

func TestModelRecordAccessorsAreNilSafe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		rec         *ModelRecord
		wantState   ChecksumState
		wantFailure string
	}{
		{"nil record", nil, "", ""},
		{"no checksum information", &ModelRecord{}, "", ""},
		{"succeeded", &ModelRecord{ChecksumInformation: &ChecksumInformation{ChecksumState: ChecksumStateSucceeded}}, ChecksumStateSucceeded, ""},
		{"failed", &ModelRecord{ChecksumInformation: &ChecksumInformation{ChecksumState: ChecksumStateFailed, ChecksumFailure: String("File not found")}}, ChecksumStateFailed, "File not found"},
	}
	for _, tc := range tests {
		if got := tc.rec.ChecksumState(); got != tc.wantState {
			t.Errorf("%s: ChecksumState() = %q; want %q", tc.name, got, tc.wantState)
		}
		if got := tc.rec.ChecksumFailure(); got != tc.wantFailure {
			t.Errorf("%s: ChecksumFailure() = %q; want %q", tc.name, got, tc.wantFailure)
		}
	}
}
