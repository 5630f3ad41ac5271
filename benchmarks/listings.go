package main

// kind is one listing the server serves and every contender walks.
type kind struct {
	name, title, path string
	render            func(base string, n int) (*dataset, error)
	// moves says whether the listing's size is -moves (else -records).
	moves bool
}

// The four listings: data management records (keyset) and the storage
// moves of projects, groups and snippets (offset).
const (
	kindRecords      = "records"
	kindMoves        = "moves"
	kindGroupMoves   = "group-moves"
	kindSnippetMoves = "snippet-moves"
)

var kinds = []kind{
	{kindRecords, "data management records, keyset", recordsPath, renderRecords, false},
	{kindMoves, "project repository storage moves, offset", movesPath, renderMoves, true},
	{kindGroupMoves, "group repository storage moves, offset", groupMovesPath, renderGroupMoves, true},
	{kindSnippetMoves, "snippet repository storage moves, offset", snippetMovesPath, renderSnippetMoves, true},
}

// pick returns the listing function each contender has for k.
func (k kind) pick(c contender) listing { return c.lists[k.name] }
