// Package proccpu reads the CPU time the process has used, user and
// system together. Benchmarks divide it by their operations: CPU per
// operation hardly moves with the host's load, where a rate on a shared
// two-core machine can move by a fifth between runs, and 2 cores divided
// by it is the most the machine could do.
package proccpu
