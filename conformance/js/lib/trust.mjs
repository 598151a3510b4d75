// Trust bundle (trust.md), certificate roles (certificates.md), genuine sets (TRUST-20..22).
import { parseJWS, verifyJWSSig, payloadJSON, JWSError } from './jws.mjs';
import { parseCert, verifyCertSig, DerError } from './der.mjs';
import { b64Decode, bytesEq } from './enc.mjs';
import { isInt, isObj } from './json.mjs';
import { validUSCC, validListID, validTypeCode } from './ids.mjs';
import { sm3, hex } from './sm.mjs';
import { verifyCheckpoint, keyFromCert, LedgerError } from './ledger.mjs';

export class TrustError extends Error { constructor(code, m) { super(m || code); this.code = code; } }
const fail = (code, m) => { throw new TrustError(code, m); };

// CERT-05..CERT-10: the role of a certificate, or null (no usable role). Throws on a malformed attribute.
export function roleOf(c) {
  if (c.attrError) return { role: null, malformed: c.attrError };
  const ku = c.keyUsage || {};
  const selfIssued = c.issuerRaw === c.subjectRaw;
  if (c.ca) {
    if (!selfIssued || !ku.keyCertSign || c.policy || (c.roleAttr && c.roleAttr !== 'root')) return { role: null };
    return { role: 'root' };
  }
  if (c.policy) {
    if (!ku.digitalSignature || (c.roleAttr && c.roleAttr !== 'agency')) return { role: null };
    return { role: 'agency' };
  }
  if (c.roleAttr === 'ledger') return ku.digitalSignature ? { role: 'ledger' } : { role: null };
  if (c.roleAttr === 'receipt') {
    if (!ku.keyEncipherment || ku.digitalSignature || ku.contentCommitment || ku.keyCertSign || ku.cRLSign) return { role: null };
    return { role: 'receipt' };
  }
  return { role: null };
}
// CERT-03: policy content valid
export function policyValid(c) {
  const p = c.policy;
  if (!p) return false;
  if (!validUSCC(p.code) || p.classes.length < 1 || p.classes.length > 1024) return false;
  if (new Set(p.classes).size !== p.classes.length) return false;
  return p.classes.every(validTypeCode);
}

// Chain of an end-entity cert directly under root, valid at time t (Unix seconds) (CERT-11)
// TRUST-09's instant for a bundle key: now, clamped into the certificate's own validity.
const keyInstant = (c, now) => Math.min(Math.max(now, c.notBefore), c.notAfter);
function chainsTo(c, root, t) {
  if (c.issuerRaw !== root.subjectRaw) return false;
  if (!verifyCertSig(c, root)) return false;
  return t >= root.notBefore && t <= root.notAfter && t >= c.notBefore && t <= c.notAfter;
}
const rfc3339 = (s) => {
  if (typeof s !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s)) return null;
  const t = Date.parse(s); return Number.isNaN(t) ? null : t / 1000;
};
export { rfc3339 };
const httpURL = (s) => { try { const u = new URL(s); return (u.protocol === 'http:' || u.protocol === 'https:') && !!u.host; } catch { return false; } };
const decodeCert = (b64, code) => { try { return parseCert(b64Decode(b64)); } catch (e) { fail(code, 'certificate: ' + e.message); } };

// roots: [cert]; now: Unix seconds; catalogue; previous: a verified bundle state or null.
export function verifyBundle(token, { roots, now, catalogue, previous = null }) {
  let j;
  try { j = parseJWS(token, 'elicense-trust+jwt'); } catch (e) { fail('trust.ErrMalformed', e.message); }
  const x5c = j.header.x5c;
  if (!Array.isArray(x5c) || x5c.length < 1 || x5c.length > 4 || !x5c.every((s) => typeof s === 'string')) fail('trust.ErrMalformed', 'x5c');
  const chain = x5c.map((s) => decodeCert(s, 'trust.ErrMalformed'));
  // TRUST-02
  const signer = chain[0];
  let root = roots.find((r) => bytesEq(r.der, signer.der));
  if (root) { if (!(now >= root.notBefore && now <= root.notAfter)) root = null; }
  else {
    const rr = roleOf(signer);
    if (rr.role !== 'ledger') fail('trust.ErrUntrustedSigner', 'signer role ' + rr.role);
    root = roots.find((r) => chainsTo(signer, r, now));
  }
  if (!root) fail('trust.ErrUntrustedSigner', 'no chain to a pinned root');
  // TRUST-03
  if (!verifyJWSSig(j, signer.pub)) fail('trust.ErrBadSignature');
  let b;
  try { b = payloadJSON(j); } catch (e) { fail('trust.ErrMalformed', 'payload ' + e.message); }
  if (!isObj(b)) fail('trust.ErrMalformed', 'payload');
  const M = 'trust.ErrMalformed';
  if (b.version !== 1) fail(M, 'version');
  if (!isInt(b.seq) || BigInt(b.seq) < 1n || BigInt(b.seq) >= 2n ** 64n) fail(M, 'seq');
  const iat = rfc3339(b.issued_at), nu = rfc3339(b.next_update);
  if (iat === null || nu === null || !(nu > iat)) fail(M, 'times');
  if (b.root !== root.kid) fail('trust.ErrUntrustedSigner', 'root kid');
  if (!Array.isArray(b.bundle_signer) || b.bundle_signer.length !== x5c.length || b.bundle_signer.some((s, i) => s !== x5c[i])) fail(M, 'bundle_signer');
  if (!Array.isArray(b.agencies)) fail(M, 'agencies');
  const seenCerts = new Set(), codes = new Set();
  const keys = []; // {kid, cert, state, since, agency, genuine}
  const agencies = new Map();
  for (const a of b.agencies) {
    if (!isObj(a) || !validUSCC(a.code) || codes.has(a.code)) fail(M, 'agency code');
    codes.add(a.code);
    if (typeof a.name !== 'string' || !a.name.trim()) fail(M, 'agency name');
    if (!Array.isArray(a.classes) || !a.classes.length) fail(M, 'agency classes');
    if (new Set(a.classes).size !== a.classes.length) fail(M, 'class twice');
    for (const k of a.classes) if (typeof k !== 'string' || !catalogue.byKey.has(k)) fail('trust.ErrUnknownClass', k);
    if (!Array.isArray(a.keys) || !a.keys.length) fail(M, 'agency keys');
    const ag = { code: a.code, name: a.name, classes: a.classes, keys: [] };
    for (const k of a.keys) {
      if (!isObj(k) || !['active', 'retired', 'compromised'].includes(k.state)) fail(M, 'key state');
      let since = null;
      if (k.state !== 'active') { since = rfc3339(k.since); if (since === null) fail(M, 'since'); }
      if (typeof k.cert !== 'string') fail(M, 'cert');
      const c = decodeCert(k.cert, 'trust.ErrUntrustedKey');
      if (k.kid !== c.kid) fail('trust.ErrKeyIDMismatch');
      if (seenCerts.has(c.kid)) fail(M, 'certificate twice'); seenCerts.add(c.kid);
      if (!chainsTo(c, root, keyInstant(c, now))) fail('trust.ErrUntrustedKey', 'chain');
      const rr = roleOf(c);
      if (rr.role !== 'agency' || !policyValid(c)) fail('trust.ErrUntrustedKey', 'role');
      if (c.policy.code !== a.code) fail('trust.ErrUntrustedKey', 'policy code');
      for (const cl of a.classes) {
        const tc = catalogue.byKey.get(cl).type_code;
        if (!c.policy.classes.includes(tc) && !c.policy.classes.includes(cl)) fail('trust.ErrUntrustedKey', 'policy classes');
      }
      if ('genuine' in k) {
        const g = k.genuine;
        if (k.state !== 'compromised' || !isObj(g) || !isInt(g.count) || g.count < 0 || typeof g.sm3 !== 'string' || !/^[0-9a-f]{64}$/.test(g.sm3) || !httpURL(g.url)) fail(M, 'genuine');
      }
      const key = { kid: c.kid, cert: c, state: k.state, since, agency: ag, genuine: k.genuine || null };
      ag.keys.push(key); keys.push(key);
    }
    agencies.set(a.code, ag);
  }
  // TRUST-11
  const chk = (obj, role, expiredOK) => {
    if (!isObj(obj) || typeof obj.cert !== 'string') fail(M, role + ' key');
    const c = decodeCert(obj.cert, 'trust.ErrUntrustedKey');
    if (obj.kid !== c.kid) fail('trust.ErrKeyIDMismatch');
    if (seenCerts.has(c.kid)) fail(M, 'certificate twice'); seenCerts.add(c.kid);
    if (!chainsTo(c, root, keyInstant(c, now))) fail('trust.ErrUntrustedKey', role + ' chain');
    if (roleOf(c).role !== role) fail('trust.ErrUntrustedKey', role + ' role');
    return c;
  };
  const ledgerCert = chk(b.ledger_key, 'ledger');
  const receiptCert = b.receipt_key !== undefined ? chk(b.receipt_key, 'receipt') : null;
  // TRUST-12
  if (!Array.isArray(b.status_lists)) fail(M, 'status_lists');
  const lists = new Map(), uris = new Set();
  for (const l of b.status_lists) {
    if (!isObj(l) || !validListID(l.id) || lists.has(l.id)) fail(M, 'list id');
    if (typeof l.uri !== 'string' || !httpURL(l.uri) || uris.has(l.uri)) fail(M, 'list uri');
    uris.add(l.uri);
    const ag = agencies.get(l.agency);
    if (!ag) fail(M, 'list agency');
    const ok = l.signer_kid === ledgerCert.kid || ag.keys.some((k) => k.kid === l.signer_kid && k.state !== 'compromised');
    if (!ok) fail(M, 'list signer');
    if (l.version !== undefined && (!isInt(l.version) || BigInt(l.version) < 0n)) fail(M, 'list version');
    const signers = l.signer_kid === ledgerCert.kid ? [ledgerCert] : ag.keys.filter((k) => k.kid === l.signer_kid).map((k) => k.cert);
    lists.set(l.id, { id: l.id, uri: l.uri, agency: l.agency, signerKid: l.signer_kid, signers, version: l.version === undefined ? 0n : BigInt(l.version) });
  }
  // TRUST-13
  let checkpoint = null;
  if (b.checkpoint !== undefined && b.checkpoint !== '') {
    if (typeof b.checkpoint !== 'string' || Buffer.byteLength(b.checkpoint) > 65536) fail(M, 'checkpoint');
    const origin = b.checkpoint.split('\n')[0];
    try { checkpoint = verifyCheckpoint(b.checkpoint, keyFromCert(origin, ledgerCert)); } catch (e) { if (e instanceof LedgerError) fail(e.code, e.message); throw e; }
  }
  const state = { payloadBytes: j.payloadBytes, seq: BigInt(b.seq), issuedAt: iat, nextUpdate: nu, root, keys, agencies, lists, ledgerCert, receiptCert, checkpoint, revokedSeals: b.revoked_seals || [], warnings: [] };
  // TRUST-14
  if (previous) {
    if (state.seq < previous.seq || iat < previous.issuedAt || (state.seq === previous.seq && !bytesEq(state.payloadBytes, previous.payloadBytes))) fail('trust.ErrRollback');
  }
  if (now >= nu) state.warnings.push('trust bundle past next_update');
  return state;
}

// ---- genuine sets (TRUST-20..22) ----
function uvarint(buf, o) {
  let v = 0n, shift = 0n, i = 0;
  for (;;) {
    if (o.p >= buf.length) throw new Error('truncated uvarint');
    const b = buf[o.p++]; i++;
    if (i > 10) throw new Error('uvarint too long');
    v |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) { if (b === 0 && i > 1) throw new Error('non-minimal uvarint'); break; }
    shift += 7n;
  }
  if (v >= 2n ** 64n) throw new Error('uvarint overflow');
  return v;
}
export function parseGenuineSet(doc) {
  const MAGIC = 'elicense-genuine/1\n';
  const o = { p: 0 };
  if (Buffer.from(doc.subarray(0, MAGIC.length)).toString('latin1') !== MAGIC) throw new Error('magic');
  o.p = MAGIC.length;
  if (o.p + 16 > doc.length) throw new Error('truncated');
  const kid = hex(doc.subarray(o.p, o.p + 8)); o.p += 8;
  const since = new DataView(doc.buffer, doc.byteOffset + o.p, 8).getBigUint64(0); o.p += 8;
  const count = uvarint(doc, o), nlists = uvarint(doc, o);
  const lists = new Map(); let total = 0n, prevID = null;
  for (let l = 0n; l < nlists; l++) {
    if (o.p >= doc.length) throw new Error('truncated');
    const idlen = doc[o.p++];
    if (idlen < 1 || idlen > 16 || o.p + idlen > doc.length) throw new Error('idlen');
    const id = Buffer.from(doc.subarray(o.p, o.p + idlen)).toString('latin1'); o.p += idlen;
    if (prevID !== null && !(Buffer.compare(Buffer.from(prevID, 'latin1'), Buffer.from(id, 'latin1')) < 0)) throw new Error('lists not sorted');
    prevID = id;
    const n = uvarint(doc, o); if (n < 1n) throw new Error('empty list');
    const entries = []; let idx = -1n; let prevTag = null;
    for (let e = 0n; e < n; e++) {
      const d = uvarint(doc, o);
      const index = idx < 0n ? d : idx + d;
      if (o.p + 16 > doc.length) throw new Error('truncated tag');
      const tag = doc.subarray(o.p, o.p + 16); o.p += 16;
      if (index >= 2n ** 32n) throw new Error('index');
      if (index === idx && prevTag && Buffer.compare(Buffer.from(prevTag), Buffer.from(tag)) >= 0) throw new Error('entries not sorted');
      entries.push({ index: Number(index), tag: hex(tag) }); idx = index; prevTag = tag;
    }
    total += n;
    lists.set(id, entries);
  }
  if (o.p !== doc.length) throw new Error('trailing data');
  if (total !== count) throw new Error('count');
  return { kid, since: Number(since), count: Number(count), lists };
}
// TRUST-21: returns the set, or throws TrustError('trust.ErrGenuineSet')
export function verifyGenuineSet(bundle, kid, doc) {
  const k = bundle.keys.find((x) => x.kid === kid && x.state === 'compromised' && x.genuine);
  if (!k) fail('trust.ErrGenuineSet', 'no genuine reference');
  if (hex(sm3(doc)) !== k.genuine.sm3) fail('trust.ErrGenuineSet', 'sm3');
  let gs; try { gs = parseGenuineSet(doc); } catch (e) { fail('trust.ErrGenuineSet', e.message); }
  if (gs.kid !== kid || gs.since !== k.since || gs.count !== Number(k.genuine.count)) fail('trust.ErrGenuineSet', 'header');
  return gs;
}
