package conformance

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"elicense/certs/ledgerevent"
)

// rawEvent builds an entry byte by byte as docs/spec/events.md writes
// it, so that the kit can hold entries Encode refuses to make.
type rawEvent []byte

func newRaw(kind byte) rawEvent { return rawEvent{ledgerevent.Format, kind} }

func (r rawEvent) tm(t time.Time) rawEvent {
	return binary.BigEndian.AppendUint64(r, uint64(t.UnixNano()))
}

func (r rawEvent) tx(s string) rawEvent {
	return append(binary.BigEndian.AppendUint16(r, uint16(len(s))), s...)
}

// d appends 32 bytes of b: a digest, or a commitment when b ≠ 0.
func (r rawEvent) d(b byte) rawEvent { return append(r, bytes.Repeat([]byte{b}, 32)...) }

func (r rawEvent) b(v byte) rawEvent { return append(r, v) }

func (r rawEvent) u64(v uint64) rawEvent { return binary.BigEndian.AppendUint64(r, v) }

// eventKindVectors gives one valid entry of every kind (EVENT-08,
// EVENT-09) and one entry per constraint, code and bound that breaks
// exactly that check.
func (k *kit) eventKindVectors() error {
	const f = "ledger.json"
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	lic := "1.2.156.3005.2.11310000PDY00001XQ001." + codeMarket + ".T000001.001.X"
	cp := lic + "#0123456789abcdef"
	issue := func(agency, id string) rawEvent { return newRaw(1).tm(t0).tx(agency).tx(id).d(1).d(2) }
	status := func(from, to byte) rawEvent {
		return newRaw(3).tm(t0).tx(codeMarket).tx(lic).d(1).b(from).b(to).tx("暂扣").d(2)
	}
	unbind := func(id string, from byte) rawEvent {
		return newRaw(4).tm(t0).tx(codeMarket).tx(id).d(1).b(from).tx("遗失").d(2)
	}
	reissue := func(id string, from byte) rawEvent {
		return newRaw(2).tm(t0).tx(codeMarket).tx(id).tx(lic).d(1).d(3).b(from).tx("变更").d(2)
	}
	grant := func(fields string, use byte) rawEvent {
		return newRaw(12).tm(t0).tx(codeMarket).tx("g_01J8Z").tx("bank-a").tx("open-account").d(4).
			tx(fields).tm(t0.Add(24 * time.Hour)).b(use).d(5)
	}
	archive := func(from, to time.Time) rawEvent {
		return newRaw(16).tm(t0).tx(codeMarket).tm(from).tm(to).u64(42).d(6).d(7)
	}
	valid := []struct {
		e    rawEvent
		desc string
	}{
		{issue(codeMarket, lic), "issue: time, agency, id, credential_sm3, operator"},
		{reissue(lic+"2", 2), "reissue of a suspended version: time, agency, id, supersedes, credential_sm3, superseded_sm3, from, reason, operator"},
		{status(1, 2), "status valid → suspended: time, agency, id, credential_sm3, from, to, reason, operator"},
		{unbind(cp, 1), "unbind of a valid copy: time, agency, id (licence#tag), credential_sm3, from, reason, operator"},
		{newRaw(5).tm(t0).tx(codeMarket).tx(cp).d(1).d(8), "claim: time, agency, id (licence#tag), credential_sm3, device"},
		{newRaw(6).tm(t0).tx(codeMarket).tx("3101000000001").d(1).d(9).d(10).d(2), "seal-made: time, agency, esid, seal_sm3, holder_code, holder_name, operator"},
		{newRaw(7).tm(t0).tx(codeMarket).tx("3101000000001").tx("遗失").d(2), "seal-revoked: time, agency, esid, reason, operator"},
		{newRaw(8).tm(t0).tx(codeMarket).tx("00112233aabbccdd").tx("8899aabbccddeeff").d(2), "key-rotated: time, agency, key_id, previous, operator"},
		{newRaw(9).tm(t0).tx(codeMarket).tx("8899aabbccddeeff").tm(t0).d(11).d(2), "key-compromised with since = time: time, agency, key_id, since, genuine_sm3, operator"},
		{newRaw(10).tm(t0).tx(codeMarket).tx("bank-a").d(12).d(13).d(2), "rp-registered: time, agency, rp, key_sm3, registration_sm3, operator"},
		{newRaw(11).tm(t0).tx(codeMarket).tx("bank-a").b(3).tx("").d(2), "rp-status removed, empty reason: time, agency, rp, state, reason, operator"},
		{grant("name,holder_code,valid_until", 1), "grant: time, agency, grant, rp, matter, licence, fields, not_after, use, consent_sm3"},
		{newRaw(13).tm(t0).tx(codeMarket).tx("g_01J8Z").tx("bank-a"), "grant-use: time, agency, grant, rp"},
		{newRaw(14).tm(t0).tx(codeMarket).tx("g_01J8Z").tx("bank-a").b(2), "grant-revoked by the relying party: time, agency, grant, rp, by"},
		{newRaw(15).tm(t0).tx(codeMarket).tx("r_01J8Z").tx("窗口 3").tx("VALID").tm(t0.Add(-time.Minute)).d(4), "counter-verified: time, agency, receipt, counter, verdict, at, licence"},
		{archive(t0.AddDate(0, -1, 0), t0), "archive-exported: time, agency, from, to, count, manifest_sm3, operator"},
	}
	for _, v := range valid {
		if err := canonical(v.e); err != nil {
			return err
		}
		k.add(f, Vector{Rules: []string{"EVENT-08", "EVENT-09"}, Description: "a valid " + v.desc, Input: ledgerInput{Op: "event", Entry: v.e}, Expected: "VALID"})
	}
	var zero [ledgerevent.SaltSize]byte
	device := bytes.Repeat([]byte{2}, 33)
	dc := ledgerevent.Commit(zero, device)
	claim := append(newRaw(5).tm(t0).tx(codeMarket).tx(cp).d(1), dc[:]...)
	k.add(f, Vector{Rules: []string{"EVENT-10", "EVENT-05"}, Description: "a claim's device commitment opened (salt 16 zero bytes, value 33 bytes of 0x02)",
		Input: ledgerInput{Op: "event", Entry: claim, OpenField: "device", OpenSalt: zero[:], OpenValue: string(device)}, Expected: "VALID"})
	k.add(f, Vector{Rules: []string{"EVENT-10"}, Description: "the same claim, opened as operator (a claim has no operator)",
		Input: ledgerInput{Op: "event", Entry: claim, OpenField: "operator", OpenSalt: zero[:], OpenValue: string(device)}, Expected: "reject:ledgerevent.ErrNoField"})
	bad := []struct {
		e    rawEvent
		desc string
		rule string
	}{
		{status(1, 1), "status valid → valid (no such change)", "EVENT-11"},
		{status(3, 1), "status revoked → valid (no such change)", "EVENT-11"},
		{reissue(lic+"2", 3), "reissue of a revoked version", "EVENT-11"},
		{reissue(lic, 1), "reissue whose id is the version it supersedes", "EVENT-11"},
		{unbind(lic, 1), "unbind whose id is not a copy (no #)", "EVENT-11"},
		{unbind(cp, 3), "unbind of a copy already revoked", "EVENT-11"},
		{newRaw(5).tm(t0).tx(codeMarket).tx(lic).d(1).d(8), "claim whose id is not a copy (no #)", "EVENT-11"},
		{newRaw(8).tm(t0).tx(codeMarket).tx("00112233aabbccdd").tx("00112233aabbccdd").d(2), "key-rotated whose key replaces itself", "EVENT-11"},
		{newRaw(9).tm(t0).tx(codeMarket).tx("8899aabbccddeeff").tm(t0.Add(time.Nanosecond)).d(11).d(2), "key-compromised since one nanosecond after its time", "EVENT-11"},
		{grant("name,Holder_code", 1), "grant with an upper-case field key", "EVENT-11"},
		{grant("name,,valid_until", 1), "grant with an empty field key", "EVENT-11"},
		{grant("name,valid_until,name", 1), "grant with a field key twice", "EVENT-11"},
		{archive(t0, t0), "archive-exported with from = to", "EVENT-11"},
		{grant("name", 3), "grant with use 3", "EVENT-02"},
		{newRaw(11).tm(t0).tx(codeMarket).tx("bank-a").b(0).tx("").d(2), "rp-status with state 0", "EVENT-02"},
		{newRaw(14).tm(t0).tx(codeMarket).tx("g_01J8Z").tx("bank-a").b(3), "grant-revoked with by 3", "EVENT-02"},
		{status(4, 3), "status with from 4", "EVENT-02"},
		{issue(strings.Repeat("9", 65), lic), "issue with a 65-byte agency", "EVENT-02"},
		{issue("", lic), "issue with an empty agency", "EVENT-02"},
		{issue(codeMarket, "1.2.156\xff"), "issue whose id is not UTF-8", "EVENT-02"},
		{issue(codeMarket, "1.2.156\xed\xa0\x80"), "issue whose id holds an encoded surrogate (not UTF-8)", "EVENT-02"},
		{newRaw(7).tm(t0).tx(codeMarket).tx("3101000000001").tx("").d(2), "seal-revoked with an empty reason", "EVENT-09"},
		{newRaw(1).tm(t0).tx(codeMarket).tx(lic).d(1).d(0), "issue with an all-zero operator commitment", "EVENT-03"},
		{newRaw(13).tm(t0).tx(codeMarket).tx("g_01J8Z").tx("bank-a").b(1), "grant-use with a by byte (grant-revoked's fields)", "EVENT-09"},
		{newRaw(17).tm(t0).tx(codeMarket), "kind 17", "EVENT-08"},
		{newRaw(0).tm(t0).tx(codeMarket), "kind 0", "EVENT-08"},
		{append(newRaw(1).tm(t0).tx(codeMarket), 0x01, 0x00), "issue whose id length runs past the entry", "EVENT-02"},
	}
	for _, v := range bad {
		if canonical(v.e) == nil {
			return fmt.Errorf("conformance: event vector %q decodes", v.desc)
		}
		k.add(f, Vector{Rules: []string{v.rule}, Description: "an invalid " + v.desc, Input: ledgerInput{Op: "event", Entry: v.e}, Expected: "reject:ledgerevent.ErrMalformed"})
	}
	return nil
}

// canonical checks that b decodes and encodes back to itself.
func canonical(b []byte) error {
	e, err := ledgerevent.Decode(b)
	if err != nil {
		return err
	}
	again, err := ledgerevent.Encode(e)
	if err != nil {
		return err
	}
	if !bytes.Equal(again, b) {
		return fmt.Errorf("conformance: event %x re-encodes as %x", b, again)
	}
	return nil
}
