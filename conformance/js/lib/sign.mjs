// Type="Sign" OFD signatures (seals-ofd.md OFD-05): a GM/T 0010 SignedData over SM3(Signature.xml),
// checked in OFD-05's order. Read with this verifier's own DER reader; RFC 5652 (CMS) and PKCS #7
// give the SignedData structure, GM/T 0010 its object identifiers.
import { children, parseOne, oid, derInt, parseDerSig, parseCert, verifyCertSig } from './der.mjs';
import { sm3, verifyRS, bnFromBytes, hex } from './sm.mjs';
import { bytesEq } from './enc.mjs';

const SIGNED = ['1.2.156.10197.6.1.4.2.2', '1.2.840.113549.1.7.2']; // GM/T 0010; PKCS #7 also read
const SM3 = '1.2.156.10197.1.401';
const SM2SIGS = ['1.2.156.10197.1.501', '1.2.156.10197.1.301.1', '1.2.156.10197.1.301'];
const MESSAGE_DIGEST = '1.2.840.113549.1.9.4', SIGNING_TIME = '1.2.840.113549.1.9.5';

class Form extends Error {}
const form = (m) => { throw new Form(m); };

// UTCTime (YYMMDDhhmmssZ, RFC 5280's 1950–2049 window) or GeneralizedTime (YYYYMMDDhhmmss[.f]Z), seconds
function derTime(t) {
  const s = Buffer.from(t.content).toString('latin1');
  let m;
  if (t.tag === 0x17 && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    const y = +m[1] < 50 ? 2000 + +m[1] : 1900 + +m[1];
    return Date.UTC(y, +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
  }
  if (t.tag === 0x18 && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?Z$/.exec(s))) {
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
  }
  form('signingTime');
}

// Signature.xml's SignatureDateTime: GeneralizedTime text, or "YYYY-MM-DD hh:mm:ss" in UTC+8
export function signatureDateTime(text) {
  const s = (text || '').trim();
  let m;
  if ((m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?Z$/.exec(s))) return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
  if ((m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(s))) return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000 - 8 * 3600;
  return null;
}

// OFD-05 step 1: the form. Returns what steps 2 … 6 need.
function parseSignedData(der) {
  const ci = parseOne(der);
  if (ci.tag !== 0x30) form('ContentInfo');
  const [ct, wrapped, ...more] = children(ci);
  if (more.length || !wrapped || wrapped.tag !== 0xa0) form('ContentInfo members');
  if (!SIGNED.includes(oid(ct))) form('content type ' + oid(ct));
  const inner = children(wrapped);
  if (inner.length !== 1 || inner[0].tag !== 0x30) form('[0] SignedData');
  const f = children(inner[0]);
  let k = 0;
  derInt(f[k++]);
  if (!f[k] || f[k++].tag !== 0x31) form('digestAlgorithms');
  if (!f[k] || f[k++].tag !== 0x30) form('contentInfo');
  let certs = [];
  if (f[k] && f[k].tag === 0xa0) certs = children(f[k++]).map((c) => c.raw);
  if (f[k] && f[k].tag === 0xa1) k++;
  const sis = f[k++];
  if (!sis || sis.tag !== 0x31 || k !== f.length) form('signerInfos');
  const list = children(sis);
  if (list.length !== 1) form(list.length + ' SignerInfos: OFD-05 wants one signer');
  const si = children(list[0]);
  let j = 0;
  derInt(si[j++]);
  const ias = si[j++];
  if (!ias || ias.tag !== 0x30) form('issuerAndSerialNumber');
  const [issuer, serial, ...x] = children(ias);
  if (x.length || !serial || issuer.tag !== 0x30 || serial.tag !== 0x02) form('issuerAndSerialNumber');
  const digestAlg = oid(children(si[j++])[0]);
  let attrs = null;
  if (si[j] && si[j].tag === 0xa0) attrs = si[j++];
  const sigAlg = oid(children(si[j++])[0]);
  const value = si[j++];
  if (!value || value.tag !== 0x04) form('signature value');
  if (si[j] && si[j].tag === 0xa1) j++;
  if (j !== si.length) form('SignerInfo trailing data');
  let messageDigest = null, signingTime = null;
  if (attrs) {
    const seen = new Set();
    for (const a of children(attrs)) {
      const [t, set, ...y] = children(a);
      if (y.length || !set || set.tag !== 0x31) form('Attribute');
      const id = oid(t);
      if (seen.has(id)) form('attribute ' + id + ' twice'); seen.add(id);
      const vals = children(set);
      if (id === MESSAGE_DIGEST) {
        if (vals.length !== 1 || vals[0].tag !== 0x04) form('messageDigest');
        messageDigest = vals[0].content;
      } else if (id === SIGNING_TIME) {
        if (vals.length !== 1) form('signingTime');
        signingTime = derTime(vals[0]);
      }
    }
    if (!messageDigest) form('signed attributes without messageDigest');
  }
  // the signer certificate: the one whose issuer and serial number the SignerInfo names
  let signer = null;
  for (const c of certs) {
    let pc; try { pc = parseCert(c); } catch { continue; }
    if (pc.issuerRaw === hex(issuer.raw) && pc.serial === hex(serial.content)) { signer = pc; break; }
  }
  if (!signer) form('no certificate matches the SignerInfo\'s issuer and serial number');
  return { digestAlg, sigAlg, attrs, messageDigest, signingTime, value: value.content, signer };
}

// The SM2 signature value: DER (GM-03) or a bare 64-byte r‖s
function sigOK(pub, msg, v) {
  if (v.length === 64) return verifyRS(pub, msg, bnFromBytes(v.subarray(0, 32)), bnFromBytes(v.subarray(32)));
  let rs; try { rs = parseDerSig(v); } catch { return false; }
  return verifyRS(pub, msg, rs.r, rs.s);
}

// sv: SignedValue.dat; sxml: the Signature.xml bytes; dateTime: its SignatureDateTime text.
// roots: certificates the signer may chain to (or be, byte for byte); now: the check time, seconds.
// Returns {verdict, detail, signerPub, signingTime}.
export function verifySign(sv, sxml, dateTime, { roots, now }) {
  const R = (verdict, detail) => ({ verdict, detail });
  let s;
  try { s = parseSignedData(sv); } catch (e) { return R('MALFORMED', e.message); }
  // 2. algorithms
  if (s.digestAlg !== SM3 || !SM2SIGS.includes(s.sigAlg)) return R('MALFORMED', `algorithms ${s.digestAlg} / ${s.sigAlg}`);
  // 3. messageDigest = SM3(Signature.xml); 4. the signature over the attributes as a SET (0x31)
  let msg = sxml; // no signed attributes: the signature is over Signature.xml itself (a MAY)
  if (s.attrs) {
    if (!bytesEq(s.messageDigest, sm3(sxml))) return R('SIGNATURE_INVALID', 'messageDigest is not SM3 of Signature.xml');
    msg = new Uint8Array(s.attrs.raw); msg[0] = 0x31;
  }
  if (!sigOK(s.signer.pub, msg, s.value)) return R('SIGNATURE_INVALID', 'the SM2 signature does not verify');
  // 5. the signing time within the signer certificate's validity
  const at = s.signingTime ?? signatureDateTime(dateTime);
  if (at !== null && (at < s.signer.notBefore || at > s.signer.notAfter)) return R('EXPIRED', 'signed outside the signer certificate\'s validity');
  // 6. trusted at the check time; EXPIRED if only as of signing
  const chains = (t) => roots.some((r) => bytesEq(r.der, s.signer.der) ? t >= s.signer.notBefore && t <= s.signer.notAfter :
    s.signer.issuerRaw === r.subjectRaw && verifyCertSig(s.signer, r) && t >= r.notBefore && t <= r.notAfter && t >= s.signer.notBefore && t <= s.signer.notAfter);
  const out = { signerPub: s.signer.pub, signingTime: at };
  if (chains(now)) return { ...R('VALID'), ...out };
  if (at !== null && chains(at)) return { ...R('EXPIRED', 'the signer certificate was trusted at the signing time only'), ...out };
  return { ...R('UNTRUSTED_SIGNER', 'the signer certificate does not chain to the roots'), ...out };
}
