// GB/T 38540-2020 (version 4) seals and detached SES_Signature, checked per seals-ofd.md SEAL-07.
// The ASN.1 structures are those of GB/T 38540 §5 (SES_Seal) and §7 (SES_Signature); version 1
// (GM/T 0031) is not implemented here; time-stamps are SEAL-16's RFC 3161 tokens.
import { tlv, children, parseOne, oid, derInt, parseDerSig, parseCert, verifyCertSig, DerError } from './der.mjs';
import { sm3, verifyRS, bnFromBytes, hex } from './sm.mjs';
import { bytesEq } from './enc.mjs';

export class SealNI extends Error {}
const SM2SIG = '1.2.156.10197.1.501';
const V = (code, m) => ({ code: 'seal:' + code, detail: m });

function gtime(t) {
  if (t.tag !== 0x18) throw new DerError('time');
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(Buffer.from(t.content).toString('latin1'));
  if (!m) throw new DerError('time form');
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
}
function bitstr(t) { if (t.tag !== 0x03 || t.content[0] !== 0) throw new DerError('bit string'); return t.content.subarray(1); }
function octets(t) { if (t.tag !== 0x04) throw new DerError('octet string'); return t.content; }
// SEAL-03: DER (GM-03) or a bare 64-byte r‖s
function verifySigValue(pub, msg, v) {
  if (v.length === 64) return verifyRS(pub, msg, bnFromBytes(v.subarray(0, 32)), bnFromBytes(v.subarray(32)));
  let rs; try { rs = parseDerSig(v); } catch { return false; }
  return verifyRS(pub, msg, rs.r, rs.s);
}

function parseSignature(der) {
  const sig = parseOne(der);
  if (sig.tag !== 0x30) throw new DerError('SES_Signature');
  const [toSign, cert, alg, value, ...rest] = children(sig);
  const ts = rest.find((r) => r.tag === 0xa0 || r.tag === 0x80);
  if (rest.length > 1 || (rest.length && !ts)) throw new DerError('SES_Signature members');
  const tf = children(toSign);
  if (tf.length < 5 || tf.length > 6) throw new DerError('TBS_Sign');
  const [ver, eseal, timeInfo, dataHash, propertyInfo] = tf;
  if (derInt(ver) !== 4n) throw new SealNI('version ' + derInt(ver) + ' (only version 4 is implemented)');
  const sf = children(eseal);
  if (sf.length !== 4) throw new DerError('SES_Seal');
  const [sealInfo, makerCert, makerAlg, makerSig] = sf;
  const si = children(sealInfo);
  if (si.length < 4 || si.length > 5) throw new DerError('SES_SealInfo');
  const [header, esID, property] = si;
  const hf = children(header);
  if (hf.length !== 3 || Buffer.from(hf[0].content).toString('latin1') !== 'ES') throw new DerError('SES_Header');
  const hv = derInt(hf[1]);
  if (hv !== 4n && hv !== 5n) throw new SealNI('seal header version ' + hv);
  const pf = children(property);
  if (pf.length !== 7) throw new DerError('SES_ESPropertyInfo');
  const [ptype, pname, certListType, certList, createDate, validStart, validEnd] = pf;
  derInt(ptype);
  const clt = derInt(certListType);
  const certs = children(certList);
  if (clt !== 1n && clt !== 2n) throw new DerError('certListType ' + clt);
  // SEAL-18: certDigestList entries are CertDigestObj { type PrintableString (IA5, UTF8 read), value OCTET STRING }
  const digests = clt === 2n ? certs.map((c) => {
    const [t, v, ...more] = children(c);
    if (more.length || ![0x13, 0x16, 0x0c].includes(t.tag)) throw new DerError('CertDigestObj');
    return { type: Buffer.from(t.content).toString('utf8'), value: octets(v) };
  }) : null;
  if (timeInfo.tag !== 0x18 && timeInfo.tag !== 0x03) throw new DerError('timeInfo');
  return {
    tbsRaw: toSign.raw, signerCert: octets(cert), alg: oid(alg), value: bitstr(value), timeStamp: ts || null,
    signingTime: gtime(timeInfo), dataHash: bitstr(dataHash), esid: Buffer.from(esID.content).toString('latin1'),
    sealInfoRaw: sealInfo.raw, makerCert: octets(makerCert), makerAlg: oid(makerAlg), makerSig: bitstr(makerSig),
    certList: digests ? null : certs.map(octets), digests, validStart: gtime(validStart), validEnd: gtime(validEnd), created: gtime(createDate),
  };
}

// roots: [cert] the maker must chain to; revoked: [{esid, since}]; now: the check time, seconds;
// tsaRoots: the time-stamp authorities' roots (SEAL-16), null to check a time-stamp without trusting it;
// asOfSigning: OFD-09's first pass, at the signing time with the maker certificate trusted as it is and
// no TSA roots (roots, now and tsaRoots are then ignored).
export function verifySeal(sigDer, document, { roots, revoked = [], now, tsaRoots = roots, asOfSigning = false }) {
  let s;
  try { s = parseSignature(sigDer); } catch (e) { if (e instanceof SealNI) throw e; return V('MALFORMED', e.message); }
  // 1. algorithms
  if (s.alg !== SM2SIG || s.makerAlg !== SM2SIG || s.dataHash.length !== 32) return V('UNSUPPORTED_ALGORITHM');
  let signer, maker;
  try { signer = parseCert(s.signerCert); maker = parseCert(s.makerCert); } catch (e) { return V('MALFORMED', 'certificate: ' + e.message); }
  if (asOfSigning) { now = s.signingTime; roots = [maker]; tsaRoots = null; }
  // 2. signer's signature
  if (!verifySigValue(signer.pub, s.tbsRaw, s.value)) return V('BAD_SIGNATURE');
  // 3. signer in the seal's certList
  if (s.digests) {
    const sm3Type = (t) => t.toUpperCase() === 'SM3' || t === '1.2.156.10197.1.401';
    const h = sm3(s.signerCert);
    if (!s.digests.some((d) => sm3Type(d.type) && bytesEq(d.value, h))) {
      return V(s.digests.some((d) => !sm3Type(d.type)) ? 'UNSUPPORTED_ALGORITHM' : 'SIGNER_NOT_IN_SEAL');
    }
  } else if (!s.certList.some((c) => bytesEq(c, s.signerCert))) return V('SIGNER_NOT_IN_SEAL');
  // 4. maker's signature, then the maker's chain at the check time
  if (!verifySigValue(maker.pub, s.sealInfoRaw, s.makerSig)) return V('BAD_SEAL_SIGNATURE');
  const trusted = roots.some((r) => bytesEq(r.der, maker.der) || (maker.issuerRaw === r.subjectRaw && verifyCertSig(maker, r) && now >= r.notBefore && now <= r.notAfter && now >= maker.notBefore && now <= maker.notAfter));
  if (!trusted) return V('MAKER_UNTRUSTED');
  // 5, 6
  if (s.signingTime < s.validStart) return V('SEAL_NOT_YET_VALID');
  if (s.signingTime > s.validEnd) return V('SEAL_EXPIRED');
  if (s.signingTime < signer.notBefore) return V('SIGNER_CERT_NOT_YET_VALID');
  if (s.signingTime > signer.notAfter) return V('SIGNER_CERT_EXPIRED');
  // 7 (SEAL-13): an RFC 3161 TimeStampToken (CMS SignedData, SM3/SM2) over the signature value
  let tsTime = null;
  if (s.timeStamp) {
    const ts = verifyTimeStamp(s.timeStamp, s.value, tsaRoots);
    if (ts === null || ts.genTime < s.signingTime - 300) return V('BAD_TIMESTAMP'); // SEAL-17: 5 minutes
    if (ts.trusted) tsTime = ts.genTime; // only a trusted time-stamp counts for SEAL-15
  }
  // 8
  if (!bytesEq(sm3(document), s.dataHash)) return V('DOCUMENT_MODIFIED');
  // 9
  const rv = revoked.find((r) => r.esid === s.esid);
  if (rv && Date.parse(rv.since) / 1000 <= now && !(tsTime !== null && tsTime < Date.parse(rv.since) / 1000)) return V('SEAL_REVOKED');
  // what OFD-10 needs of a valid signature: the signer's key and the signing time
  return { ...V('VALID'), signerPub: signer.pub, signingTime: s.signingTime, esid: s.esid, tsTime };
}

// The time-stamp field of SES_Signature ([0] BIT STRING, or [0] IMPLICIT) holds a DER ContentInfo
// of SignedData whose eContent is a TSTInfo (RFC 3161) with an SM3 message imprint of the signature
// value. Returns {genTime (seconds), trusted} when it verifies (SEAL-16 items 1-4), trusted when the
// TSA chains to one of tsaRoots at genTime (item 5); null when it does not verify.
function verifyTimeStamp(ts, sigValue, tsaRoots) {
  try {
    let inner = ts.content;
    if (ts.tag === 0xa0) { const b = parseOne(inner); inner = bitstr(b); } else inner = inner.subarray(1);
    const ci = parseOne(inner);
    const [ctype, ctx] = children(ci);
    if (oid(ctype) !== '1.2.840.113549.1.7.2' && oid(ctype) !== '1.2.156.10197.6.1.4.2.2') return null;
    const sd = children(children(ctx)[0]);
    let k = 0;
    derInt(sd[k++]); k++; // version, digestAlgorithms
    const encap = children(sd[k++]);
    if (oid(encap[0]) !== '1.2.840.113549.1.9.16.1.4') return null;
    const eContent = octets(children(encap[1])[0]);
    let certs = [];
    if (sd[k].tag === 0xa0) { certs = children(sd[k]).map((c) => parseCert(c.raw)); k++; }
    if (sd[k].tag === 0xa1) k++;
    const sis = children(sd[k]);
    if (sis.length < 1) return null; // SEAL-16: the first SignerInfo is the TSA's
    const si = children(sis[0]);
    let j = 0; derInt(si[j++]);
    const sid = si[j++];
    const [, serial] = children(sid);
    const dalg = oid(children(si[j++])[0]);
    if (dalg !== '1.2.156.10197.1.401') return null;
    const attrs = si[j++]; if (attrs.tag !== 0xa0) return null;
    j++; // signature algorithm
    const sigv = octets(si[j++]);
    let md = null;
    for (const a of children(attrs)) { const [t, set] = children(a); if (oid(t) === '1.2.840.113549.1.9.4') md = octets(children(set)[0]); }
    if (!md || !bytesEq(md, sm3(eContent))) return null;
    const signed = new Uint8Array(attrs.raw); signed[0] = 0x31;
    const tsa = certs.find((c) => c.serial === hex(serial.content));
    if (!tsa) return null;
    let rs; try { rs = parseDerSig(sigv); } catch { return null; }
    if (!verifyRS(tsa.pub, signed, rs.r, rs.s)) return null;
    // TSTInfo
    const tst = children(parseOne(eContent));
    const mi = children(tst[2]);
    if (oid(children(mi[0])[0]) !== '1.2.156.10197.1.401' || !bytesEq(octets(mi[1]), sm3(sigValue))) return null;
    const genTime = gtime(tst[4]);
    if (genTime < tsa.notBefore || genTime > tsa.notAfter) return null; // SEAL-16 item 4
    // Item 5: the chain decides only trust; an authority under none of tsaRoots is untrusted, not invalid.
    // ...and only a time-stamping certificate vouches for a time: extended key usage id-kp-timeStamping alone
    const stamping = !!tsa.extKeyUsage && tsa.extKeyUsage.length === 1 && tsa.extKeyUsage[0] === '1.3.6.1.5.5.7.3.8';
    const trusted = !!tsaRoots && stamping && tsaRoots.some((r) => bytesEq(r.der, tsa.der) || (tsa.issuerRaw === r.subjectRaw && verifyCertSig(tsa, r) && genTime >= r.notBefore && genTime <= r.notAfter));
    return { genTime, trusted };
  } catch { return null; }
}
