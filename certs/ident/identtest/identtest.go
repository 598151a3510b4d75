// Package identtest makes valid identifiers for tests and benchmarks.
package identtest

import (
	"fmt"

	"elicense/certs/ident"
)

// USCC returns a valid 统一社会信用代码 of a Shanghai company for n (0 ≤ n
// < 10⁶), distinct for each n, for tests and benchmarks that need many
// holders. Codes grow with n; Scatter(i) as n gives them in no order, as
// real holders come.
func USCC(n int) string {
	body := fmt.Sprintf("MA%06d", n%1_000_000)
	oc, err := ident.OrgCodeCheckChar(body)
	if err != nil {
		panic(err)
	}
	first17 := "91310115" + body + string(oc)
	cc, err := ident.USCCCheckChar(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(cc)
}

// Scatter maps 0, 1, 2 … to distinct numbers below 10⁶ in no visible
// order (a multiplicative permutation: 7919 is prime to 10⁶).
func Scatter(i int) int { return int(uint64(i) * 7919 % 1_000_000) }
