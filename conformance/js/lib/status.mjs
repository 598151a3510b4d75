// Status list tokens and ELSD deltas (status.md).
import { parseJWS, verifyJWSSig, payloadJSON } from './jws.mjs';
import { b64urlDecode, inflateZlib, bytesEq } from './enc.mjs';
import { isInt, isObj } from './json.mjs';
import { sm3, hex, verifyFixed, concat } from './sm.mjs';

export class StatusError extends Error { constructor(code, m, value) { super(m || code); this.code = code; this.value = value; } }
const fail = (code, m) => { throw new StatusError(code, m); };
const MAX_BYTES = 16 * 1024 * 1024; // 64 Mi entries

export const entryAt = (bytes, i) => (bytes[i >> 2] >> (2 * (i & 3))) & 3; // STATUS-02

// list: {id, uri, signers:[cert], signerKid}; minVersion: BigInt; now: seconds.
// Returns {uri, bytes, entries, iat, exp, ttl, ver}; an expired list is thrown as StatusError
// ErrExpired with .value set to the list (STATUS-08).
export function verifyStatusToken(token, list, { now, minVersion = 0n }) {
  const M = 'statuslist.ErrMalformed';
  let j;
  try { j = parseJWS(token, 'statuslist+jwt'); } catch (e) { fail(M, e.message); }
  if (typeof j.header.kid !== 'string' || !j.header.kid) fail(M, 'kid');
  if ('x5c' in j.header) fail(M, 'x5c');
  if (j.header.kid !== list.signerKid) fail('statuslist.ErrUnknownKey');
  if (!list.signers.some((c) => verifyJWSSig(j, c.pub))) fail('statuslist.ErrBadSignature');
  let p; try { p = payloadJSON(j); } catch (e) { fail(M, e.message); }
  if (!isObj(p)) fail(M, 'payload');
  if (p.sub !== list.uri) { if (typeof p.sub !== 'string') fail(M, 'sub'); fail('statuslist.ErrWrongList'); }
  if (!isInt(p.iat) || p.iat < 0) fail(M, 'iat');
  if (!isInt(p.exp) || !(p.exp > p.iat)) fail(M, 'exp');
  if (p.ttl !== undefined && (!isInt(p.ttl) || !(p.ttl > 0))) fail(M, 'ttl');
  if (!isInt(p.ver) || BigInt(p.ver) < 1n || BigInt(p.ver) >= 2n ** 64n) fail(M, 'ver');
  const sl = p.status_list;
  if (!isObj(sl) || sl.bits !== 2 || typeof sl.lst !== 'string') fail(M, 'status_list');
  let z; try { z = b64urlDecode(sl.lst); } catch { fail(M, 'lst base64url'); }
  let bytes; try { bytes = inflateZlib(z, MAX_BYTES); } catch (e) { if (/too large/.test(e.message)) fail('statuslist.ErrTooLarge'); fail(M, 'lst zlib'); }
  const ver = BigInt(p.ver);
  if (ver < minVersion) fail('statuslist.ErrRollback');
  const res = { uri: p.sub, bytes, entries: bytes.length * 4, iat: Number(p.iat), exp: Number(p.exp), ttl: p.ttl ? Number(p.ttl) : 0, ver };
  if (now >= res.exp) { const e = new StatusError('statuslist.ErrExpired'); e.value = res; throw e; }
  return res;
}

// ELSD (STATUS-11..14). keys: kid (hex) → [cert]; held: the held list {uri, bytes, ver}.
export function verifyDelta(buf, { keyFor, uri, now, minVersion = 0n }) {
  const M = 'statuslist.ErrMalformed';
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = 0;
  const need = (n) => { if (o + n > buf.length) fail(M, 'truncated'); };
  need(6);
  if (Buffer.from(buf.subarray(0, 4)).toString('latin1') !== 'ELSD' || buf[4] !== 1 || buf[5] !== 2) fail(M, 'magic/format/bits');
  o = 6;
  need(1); const kl = buf[o++]; if (kl < 1) fail(M, 'kid'); need(kl);
  const kid = Buffer.from(buf.subarray(o, o + kl)).toString('latin1'); o += kl;
  need(2); const ul = dv.getUint16(o); o += 2; if (ul < 1 || ul > 2048) fail(M, 'uri len'); need(ul);
  let duri; try { duri = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(o, o + ul)); } catch { fail(M, 'uri utf8'); } o += ul;
  need(8 + 8 + 32 + 32 + 8 + 8 + 8 + 4 + 4 + 1);
  const base = dv.getBigUint64(o); o += 8;
  const ver = dv.getBigUint64(o); o += 8;
  const baseDigest = buf.subarray(o, o + 32); o += 32;
  const digest = buf.subarray(o, o + 32); o += 32;
  const entries = dv.getBigUint64(o); o += 8;
  const iat = dv.getBigUint64(o); o += 8;
  const exp = dv.getBigUint64(o); o += 8;
  const ttl = dv.getUint32(o); o += 4;
  const count = dv.getUint32(o); o += 4;
  const k = buf[o++];
  if (!(ver > base) || entries % 4n !== 0n || iat > 2n ** 63n - 1n || !(exp > iat) || BigInt(count) > entries || k > 40) fail(M, 'fixed fields');
  if (entries > 64n * 1024n * 1024n) fail('statuslist.ErrTooLarge');
  if (buf.length - o < 64) fail(M, 'no signature');
  const streamEnd = buf.length - 64;
  const signed = buf.subarray(0, streamEnd), sig = buf.subarray(streamEnd);
  const certs = keyFor(kid);
  if (!certs || !certs.length) fail('statuslist.ErrUnknownKey');
  const msg = concat('elicense/statuslist/delta/v1', new Uint8Array([0]), signed);
  if (!certs.some((c) => verifyFixed(c.pub, msg, sig))) fail('statuslist.ErrBadSignature');
  // change stream
  const stream = buf.subarray(o, streamEnd);
  let bit = 0;
  const rd = () => { if (bit >= stream.length * 8) fail(M, 'stream truncated'); const v = (stream[bit >> 3] >> (bit & 7)) & 1; bit++; return v; };
  const changes = []; let prev = -1n;
  for (let i = 0; i < count; i++) {
    let q = 0n; while (rd() === 1) { q++; if (q > 2n ** 40n) fail(M, 'gap'); }
    let low = 0n; for (let b = 0; b < k; b++) low |= BigInt(rd()) << BigInt(b);
    const gap = (q << BigInt(k)) | low;
    const idx = prev < 0n ? gap : prev + 1n + gap;
    if (idx >= entries) fail(M, 'index past entries');
    const v = rd() | (rd() << 1);
    changes.push([Number(idx), v]); prev = idx;
  }
  const usedBytes = Math.ceil(bit / 8);
  if (usedBytes !== stream.length) fail(M, 'bytes after the change stream');
  for (let b = bit; b < usedBytes * 8; b++) if ((stream[b >> 3] >> (b & 7)) & 1) fail(M, 'padding bits');
  if (duri !== uri) fail('statuslist.ErrWrongList');
  if (ver < minVersion) fail('statuslist.ErrRollback');
  const d = { kid, uri: duri, base, ver, baseDigest, digest, entries: Number(entries), iat: Number(iat), exp: Number(exp), ttl, changes };
  if (now >= d.exp) { const e = new StatusError('statuslist.ErrExpired'); e.value = d; throw e; }
  return d;
}
export function applyDelta(held, d) {
  const W = 'statuslist.ErrWrongBase';
  if (held.uri !== d.uri || held.ver !== d.base || held.entries !== d.entries || !bytesEq(sm3(held.bytes), d.baseDigest)) fail(W);
  const b = new Uint8Array(held.bytes);
  for (const [i, v] of d.changes) { b[i >> 2] = (b[i >> 2] & ~(3 << (2 * (i & 3)))) | (v << (2 * (i & 3))); }
  if (!bytesEq(sm3(b), d.digest)) fail(W, 'digest of B');
  return { uri: d.uri, bytes: b, entries: d.entries, iat: d.iat, exp: d.exp, ttl: d.ttl, ver: d.ver };
}
