// SM3 (GB/T 32905) and SM2 signature verification (GB/T 32918.2) written from the standards.
// Only verification is needed: no secret keys are handled here.

const IV = [0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e];
const rotl = (x, n) => ((x << (n & 31)) | (x >>> ((32 - (n & 31)) & 31))) >>> 0;
const P0 = (x) => (x ^ rotl(x, 9) ^ rotl(x, 17)) >>> 0;
const P1 = (x) => (x ^ rotl(x, 15) ^ rotl(x, 23)) >>> 0;

export function sm3(data) {
  const msg = toBytes(data);
  const bitLen = BigInt(msg.length) * 8n;
  const padLen = ((msg.length + 9 + 63) >> 6) << 6;
  const buf = new Uint8Array(padLen);
  buf.set(msg);
  buf[msg.length] = 0x80;
  new DataView(buf.buffer).setBigUint64(padLen - 8, bitLen);
  const V = IV.slice();
  const W = new Uint32Array(68), W1 = new Uint32Array(64);
  const dv = new DataView(buf.buffer);
  for (let off = 0; off < padLen; off += 64) {
    for (let j = 0; j < 16; j++) W[j] = dv.getUint32(off + 4 * j);
    for (let j = 16; j < 68; j++) W[j] = (P1(W[j - 16] ^ W[j - 9] ^ rotl(W[j - 3], 15)) ^ rotl(W[j - 13], 7) ^ W[j - 6]) >>> 0;
    for (let j = 0; j < 64; j++) W1[j] = (W[j] ^ W[j + 4]) >>> 0;
    let [A, B, C, D, E, F, G, H] = V;
    for (let j = 0; j < 64; j++) {
      const T = j < 16 ? 0x79cc4519 : 0x7a879d8a;
      const SS1 = rotl((rotl(A, 12) + E + rotl(T, j % 32)) >>> 0, 7);
      const SS2 = (SS1 ^ rotl(A, 12)) >>> 0;
      const FF = j < 16 ? (A ^ B ^ C) : ((A & B) | (A & C) | (B & C));
      const GG = j < 16 ? (E ^ F ^ G) : ((E & F) | (~E & G));
      const TT1 = (FF + D + SS2 + W1[j]) >>> 0;
      const TT2 = (GG + H + SS1 + W[j]) >>> 0;
      D = C; C = rotl(B, 9); B = A; A = TT1;
      H = G; G = rotl(F, 19); F = E; E = P0(TT2);
    }
    V[0] ^= A; V[1] ^= B; V[2] ^= C; V[3] ^= D; V[4] ^= E; V[5] ^= F; V[6] ^= G; V[7] ^= H;
  }
  const out = new Uint8Array(32);
  const odv = new DataView(out.buffer);
  V.forEach((v, i) => odv.setUint32(4 * i, v >>> 0));
  return out;
}

export function toBytes(d) {
  if (typeof d === 'string') return new TextEncoder().encode(d);
  if (d instanceof Uint8Array) return d;
  throw new TypeError('bytes expected');
}
export const hex = (b) => Buffer.from(b).toString('hex');
export const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
export function concat(...parts) {
  const bs = parts.map(toBytes);
  const out = new Uint8Array(bs.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bs) { out.set(b, o); o += b.length; }
  return out;
}
const bnFromBytes = (b) => (b.length ? BigInt('0x' + hex(b)) : 0n);
const bnTo32 = (n) => unhex(n.toString(16).padStart(64, '0'));

// sm2p256v1 (GB/T 32918.5)
export const CURVE = {
  p: 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFFn,
  a: 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFCn,
  b: 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93n,
  n: 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123n,
  gx: 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7n,
  gy: 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0n,
};
const { p, a, b, n } = CURVE;
const mod = (x, m = p) => { const r = x % m; return r < 0n ? r + m : r; };
function modPow(base, e, m) { let r = 1n; base = mod(base, m); while (e > 0n) { if (e & 1n) r = r * base % m; base = base * base % m; e >>= 1n; } return r; }
const inv = (x, m = p) => modPow(x, m - 2n, m);

// Jacobian coordinates
function dbl([X, Y, Z]) {
  if (Y === 0n || Z === 0n) return [0n, 1n, 0n];
  const YY = Y * Y % p, S = 4n * X * YY % p, Z2 = Z * Z % p;
  const M = mod(3n * X * X + a * Z2 % p * Z2);
  const X3 = mod(M * M - 2n * S);
  const Y3 = mod(M * (S - X3) - 8n * YY * YY);
  const Z3 = 2n * Y * Z % p;
  return [X3, Y3, Z3];
}
function add(P, Q) {
  if (P[2] === 0n) return Q;
  if (Q[2] === 0n) return P;
  const [X1, Y1, Z1] = P, [X2, Y2, Z2] = Q;
  const Z1Z1 = Z1 * Z1 % p, Z2Z2 = Z2 * Z2 % p;
  const U1 = X1 * Z2Z2 % p, U2 = X2 * Z1Z1 % p;
  const S1 = Y1 * Z2 % p * Z2Z2 % p, S2 = Y2 * Z1 % p * Z1Z1 % p;
  if (U1 === U2) return S1 === S2 ? dbl(P) : [0n, 1n, 0n];
  const H = mod(U2 - U1), R = mod(S2 - S1);
  const HH = H * H % p, HHH = H * HH % p, V = U1 * HH % p;
  const X3 = mod(R * R - HHH - 2n * V);
  const Y3 = mod(R * (V - X3) - S1 * HHH);
  const Z3 = H * Z1 % p * Z2 % p;
  return [X3, Y3, Z3];
}
function mul(k, P) {
  let R = [0n, 1n, 0n];
  for (let i = BigInt(k.toString(2).length) - 1n; i >= 0n; i--) {
    R = dbl(R);
    if ((k >> i) & 1n) R = add(R, P);
  }
  return R;
}
function affine([X, Y, Z]) {
  if (Z === 0n) return null;
  const zi = inv(Z), zi2 = zi * zi % p;
  return [X * zi2 % p, Y * zi2 % p * zi % p];
}
export const onCurve = (x, y) => x < p && y < p && mod(y * y - (x * x * x + a * x + b)) === 0n;

// Parses a 65-byte uncompressed or 33-byte compressed point; returns {x, y} or throws.
export function parsePoint(bytes) {
  bytes = toBytes(bytes);
  if (bytes.length === 65 && bytes[0] === 4) {
    const x = bnFromBytes(bytes.subarray(1, 33)), y = bnFromBytes(bytes.subarray(33));
    if (!onCurve(x, y)) throw new Error('point not on curve');
    return { x, y };
  }
  if (bytes.length === 33 && (bytes[0] === 2 || bytes[0] === 3)) {
    const x = bnFromBytes(bytes.subarray(1));
    if (x >= p) throw new Error('point not on curve');
    const rhs = mod(x * x * x + a * x + b);
    const y0 = modPow(rhs, (p + 1n) / 4n, p); // p ≡ 3 (mod 4)
    if (y0 * y0 % p !== rhs) throw new Error('point not on curve');
    const y = (y0 & 1n) === BigInt(bytes[0] & 1) ? y0 : mod(-y0);
    return { x, y };
  }
  throw new Error('bad point encoding');
}

export const DEFAULT_ID = '1234567812345678';

export function za(pub, id = DEFAULT_ID) {
  const idb = toBytes(id);
  const entl = idb.length * 8;
  return sm3(concat(new Uint8Array([(entl >> 8) & 0xff, entl & 0xff]), idb,
    bnTo32(a), bnTo32(b), bnTo32(CURVE.gx), bnTo32(CURVE.gy), bnTo32(pub.x), bnTo32(pub.y)));
}

// verifyRS: r and s as BigInt; msg bytes; pub {x,y}
export function verifyRS(pub, msg, r, s, id = DEFAULT_ID) {
  if (r < 1n || r >= n || s < 1n || s >= n) return false;
  const e = bnFromBytes(sm3(concat(za(pub, id), toBytes(msg))));
  const t = mod(r + s, n);
  if (t === 0n) return false;
  const P = affine(add(mul(s, [CURVE.gx, CURVE.gy, 1n]), mul(t, [pub.x, pub.y, 1n])));
  if (!P) return false;
  return mod(e + P[0], n) === r;
}

// Fixed form (GM-02): exactly 64 bytes r||s.
export function verifyFixed(pub, msg, sig, id = DEFAULT_ID) {
  sig = toBytes(sig);
  if (sig.length !== 64) return false;
  return verifyRS(pub, msg, bnFromBytes(sig.subarray(0, 32)), bnFromBytes(sig.subarray(32)), id);
}
export { bnFromBytes, bnTo32 };
