// Package loadtest drives an issuer's API with many concurrent clients and
// measures what it acknowledged: the rate of durable issuances, latency
// percentiles, answers by status and the first failure. `elicense bench`
// and the API's benchmark use it; every request it sends issues real
// licences, so it is for test and staging servers only.
package loadtest
