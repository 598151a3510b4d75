// Transparency ledger (ledger.md): RFC 6962/9162 trees and proofs with a pluggable hash (SM3 for
// elicense, SHA-256 for the published RFC 6962 vectors), C2SP signed notes and checkpoints with the
// elicense SM2 signature type, verifier keys, tiles.
import crypto from 'node:crypto';
import { sm3, concat, parsePoint, verifyFixed, hex } from './sm.mjs';
import { b64Decode, bytesEq } from './enc.mjs';

export class LedgerError extends Error { constructor(code, m) { super(m || code); this.code = code; } }
const fail = (code, m) => { throw new LedgerError(code, m); };

export const sha256 = (b) => new Uint8Array(crypto.createHash('sha256').update(b).digest());
export const leafHash = (H, entry) => H(concat(new Uint8Array([0]), entry));
export const nodeHash = (H, l, r) => H(concat(new Uint8Array([1]), l, r));

export function merkleRoot(H, leaves) { // leaves: entries (bytes)
  if (leaves.length === 0) return H(new Uint8Array(0));
  return mth(H, leaves.map((e) => leafHash(H, e)));
}
export function mth(H, hashes) {
  if (hashes.length === 1) return hashes[0];
  let k = 1; while (k * 2 < hashes.length) k *= 2;
  return nodeHash(H, mth(H, hashes.slice(0, k)), mth(H, hashes.slice(k)));
}

// RFC 9162 §2.1.3.2
export function rootFromInclusion(H, index, size, leaf, proof) {
  if (!(index < size) || size > 2 ** 62) fail('tlog.ErrInclusionProof', 'index');
  let fn = BigInt(index), sn = BigInt(size - 1), r = leaf;
  for (const p of proof) {
    if (p.length !== 32) fail('tlog.ErrInclusionProof', 'hash size');
    if (sn === 0n) fail('tlog.ErrInclusionProof', 'proof too long');
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(H, p, r);
      if ((fn & 1n) === 0n) while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else r = nodeHash(H, r, p);
    fn >>= 1n; sn >>= 1n;
  }
  if (sn !== 0n) fail('tlog.ErrInclusionProof', 'proof too short');
  return r;
}
export function verifyInclusion(H, index, size, leaf, proof, root) {
  const r = rootFromInclusion(H, index, size, leaf, proof);
  if (!bytesEq(r, root)) fail('tlog.ErrInclusionProof', 'root mismatch');
}

// RFC 9162 §2.1.4.2
export function verifyConsistency(H, size1, size2, root1, root2, proof) {
  const E = 'tlog.ErrConsistency';
  if (size1 > size2 || size2 > 2 ** 62) fail(E, 'sizes');
  if (size1 === size2) { if (proof.length || !bytesEq(root1, root2)) fail(E, 'equal sizes'); return; }
  if (size1 === 0) { if (proof.length) fail(E, 'nonempty proof from 0'); return; }
  if (!proof.length) fail(E, 'empty proof');
  for (const p of proof) if (p.length !== 32) fail(E, 'hash size');
  let path = proof.slice();
  if ((size1 & (size1 - 1)) === 0 && Number.isSafeInteger(size1) && isPow2(size1)) path = [root1, ...path];
  let fn = BigInt(size1 - 1), sn = BigInt(size2 - 1);
  while ((fn & 1n) === 1n) { fn >>= 1n; sn >>= 1n; }
  let fr = path[0], sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) fail(E, 'proof too long');
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(H, c, fr); sr = nodeHash(H, c, sr);
      if ((fn & 1n) === 0n) while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else sr = nodeHash(H, sr, c);
    fn >>= 1n; sn >>= 1n;
  }
  if (sn !== 0n || !bytesEq(fr, root1) || !bytesEq(sr, root2)) fail(E, 'mismatch');
}
function isPow2(n) { let b = BigInt(n); return b > 0n && (b & (b - 1n)) === 0n; }

// ---- verifier keys and notes ----
const ALG = new Uint8Array([0xff, ...new TextEncoder().encode('elicense/sm2-sm3')]);
export function noteKeyID(name, point65) {
  return sha256(concat(name, new Uint8Array([0x0a]), ALG, point65)).subarray(0, 4);
}
export function parseVKey(s) {
  // <name>+<hex id>+<base64>: the name has no '+', the base64 may contain '+'
  const i1 = s.indexOf('+'), i2 = i1 < 0 ? -1 : s.indexOf('+', i1 + 1);
  if (i1 < 0 || i2 < 0) fail('tlog.ErrBadKey', 'form');
  const name = s.slice(0, i1), idh = s.slice(i1 + 1, i2), b64 = s.slice(i2 + 1);
  if (!name || /\s/u.test(name) || !/^[0-9a-fA-F]{8}$/.test(idh)) fail('tlog.ErrBadKey', 'name or id');
  let raw; try { raw = b64Decode(b64); } catch { fail('tlog.ErrBadKey', 'base64'); }
  if (raw.length !== ALG.length + 65 || !bytesEq(raw.subarray(0, ALG.length), ALG)) fail('tlog.ErrBadKey', 'alg');
  const point = raw.subarray(ALG.length);
  let pub; try { pub = parsePoint(point); } catch { fail('tlog.ErrBadKey', 'point'); }
  if (point[0] !== 4) fail('tlog.ErrBadKey', 'not uncompressed');
  if (hex(noteKeyID(name, point)) !== idh.toLowerCase()) fail('tlog.ErrBadKey', 'key id');
  return { name, id: hex(noteKeyID(name, point)), pub, point };
}
export function keyFromCert(name, cert) {
  const point = concat(new Uint8Array([4]), unhex32(cert.pub.x), unhex32(cert.pub.y));
  return { name, id: hex(noteKeyID(name, point)), pub: cert.pub, point };
}
const unhex32 = (n) => new Uint8Array(Buffer.from(n.toString(16).padStart(64, '0'), 'hex'));

// Verifies a signed note with key (or keyFn(name) → key). Returns the text.
export function openNote(note, key) {
  const M = 'tlog.ErrMalformedNote';
  if (typeof note !== 'string' || Buffer.byteLength(note) > 1 << 20) fail(M, 'size');
  if (/[\u0000-\u0009\u000B-\u001F\u007F]/.test(note)) fail(M, 'control');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) fail(M, 'no blank line');
  const text = note.slice(0, split + 1);
  const sigs = note.slice(split + 2);
  if (!sigs.length || !sigs.endsWith('\n')) fail(M, 'signatures');
  const lines = sigs.slice(0, -1).split('\n');
  if (lines.length > 64) fail(M, 'too many signatures');
  let verified = false;
  for (const line of lines) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) fail(M, 'signature line');
    let raw; try { raw = b64Decode(m[2]); } catch { fail(M, 'signature base64'); }
    if (raw.length < 5) fail(M, 'signature short');
    if (m[1] !== key.name || hex(raw.subarray(0, 4)) !== key.id) continue; // unknown key
    if (!verifyFixed(key.pub, new TextEncoder().encode(text), raw.subarray(4))) fail('tlog.ErrBadSignature');
    verified = true;
  }
  if (!verified) fail('tlog.ErrNoKnownSignature');
  return text;
}
export function parseCheckpoint(text) {
  const B = 'tlog.ErrBadCheckpoint';
  if (!text.endsWith('\n')) fail(B, 'no final newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) fail(B, 'too short');
  const [origin, size, root, ...ext] = lines;
  if (!origin) fail(B, 'origin');
  if (!/^(?:0|[1-9][0-9]*)$/.test(size)) fail(B, 'size');
  let r; try { r = b64Decode(root); } catch { fail(B, 'root'); }
  if (r.length !== 32) fail(B, 'root size');
  if (ext.some((l) => !l)) fail(B, 'empty extension line');
  const n = BigInt(size); if (n > 2n ** 62n) fail(B, 'size too large');
  return { origin, size: Number(n), root: r, ext };
}
export function verifyCheckpoint(note, key, expectedOrigin) {
  const text = openNote(note, key);
  const cp = parseCheckpoint(text);
  if (expectedOrigin !== undefined && cp.origin !== expectedOrigin) fail('tlog.ErrBadCheckpoint', 'origin');
  return cp;
}

// ---- tiles (LEDGER-19) ----
export function parseTilePath(p) {
  const T = 'tlog.ErrBadTile';
  const m = /^tile\/(entries|[0-7])\/((?:x[0-9]{3}\/)*[0-9]{3})(?:\.p\/([1-9][0-9]*))?$/.exec(p);
  if (!m) fail(T, 'path');
  const n = Number(m[2].replace(/x|\//g, ''));
  const w = m[3] ? Number(m[3]) : 256;
  if (w < 1 || w > 255 && m[3]) fail(T, 'width');
  // canonical: groups as written by the spec (no superfluous leading x000 groups)
  if (m[2].startsWith('x000')) fail(T, 'non-canonical index');
  return { level: m[1] === 'entries' ? null : Number(m[1]), entries: m[1] === 'entries', n, w };
}
export function readTile(t, data) {
  const T = 'tlog.ErrBadTile';
  if (!t.entries) {
    if (data.length !== t.w * 32) fail(T, 'hash tile size');
    const hs = []; for (let i = 0; i < t.w; i++) hs.push(data.subarray(32 * i, 32 * i + 32));
    return { hashes: hs };
  }
  const es = []; let o = 0;
  while (o < data.length) {
    if (o + 2 > data.length) fail(T, 'truncated length');
    const len = (data[o] << 8) | data[o + 1]; o += 2;
    if (len < 1 || o + len > data.length) fail(T, 'truncated entry');
    es.push(data.subarray(o, o + len)); o += len;
  }
  if (es.length !== t.w) fail(T, 'entry count');
  return { entries: es };
}

// ---- ledger events (events.md, EVENT-01 … EVENT-11) ----
// Field types of EVENT-02; text bounds are in bytes of UTF-8. Each kind's fields in the order of
// events.md §3; commitments marked 'c'.
const EVT = 'ledgerevent.ErrMalformed';
const T = (name, lo, hi) => ({ name, type: 'text', lo, hi });
const AG = T('agency', 1, 64), ID = (n) => T(n, 1, 256), REASON = T('reason', 0, 256);
const TM = (name) => ({ name, type: 'time' }), DG = (name) => ({ name, type: 'digest' });
const C = (name) => ({ name, type: 'c' }), B = (name, codes) => ({ name, type: 'byte', codes });
const STATUS = [1, 2, 3], STATE = [1, 2, 3], USE = [1, 2], BY = [1, 2];
const RP = T('rp', 1, 64);
export const EVENT_KINDS = {
  1: ['issue', [TM('time'), AG, ID('id'), DG('credential_sm3'), C('operator')]],
  2: ['reissue', [TM('time'), AG, ID('id'), ID('supersedes'), DG('credential_sm3'), DG('superseded_sm3'), B('from', STATUS), REASON, C('operator')]],
  3: ['status', [TM('time'), AG, ID('id'), DG('credential_sm3'), B('from', STATUS), B('to', STATUS), REASON, C('operator')]],
  4: ['unbind', [TM('time'), AG, ID('id'), DG('credential_sm3'), B('from', STATUS), REASON, C('operator')]],
  5: ['claim', [TM('time'), AG, ID('id'), DG('credential_sm3'), C('device')]],
  6: ['seal-made', [TM('time'), AG, ID('esid'), DG('seal_sm3'), C('holder_code'), C('holder_name'), C('operator')]],
  7: ['seal-revoked', [TM('time'), AG, ID('esid'), T('reason', 1, 256), C('operator')]],
  8: ['key-rotated', [TM('time'), AG, ID('key_id'), ID('previous'), C('operator')]],
  9: ['key-compromised', [TM('time'), AG, ID('key_id'), TM('since'), DG('genuine_sm3'), C('operator')]],
  10: ['rp-registered', [TM('time'), AG, RP, DG('key_sm3'), DG('registration_sm3'), C('operator')]],
  11: ['rp-status', [TM('time'), AG, RP, B('state', STATE), REASON, C('operator')]],
  12: ['grant', [TM('time'), AG, ID('grant'), RP, T('matter', 1, 64), C('licence'), T('fields', 1, 1024), TM('not_after'), B('use', USE), DG('consent_sm3')]],
  13: ['grant-use', [TM('time'), AG, ID('grant'), RP]],
  14: ['grant-revoked', [TM('time'), AG, ID('grant'), RP, B('by', BY)]],
  15: ['counter-verified', [TM('time'), AG, ID('receipt'), T('counter', 1, 256), T('verdict', 1, 32), TM('at'), C('licence')]],
  16: ['archive-exported', [TM('time'), AG, TM('from'), TM('to'), { name: 'count', type: 'count' }, DG('manifest_sm3'), C('operator')]],
};
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// decodeEvent returns { kind, name, fields } or throws ledgerevent.ErrMalformed.
export function decodeEvent(b) {
  if (b.length < 2) fail(EVT, 'short');
  if (b[0] !== 2) fail(EVT, 'format ' + b[0]);
  const k = EVENT_KINDS[b[1]];
  if (!k) fail(EVT, 'kind ' + b[1]);
  const [name, table] = k;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 2;
  const take = (n, f) => { if (o + n > b.length) fail(EVT, 'truncated ' + f); const v = b.subarray(o, o + n); o += n; return v; };
  const fields = {};
  for (const f of table) {
    switch (f.type) {
      case 'time': take(8, f.name); fields[f.name] = dv.getBigInt64(o - 8); break;
      case 'count': take(8, f.name); fields[f.name] = dv.getBigUint64(o - 8); break;
      case 'text': {
        const n = (take(2, f.name)[0] << 8) | b[o - 1];
        if (n < f.lo || n > f.hi) fail(EVT, f.name + ' length');
        const raw = take(n, f.name);
        try { fields[f.name] = utf8.decode(raw); } catch { fail(EVT, f.name + ' not UTF-8'); }
        break;
      }
      case 'digest': fields[f.name] = take(32, f.name); break;
      case 'c': { const v = take(32, f.name); if (v.every((x) => x === 0)) fail(EVT, f.name + ' zero commitment'); fields[f.name] = v; break; }
      case 'byte': { const v = take(1, f.name)[0]; if (!f.codes.includes(v)) fail(EVT, f.name + ' code'); fields[f.name] = v; break; }
    }
  }
  if (o !== b.length) fail(EVT, 'trailing bytes');
  checkEvent(b[1], fields);
  return { kind: b[1], name, fields, commitments: table.filter((f) => f.type === 'c').map((f) => f.name) };
}

// EVENT-11, texts compared as bytes (equal strings of valid UTF-8 are equal bytes).
function checkEvent(kind, f) {
  const bad = (m) => fail(EVT, m);
  switch (kind) {
    case 2: if (f.from !== 1 && f.from !== 2) bad('reissue from'); if (f.supersedes === f.id) bad('supersedes itself'); break;
    case 3: {
      const ok = (f.from === 1 && f.to === 2) || (f.from === 2 && f.to === 1) || ((f.from === 1 || f.from === 2) && f.to === 3);
      if (!ok) bad('status change'); break;
    }
    case 4: if (!f.id.includes('#')) bad('unbind id'); if (f.from === 3) bad('unbind from revoked'); break;
    case 5: if (!f.id.includes('#')) bad('claim id'); break;
    case 8: if (f.key_id === f.previous) bad('key replaces itself'); break;
    case 9: if (f.since > f.time) bad('since after time'); break;
    case 12: {
      const seen = new Set();
      for (const key of f.fields.split(',')) {
        if (!/^[a-z0-9_]+$/.test(key)) bad('field key'); if (seen.has(key)) bad('field twice'); seen.add(key);
      }
      break;
    }
    case 16: if (!(f.from < f.to)) bad('from not before to'); break;
  }
}

// EVENT-05, EVENT-10: an opening (field, 16-byte salt, value bytes) of a decoded event.
export function verifyOpening(ev, field, salt, value) {
  if (!ev.commitments.includes(field)) fail('ledgerevent.ErrNoField', field);
  if (!bytesEq(sm3(concat(salt, value)), ev.fields[field])) fail('ledgerevent.ErrOpening', field);
}
