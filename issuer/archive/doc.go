// Package archive exports an agency's archive package (电子档案, GB/T
// 18894, DA/T 48 practice): every licence version the agency issued or
// changed in a period, each with its sealed OFD file, its credential, its
// GB/T 36903 metadata and its ledger entries with inclusion proofs
// against one signed checkpoint, plus the trust data to check them, the
// class catalogue the files were made with (the items a file must carry
// follow from it, and the issuer's catalogue changes over the decades a
// package is kept) and a manifest of SM3 fixity values signed by the
// agency. certs/archive is the format; verifier/archive checks it.
//
// A zip, not a tar: a verifier reads the manifest first and then any
// file by name (a tar must be read through to its end before the
// manifest is known, or carry it first, which a streaming writer cannot
// know), every operating system opens a zip, and an OFD file is itself a
// zip. Entries are stored, not deflated (OFD files already are; stored
// bytes do not depend on a compressor's version), in a fixed order with
// one fixed time (the period's end), so the same period exported twice
// gives the same bytes: the OFD files are signed as of each version's
// issuance with deterministic SM2 nonces (service.ArchiveFile), the
// checkpoint is the first stored one that covers the period's events,
// and the manifest signature uses deterministic nonces too. What changes
// the bytes: a later event about a version dated before the period's end
// (none, when the clock is right), a change of the agency's keys,
// licence-face seal or catalogue, or an agency key held by an HSM (its
// nonces are its own).
//
// Export streams: it reads the ledger twice (the licences with an event
// in the period, then their events before its end) and holds only their
// identifiers, event indexes and the manifest's entries (about 100 bytes
// a file), building a few versions' files at a time, one per core.
//
// It must not: decide who may export (issuer/api and the CLI hold an
// admin token or the data directory), or record the export (the caller
// passes the result to service.RecordArchiveExport).
package archive
