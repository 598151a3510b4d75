// Minimal DER reader and X.509 certificate parser (RFC 5280) for the elicense profile
// (certificates.md). Strict: definite minimal lengths, no trailing data.
import { parsePoint, verifyRS, sm3, hex, CURVE, bnFromBytes } from './sm.mjs';

export class DerError extends Error {}
const fail = (m) => { throw new DerError(m); };

// read one TLV at off; returns {tag, cls, constructed, tagNum, start, hdrEnd, end, content}
export function tlv(buf, off = 0) {
  if (off + 2 > buf.length) fail('der truncated');
  const tag = buf[off];
  if ((tag & 0x1f) === 0x1f) fail('der high tag');
  let len = buf[off + 1], p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) fail('der length form');
    if (p + n > buf.length) fail('der truncated');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i];
    if (buf[p] === 0 || len < 128) fail('der non-minimal length');
    p += n;
  }
  if (p + len > buf.length) fail('der truncated');
  return { tag, constructed: !!(tag & 0x20), start: off, hdrEnd: p, end: p + len, content: buf.subarray(p, p + len), raw: buf.subarray(off, p + len) };
}
export function children(t) {
  const out = []; let o = 0;
  while (o < t.content.length) { const c = tlv(t.content, o); out.push(c); o = c.end; }
  return out;
}
export function parseOne(buf) { const t = tlv(buf, 0); if (t.end !== buf.length) fail('der trailing data'); return t; }

export function oid(t) {
  if (t.tag !== 0x06) fail('oid expected');
  const b = t.content; if (!b.length) fail('empty oid');
  const arcs = []; let v = 0n;
  for (let i = 0; i < b.length; i++) {
    if (v === 0n && b[i] === 0x80) fail('oid non-minimal');
    v = (v << 7n) | BigInt(b[i] & 0x7f);
    if (!(b[i] & 0x80)) { arcs.push(v); v = 0n; } else if (i === b.length - 1) fail('oid truncated');
  }
  const first = arcs[0] < 80n ? [arcs[0] / 40n, arcs[0] % 40n] : [2n, arcs[0] - 80n];
  return [...first, ...arcs.slice(1)].join('.');
}
export function derInt(t) {
  if (t.tag !== 0x02) fail('integer expected');
  const b = t.content;
  if (!b.length) fail('empty integer');
  if (b.length > 1 && ((b[0] === 0 && !(b[1] & 0x80)) || (b[0] === 0xff && (b[1] & 0x80)))) fail('non-minimal integer');
  if (b[0] & 0x80) return -1n; // negative: callers treat as invalid
  return bnFromBytes(b);
}
// GM-03: DER SEQUENCE { r, s }
export function parseDerSig(buf) {
  const t = parseOne(buf);
  if (t.tag !== 0x30) fail('sig seq');
  const c = children(t);
  if (c.length !== 2) fail('sig seq len');
  const r = derInt(c[0]), s = derInt(c[1]);
  if (r < 1n || s < 1n || r >= CURVE.n || s >= CURVE.n) fail('sig range');
  return { r, s };
}
export function verifyDer(pub, msg, sigDer) {
  let rs; try { rs = parseDerSig(sigDer); } catch { return false; }
  return verifyRS(pub, msg, rs.r, rs.s);
}

function time(t) {
  const s = Buffer.from(t.content).toString('latin1');
  let m;
  if (t.tag === 0x17 && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    const y = +m[1] < 50 ? 2000 + +m[1] : 1900 + +m[1];
    return Date.UTC(y, +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
  }
  if (t.tag === 0x18 && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
  fail('bad time');
}

const OID_SM2SIG = '1.2.156.10197.1.501';
const OID_EC = '1.2.840.10045.2.1';
const OID_SM2 = '1.2.156.10197.1.301';
const OID_SDA = '2.5.29.9', OID_BC = '2.5.29.19', OID_KU = '2.5.29.15';
export const OID_ROLE = '2.25.224523559421458694417872874496817008374';
export const OID_POLICY = '2.25.7627945231086746449576750595306452993';

function nameAttrs(t) {
  const out = [];
  for (const rdn of children(t)) for (const atv of children(rdn)) {
    const [o, v] = children(atv);
    out.push([oid(o), Buffer.from(v.content).toString('utf8')]);
  }
  return out;
}

// Parses a certificate; errors are DerError. Role/policy attributes are decoded per CERT-01..03
// into {roleAttr, policy, attrError}.
export function parseCert(der) {
  const t = parseOne(der);
  if (t.tag !== 0x30) fail('cert');
  const [tbs, alg, sigv, ...rest] = children(t);
  if (rest.length || !sigv || sigv.tag !== 0x03) fail('cert structure');
  if (oid(children(alg)[0]) !== OID_SM2SIG) fail('not SM2-with-SM3');
  if (sigv.content[0] !== 0) fail('bitstring');
  const sig = sigv.content.subarray(1);
  let f = children(tbs);
  let i = 0;
  if (f[0].tag === 0xa0) i++;
  const serial = f[i++], salg = f[i++], issuer = f[i++], validity = f[i++], subject = f[i++], spki = f[i++];
  const [nb, na] = children(validity);
  const [spkiAlg, spkiKey] = children(spki);
  const algs = children(spkiAlg).map(oid);
  if (algs[0] !== OID_EC || (algs[1] !== OID_SM2)) fail('not an SM2 key');
  const pub = parsePoint(spkiKey.content.subarray(1));
  const cert = {
    der, tbs: tbs.raw, sig, serial: hex(serial.content), issuerRaw: hex(issuer.raw), subjectRaw: hex(subject.raw),
    subject: nameAttrs(subject), notBefore: time(nb), notAfter: time(na), pub,
    kid: hex(sm3(der).subarray(0, 8)), ca: false, keyUsage: null, roleAttr: null, policy: null, attrError: null, sdaCount: 0,
    extKeyUsage: null, // the OIDs of the extended key usage extension, when present
  };
  for (; i < f.length; i++) {
    if (f[i].tag !== 0xa3) continue;
    const exts = children(children(f[i])[0]);
    for (const e of exts) {
      const ec = children(e);
      const id = oid(ec[0]);
      const critical = ec.length === 3 && ec[1].tag === 0x01 && ec[1].content[0] !== 0;
      const val = ec[ec.length - 1].content;
      if (id === OID_BC) {
        const bc = children(parseOne(val));
        cert.ca = bc.length > 0 && bc[0].tag === 0x01 && bc[0].content[0] !== 0;
      } else if (id === OID_KU) {
        const bs = parseOne(val).content;
        let bits = 0; for (let k = 1; k < bs.length; k++) bits |= bs[k] << (8 * (k - 1));
        // bit 0 (digitalSignature) is the MSB of the first content byte
        const has = (n) => !!(bs[1 + (n >> 3)] & (0x80 >> (n & 7)));
        cert.keyUsage = { digitalSignature: has(0), contentCommitment: has(1), keyEncipherment: has(2), keyCertSign: has(5), cRLSign: has(6) };
      } else if (id === '2.5.29.37') {
        cert.extKeyUsage = children(parseOne(val)).map(oid);
      } else if (id === OID_SDA) {
        cert.sdaCount++;
        try { readSDA(cert, val, critical); } catch (err) { cert.attrError = err.message; }
      }
    }
  }
  if (cert.sdaCount > 1) cert.attrError = 'more than one subject directory attributes extension';
  const o = cert.subject.find(([k]) => k === '2.5.4.10') || cert.subject.find(([k]) => k === '2.5.4.3');
  cert.agencyName = o ? o[1] : '';
  return cert;
}

function readSDA(cert, val, critical) {
  if (critical) fail('SDA critical');
  const seq = parseOne(val);
  if (seq.tag !== 0x30) fail('SDA not a sequence');
  const attrs = children(seq);
  if (!attrs.length) fail('SDA empty');
  let roleSeen = false, polSeen = false;
  for (const at of attrs) {
    const [ty, set, ...x] = children(at);
    if (x.length || !set || set.tag !== 0x31) fail('attribute');
    const vals = children(set);
    if (!vals.length) fail('attribute empty set');
    const id = oid(ty);
    if (id === OID_ROLE) {
      if (roleSeen) fail('role repeated'); roleSeen = true;
      if (vals.length !== 1 || vals[0].tag !== 0x0a || vals[0].content.length !== 1) fail('role encoding');
      const r = vals[0].content[0];
      if (r < 1 || r > 4) fail('role value');
      cert.roleAttr = ['', 'root', 'agency', 'ledger', 'receipt'][r];
    } else if (id === OID_POLICY) {
      if (polSeen) fail('policy repeated'); polSeen = true;
      if (vals.length !== 1 || vals[0].tag !== 0x30) fail('policy encoding');
      const pc = children(vals[0]);
      if (pc.length !== 2 || pc[0].tag !== 0x0c || pc[1].tag !== 0x30) fail('policy fields');
      const code = Buffer.from(pc[0].content).toString('utf8');
      const classes = children(pc[1]).map((c) => { if (c.tag !== 0x13) fail('class not printable'); return Buffer.from(c.content).toString('latin1'); });
      cert.policy = { code, classes };
    }
  }
}

export function verifyCertSig(cert, issuer) { return verifyDer(issuer.pub, cert.tbs, cert.sig); }

export function pemToDer(pem) {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) fail('pem');
  return new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
}
