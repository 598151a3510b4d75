// Package vlog is the counter's verification log (用证记录): every check
// appended as one JSON line to a local file, each line carrying the SM3
// hash of the previous line, so that deleting, reordering or editing a
// record breaks the chain and Verify finds it. A record holds only what an
// audit needs: time, verdict, licence identifier, class, counter ID, status
// age; never the holder's name, code or fields.
package vlog
