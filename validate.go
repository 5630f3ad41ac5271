package gitlabdata

import (
	"context"
	"fmt"
)

// This file holds the checks that refuse bad input before any request is
// sent; each failure wraps ErrInvalidArgument and says what to pass instead.

// checkContext refuses a nil context, which would otherwise panic deep in
// the standard library.
func checkContext(ctx context.Context) error {
	if ctx == nil {
		return fmt.Errorf("%w: context is nil; use context.Background()", ErrInvalidArgument)
	}
	return nil
}

// validateChecksumFilter refuses a state GitLab would answer 400 for.
func validateChecksumFilter(state ChecksumState, allowed []ChecksumState) error {
	if state == "" {
		return nil
	}
	for _, ok := range allowed {
		if state == ok {
			return nil
		}
	}
	return fmt.Errorf("%w: checksum state %q is not accepted here; use one of %v", ErrInvalidArgument, string(state), allowed)
}

// validateIdentifiers refuses what GitLab answers 400 for: invalid ids, and
// integer ids mixed with composite ones.
func validateIdentifiers(ids []RecordID) error {
	composite := 0
	for _, id := range ids {
		if err := id.validate(); err != nil {
			return err
		}
		if id.IsComposite() {
			composite++
		}
	}
	if composite > 0 && composite < len(ids) {
		return fmt.Errorf("%w: identifiers mix integer and composite ids; GitLab answers 400 for that", ErrInvalidArgument)
	}
	return nil
}

func validatePaging(page, perPage int) error {
	if page < 0 {
		return fmt.Errorf("%w: page %d is negative", ErrInvalidArgument, page)
	}
	if perPage < 0 {
		return fmt.Errorf("%w: per page %d is negative", ErrInvalidArgument, perPage)
	}
	return nil
}

func validateDestination(dest *string) error {
	if dest != nil && *dest == "" {
		return fmt.Errorf("%w: destination storage name is empty; leave it nil to let GitLab choose", ErrInvalidArgument)
	}
	return nil
}
