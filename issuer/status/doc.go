// Package status keeps the issuer's status lists: it hands out random
// positions in each agency's lists (herd privacy: a position says nothing
// about when or to whom a licence was issued), records each licence's
// state in its position, and publishes each list as a signed IETF Token
// Status List, re-signed when it changes and before it expires. The lists
// are rebuilt from the store at start (service.Recover); they are not a
// second source of truth.
package status
