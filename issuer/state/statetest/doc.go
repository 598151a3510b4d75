// Package statetest is the conformance suite every backend of the
// issuer's state (issuer/state) must pass, and the backend selector the
// issuer's own test suites open their data with.
//
// A backend's test calls Run with a function that opens it; the suite
// exercises it only through state.Backend and ledger.Store: state changes
// committed atomically with their ledger entries, a failing change rolled
// back alone, durability across a reopen, ordering, search and paging,
// claims, seals, audit records, tokens, the watermark and replay.
//
// The issuer's test suites (service, API, console, the server) open their
// data with Open, which picks the backend named by the environment
// variable ELICENSE_TEST_STORE: "bbolt" (the default), or a PostgreSQL
// DSN (postgres://… or postgresql://…), which gives each test a schema
// of its own, named after its directory and dropped when the test ends;
// anything else fails the test with the list of what is supported. A new
// backend adds itself to backends.
package statetest
