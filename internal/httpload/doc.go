// Package httpload is the client side of a load test: it sends one
// prepared HTTP/1.1 request over and over on a kept-alive connection and
// reads every answer to its end.
//
// A load test on the machine that also serves shares the server's CPU.
// net/http's client spends a large share of that CPU per request (two
// goroutines per connection, channel hand-offs, the request built and its
// headers copied every time); this client writes the same bytes each time and parses
// the answer with net/http's own reader, as wrk or h2load do for the same
// reason.
package httpload
