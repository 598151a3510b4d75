// Package csvimport bulk-issues existing (paper) licences of one class from
// a CSV file through the issuer's HTTP API, the way an agency migrates its
// records: every row is validated against the class before it is sent,
// rows go out in batches, a rejected row is reported with its line, field
// and reason while the rest go on, and each row carries an idempotency key
// derived from its content, so re-running after an interruption or with a
// corrected file never issues a row twice.
//
// The package reports progress through a callback and rejected rows
// through a Reject function; drawing bars and writing report files is the
// caller's.
package csvimport
