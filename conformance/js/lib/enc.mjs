// Encodings: Base45 (RFC 9285), strict base64/base64url (GM-07), deterministic CBOR (RFC 8949
// §4.2.1, QR-06/QR-07), ZLIB (RFC 1950) with a bound.
import zlib from 'node:zlib';

export class Malformed extends Error {}
const fail = (m) => { throw new Malformed(m); };

const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
export function base45Encode(bytes) {
  let out = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    let x = bytes[i] * 256 + bytes[i + 1];
    const c = x % 45; x = (x - c) / 45; const d = x % 45; const e = (x - d) / 45;
    out += B45[c] + B45[d] + B45[e];
  }
  if (bytes.length % 2) { const x = bytes[bytes.length - 1]; out += B45[x % 45] + B45[Math.floor(x / 45)]; }
  return out;
}
export function base45Decode(s) {
  if (s.length % 3 === 1) fail('base45 length');
  const v = [];
  for (const ch of s) { const i = B45.indexOf(ch); if (i < 0) fail('base45 char'); v.push(i); }
  const out = [];
  for (let i = 0; i < v.length; i += 3) {
    if (i + 2 < v.length) {
      const x = v[i] + v[i + 1] * 45 + v[i + 2] * 2025;
      if (x > 65535) fail('base45 group');
      out.push(x >> 8, x & 0xff);
    } else {
      const x = v[i] + v[i + 1] * 45;
      if (x > 255) fail('base45 pair');
      out.push(x);
    }
  }
  return new Uint8Array(out);
}

export function b64urlDecode(s) {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) fail('base64url');
  const b = Buffer.from(s, 'base64url');
  if (b.toString('base64url') !== s) fail('base64url non-canonical');
  return new Uint8Array(b);
}
export function b64Decode(s) {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) fail('base64');
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) fail('base64 non-canonical');
  return new Uint8Array(b);
}
export const b64url = (b) => Buffer.from(b).toString('base64url');

// ZLIB: one stream, correct checksum, nothing after it, output ≤ max bytes.
export function inflateZlib(buf, max) {
  let res;
  try {
    res = zlib.inflateSync(buf, { maxOutputLength: max + 1, info: true, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch (e) { if (e && (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError)) fail('zlib too large'); fail('zlib: ' + e.message); }
  const out = res.buffer;
  if (out.length > max) fail('zlib too large');
  // the engine's bytesWritten counts input consumed; trailing data or a truncated stream is refused
  const consumed = res.engine.bytesWritten;
  if (consumed !== buf.length) fail('zlib trailing data');
  // a truncated stream inflates under SYNC_FLUSH without error: check the stream ended by re-inflating strictly
  try { zlib.inflateSync(buf, { maxOutputLength: max + 1 }); } catch (e) { fail('zlib: ' + e.message); }
  return new Uint8Array(out);
}

// ---- CBOR ----
// Decoded values: unsigned ints → Number (if safe) else BigInt; negative ints likewise;
// bstr → Uint8Array; tstr → string; array → Array; map → Map (keys decoded values, as JSON-ish key)
export class CborMap { constructor() { this.entries = []; } get(k) { for (const [kk, v] of this.entries) if (kk === k) return v; return undefined; } has(k) { return this.entries.some(([kk]) => kk === k); } get size() { return this.entries.length; } keys() { return this.entries.map(e => e[0]); } }

// decodeItem(bytes, offset) → {value, end}; enforces QR-07 limits and well-formedness;
// deterministic-ness is checked by re-encoding (QR-06).
export function cborDecodeItem(bytes, off = 0, limits = { depth: 8, array: 256, map: 64 }) {
  const td = new TextDecoder('utf-8', { fatal: true });
  function need(n) { if (off + n > bytes.length) fail('cbor truncated'); }
  function arg(ai) {
    if (ai < 24) return ai;
    const sizes = { 24: 1, 25: 2, 26: 4, 27: 8 };
    const n = sizes[ai]; if (!n) fail('cbor indefinite or reserved');
    need(n);
    let v = 0n; for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(bytes[off + i]);
    off += n;
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  // depth: 1 for the outermost item; only arrays and maps count against the limit (QR-07)
  function item(depth) {
    need(1);
    const ib = bytes[off++]; const mt = ib >> 5, ai = ib & 31;
    if ((mt === 4 || mt === 5) && depth > limits.depth) fail('cbor too deep');
    const v = arg(ai);
    switch (mt) {
      case 0: return v;
      case 1: return typeof v === 'bigint' ? -1n - v : -1 - v;
      case 2: case 3: {
        if (typeof v === 'bigint') fail('cbor length');
        need(v); const b = bytes.slice(off, off + v); off += v;
        if (mt === 2) return b;
        try { return td.decode(b); } catch { fail('cbor utf8'); }
      }
      case 4: {
        if (typeof v === 'bigint' || v > limits.array) fail('cbor array too long');
        const a = []; for (let i = 0; i < v; i++) a.push(item(depth + 1)); return a;
      }
      case 5: {
        if (typeof v === 'bigint' || v > limits.map) fail('cbor map too large');
        const m = new CborMap();
        for (let i = 0; i < v; i++) { const k = item(depth + 1); const val = item(depth + 1); if (m.has(k) && typeof k !== 'object') fail('cbor duplicate key'); m.entries.push([k, val]); }
        return m;
      }
      case 6: fail('cbor tag');
      default: fail('cbor simple/float');
    }
  }
  const start = off;
  const value = item(1);
  return { value, end: off, raw: bytes.subarray(start, off) };
}

function head(mt, v) {
  v = BigInt(v);
  if (v < 24n) return [(mt << 5) | Number(v)];
  if (v < 256n) return [(mt << 5) | 24, Number(v)];
  if (v < 65536n) return [(mt << 5) | 25, Number(v >> 8n), Number(v & 255n)];
  if (v < 4294967296n) { const o = [(mt << 5) | 26]; for (let i = 3; i >= 0; i--) o.push(Number((v >> BigInt(8 * i)) & 255n)); return o; }
  const o = [(mt << 5) | 27]; for (let i = 7; i >= 0; i--) o.push(Number((v >> BigInt(8 * i)) & 255n)); return o;
}
export function cborEncode(x) {
  const out = [];
  function enc(x) {
    if (typeof x === 'number' || typeof x === 'bigint') {
      const b = BigInt(x);
      if (b >= 0n) out.push(...head(0, b)); else out.push(...head(1, -1n - b));
    } else if (x instanceof Uint8Array) { out.push(...head(2, x.length)); for (const c of x) out.push(c); }
    else if (typeof x === 'string') { const b = new TextEncoder().encode(x); out.push(...head(3, b.length)); for (const c of b) out.push(c); }
    else if (Array.isArray(x)) { out.push(...head(4, x.length)); x.forEach(enc); }
    else if (x instanceof CborMap) {
      const ents = x.entries.map(([k, v]) => [cborEncode(k), v]);
      ents.sort((p, q) => cmpBytes(p[0], q[0]));
      out.push(...head(5, ents.length));
      for (const [k, v] of ents) { for (const c of k) out.push(c); enc(v); }
    } else fail('cbor: cannot encode');
  }
  enc(x);
  return new Uint8Array(out);
}
export function cmpBytes(a, b) { for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i]; return a.length - b.length; }
export const bytesEq = (a, b) => a.length === b.length && cmpBytes(a, b) === 0;

// Decodes exactly one deterministic CBOR item that fills `bytes` (unless allowTrailing).
export function cborDecodeDet(bytes, { allowTrailing = false } = {}) {
  const r = cborDecodeItem(bytes, 0);
  if (!allowTrailing && r.end !== bytes.length) fail('cbor trailing bytes');
  if (!bytesEq(cborEncode(r.value), r.raw)) fail('cbor not deterministic');
  return r;
}
