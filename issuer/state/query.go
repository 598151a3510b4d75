package state

// Query selects records. Empty fields match everything; HolderCode or
// Class select an index, Agency and Status filter.
type Query struct {
	HolderCode string
	Class      string
	Agency     string
	Status     Status
	After      string // resume after this identifier (paging)
	Limit      int    // zero means 100
}
