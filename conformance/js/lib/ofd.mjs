// OFD (GB/T 33190) packages with Seal and Sign signatures, per seals-ofd.md OFD-01 .. OFD-07 and
// OFD-09, and the licence a licence file carries (OFD-10).
// A small zip reader (PKWARE APPNOTE: end of central directory, central and local headers; stored
// and deflated entries) and a strict, small XML reader are written here.
import zlib from 'node:zlib';
import { sm3 } from './sm.mjs';
import { bytesEq } from './enc.mjs';
import { verifySeal, SealNI } from './seals.mjs';
import { verifySign } from './sign.mjs';

export class OfdNI extends Error {}
class Bad extends Error {}
const bad = (m) => { throw new Bad(m); };
const NS = 'http://www.ofdspec.org/2016', NS_OLD = 'http://www.ofdspec.org';

// ---- zip (OFD-01) ----
export function readZip(buf) {
  const b = Buffer.from(buf);
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65535); i--) if (b.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) bad('not a zip');
  const n = b.readUInt16LE(eocd + 10), cdSize = b.readUInt32LE(eocd + 12), cdOff = b.readUInt32LE(eocd + 16);
  if (n > 4096) bad('too many entries');
  if (cdOff + cdSize > eocd) bad('central directory');
  const files = new Map(), folded = new Set();
  let p = cdOff, total = 0;
  for (let k = 0; k < n; k++) {
    if (p + 46 > b.length || b.readUInt32LE(p) !== 0x02014b50) bad('central header');
    const flags = b.readUInt16LE(p + 8), method = b.readUInt16LE(p + 10);
    const csize = b.readUInt32LE(p + 20), usize = b.readUInt32LE(p + 24);
    const nl = b.readUInt16LE(p + 28), xl = b.readUInt16LE(p + 30), cl = b.readUInt16LE(p + 32);
    const lho = b.readUInt32LE(p + 42);
    let name;
    try { name = new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(p + 46, p + 46 + nl)); } catch { bad('name not UTF-8'); }
    p += 46 + nl + xl + cl;
    if (flags & 1) bad('encrypted');
    if (method !== 0 && method !== 8) bad('method');
    if (name.endsWith('/')) continue; // directory
    if (!name || name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\\') || /[\u0000-\u001F\u007F]/.test(name) || name.split('/').some((s) => s === '' || s === '.' || s === '..')) bad('entry name ' + name);
    const f = name.toLowerCase();
    if (files.has(name) || folded.has(f)) bad('entry repeated'); folded.add(f);
    if (usize > 64 << 20) bad('entry too large');
    if (lho + 30 > b.length || b.readUInt32LE(lho) !== 0x04034b50) bad('local header');
    const ds = lho + 30 + b.readUInt16LE(lho + 26) + b.readUInt16LE(lho + 28);
    if (ds + csize > b.length) bad('truncated entry');
    const raw = b.subarray(ds, ds + csize);
    let data;
    if (method === 0) data = raw;
    else { try { data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(usize, 1) }); } catch { bad('inflate'); } }
    if (data.length !== usize) bad('size');
    if (usize > 1 << 20 && usize / Math.max(csize, 1) > 200) bad('compression ratio');
    if (zlib.crc32 && zlib.crc32(data) !== b.readUInt32LE(p - (46 + nl + xl + cl) + 16)) bad('crc');
    total += usize; if (total > 256 << 20) bad('package too large');
    files.set(name, new Uint8Array(data));
  }
  return files;
}

// ---- XML (OFD-02) ----
export function parseXML(bytes) {
  let s;
  try { s = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch { bad('XML not UTF-8'); }
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
  let i = 0;
  const decl = /^<\?xml\s[^?]*\?>/.exec(s);
  if (decl) { if (/encoding\s*=\s*["'](?!utf-8["'])/i.test(decl[0])) bad('encoding'); i = decl[0].length; }
  const ent = (t) => t.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);|&/g, (m, e) => {
    if (!e) bad('bare &');
    return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[e] ?? String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
  const skipMisc = () => {
    for (;;) {
      const m = /^(\s+|<!--[\s\S]*?-->)/.exec(s.slice(i));
      if (m) { i += m[0].length; continue; }
      if (s.startsWith('<!', i)) bad('DTD or declaration');
      if (s.startsWith('<?', i)) bad('processing instruction');
      return;
    }
  };
  function element(depth, nsScope) {
    if (depth > 64) bad('too deep');
    const m = /^<([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)/.exec(s.slice(i));
    if (!m) bad('element');
    i += m[0].length;
    const qname = m[1];
    const rawAttrs = [];
    for (;;) {
      const a = /^\s+([A-Za-z_][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(s.slice(i));
      if (!a) break;
      i += a[0].length;
      rawAttrs.push([a[1], ent(a[3] ?? a[4])]);
    }
    const close = /^\s*(\/?)>/.exec(s.slice(i));
    if (!close) bad('tag');
    i += close[0].length;
    const scope = Object.create(nsScope);
    const attrs = {};
    for (const [k, v] of rawAttrs) {
      if (k === 'xmlns') scope[''] = v; else if (k.startsWith('xmlns:')) scope[k.slice(6)] = v;
    }
    for (const [k, v] of rawAttrs) {
      if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
      if (k.includes(':')) bad('qualified attribute');
      if (k in attrs) bad('attribute repeated');
      if (v.length > 65536) bad('attribute too long');
      attrs[k] = v;
    }
    const [pfx, local] = qname.includes(':') ? qname.split(':') : ['', qname];
    const ns = scope[pfx];
    if (ns !== NS && ns !== NS_OLD) bad('element not in the OFD namespace: ' + qname);
    const el = { name: local, attrs, children: [], text: '' };
    if (close[1]) return el;
    for (;;) {
      const t = /^[^<]*/.exec(s.slice(i))[0];
      el.text += ent(t); i += t.length;
      if (s.startsWith('</', i)) {
        const e = /^<\/([^\s>]+)\s*>/.exec(s.slice(i));
        if (!e || e[1] !== qname) bad('end tag');
        i += e[0].length; return el;
      }
      if (s.startsWith('<!--', i)) { const j = s.indexOf('-->', i); if (j < 0) bad('comment'); i = j + 3; continue; }
      if (s.startsWith('<![CDATA[', i)) { const j = s.indexOf(']]>', i); if (j < 0) bad('cdata'); el.text += s.slice(i + 9, j); i = j + 3; continue; }
      if (s.startsWith('<?', i) || s.startsWith('<!', i)) bad('PI or declaration in content');
      el.children.push(element(depth + 1, scope));
    }
  }
  skipMisc();
  const root = element(1, {});
  skipMisc();
  if (i !== s.length) bad('content after the root');
  return root;
}
const kids = (el, name) => el.children.filter((c) => c.name === name);
const kid = (el, name) => kids(el, name)[0];

// ST_Loc (OFD-02)
function resolve(from, loc) {
  loc = loc.trim();
  const base = loc.startsWith('/') ? [] : from.split('/').slice(0, -1);
  for (const seg of loc.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') { if (!base.length) bad('path above the root'); base.pop(); } else base.push(seg);
  }
  return base.join('/');
}

// OFD-06's order, with the document's own verdicts after UNTRUSTED_SIGNER: OFD-10's licence verdicts,
// PARTIALLY_PROTECTED (OFD-07), NOT_SIGNED, VALID.
const ORDER = ['MALFORMED', 'SIGNATURE_INVALID', 'DOCUMENT_MODIFIED', 'REVOKED', 'EXPIRED', 'UNTRUSTED_MAKER', 'UNTRUSTED_SIGNER',
  'LICENCE_NOT_GENUINE', 'LICENCE_NOT_VALID', 'LICENCE_UNCHECKED', 'PARTIALLY_PROTECTED', 'NOT_SIGNED', 'VALID'];
const worst = (a, b) => (ORDER.indexOf(a) <= ORDER.indexOf(b) ? a : b);
// seal verdict → OFD verdict (OFD-09's table)
const SEAL2OFD = {
  VALID: 'VALID', MALFORMED: 'MALFORMED', UNSUPPORTED_ALGORITHM: 'MALFORMED', BAD_SIGNATURE: 'SIGNATURE_INVALID',
  BAD_SEAL_SIGNATURE: 'SIGNATURE_INVALID', DOCUMENT_MODIFIED: 'SIGNATURE_INVALID', BAD_TIMESTAMP: 'SIGNATURE_INVALID',
  SIGNER_NOT_IN_SEAL: 'SIGNATURE_INVALID', MAKER_UNTRUSTED: 'UNTRUSTED_MAKER', SEAL_NOT_YET_VALID: 'EXPIRED', SEAL_EXPIRED: 'EXPIRED',
  SIGNER_CERT_NOT_YET_VALID: 'EXPIRED', SIGNER_CERT_EXPIRED: 'EXPIRED', SEAL_REVOKED: 'REVOKED',
};

// OFD-09: a Seal signature is judged first as of its signing time (integrity), then with the roots at
// the check time; a maker untrusted only now (its certificate expired since) makes it EXPIRED.
function sealTwice(sv, sxml, { roots, revoked, now }) {
  const first = verifySeal(sv, sxml, { revoked, asOfSigning: true });
  if (first.code !== 'seal:VALID') return { ...first, verdict: SEAL2OFD[first.code.slice(5)] || 'MALFORMED' };
  const second = verifySeal(sv, sxml, { roots, revoked, now });
  if (second.code !== 'seal:MAKER_UNTRUSTED') return { ...second, verdict: SEAL2OFD[second.code.slice(5)] || 'MALFORMED' };
  // OFD-10: such an EXPIRED seal still makes a licence file its agency's when it verifies fully with the
  // roots as of its signing time and is not revoked now (SEAL-15, a trusted time-stamp counting)
  const then = verifySeal(sv, sxml, { roots, revoked, now: first.signingTime });
  if (then.code !== 'seal:VALID') return { ...second, verdict: 'EXPIRED' };
  const rv = revoked.find((r) => r.esid === then.esid);
  const since = rv ? Date.parse(rv.since) / 1000 : null;
  const revokedNow = since !== null && since <= now && !(then.tsTime !== null && then.tsTime < since);
  return { ...second, verdict: 'EXPIRED', sealedValid: !revokedNow, signerPub: then.signerPub, signingTime: then.signingTime };
}

// licence: null (OFD-06's verdicts only), or {verifyToken(text) → QR result, bundle} to judge the
// licence a licence file carries (OFD-10).
export function verifyOFD(pkg, { roots, now, revoked = [], licence = null }) {
  const R = (c, d) => ({ code: 'ofd:' + c, detail: d });
  try {
    const files = readZip(pkg);
    const get = (p) => files.get(p);
    if (!get('OFD.xml')) bad('no OFD.xml');
    const ofd = parseXML(get('OFD.xml'));
    if (ofd.name !== 'OFD') bad('root element');
    const sigLists = [];
    for (const body of kids(ofd, 'DocBody')) {
      const sl = kid(body, 'Signatures');
      if (sl && sl.text.trim()) sigLists.push(resolve('OFD.xml', sl.text));
    }
    let verdict = null, sigDetail;
    const sigs = []; // {type, verdict, refs: Set of listed paths, ok: Set of those passing OFD-03, signerPub, signingTime}
    for (const sp of sigLists) {
      if (!get(sp)) continue;
      const sx = parseXML(get(sp));
      for (const sig of kids(sx, 'Signature')) {
        const loc = resolve(sp, sig.attrs.BaseLoc || '');
        const sxml = get(loc);
        if (!sxml) { verdict = worst(verdict || 'VALID', 'MALFORMED'); continue; }
        const sdoc = parseXML(sxml);
        const info = kid(sdoc, 'SignedInfo');
        if (!info) bad('SignedInfo');
        const refs = kid(info, 'References');
        if (!refs) bad('References');
        const cm = refs.attrs.CheckMethod;
        let v = 'VALID';
        if (cm !== '1.2.156.10197.1.401' && cm !== 'SM3') bad('CheckMethod');
        const seen = new Set(), ok = new Set();
        for (const r of kids(refs, 'Reference')) {
          const fp = resolve(loc, r.attrs.FileRef || '');
          if (seen.has(fp)) bad('reference repeated'); seen.add(fp);
          const f = get(fp);
          const cv = Buffer.from(kid(r, 'CheckValue')?.text.trim() || '', 'base64');
          if (!f || !bytesEq(sm3(f), cv)) v = worst(v, 'DOCUMENT_MODIFIED'); else ok.add(fp);
        }
        const type = sig.attrs.Type || 'Seal';
        const svLoc = kid(sdoc, 'SignedValue');
        const sv = svLoc && get(resolve(loc, svLoc.text));
        if (!sv) bad('SignedValue');
        let sr;
        if (type === 'Seal') {
          try { sr = sealTwice(sv, sxml, { roots, revoked, now }); } catch (e) { if (e instanceof SealNI) throw new OfdNI(e.message); throw e; }
          v = worst(v, sr.verdict);
        } else if (type === 'Sign') {
          // OFD-05; a reference failure ranks after MALFORMED and SIGNATURE_INVALID (worst does that)
          sr = verifySign(sv, sxml, kid(info, 'SignatureDateTime')?.text, { roots, now });
          v = worst(v, sr.verdict);
        } else bad('signature Type ' + type);
        sigs.push({ type, verdict: v, refs: seen, ok, signerPub: sr.signerPub, signingTime: sr.signingTime, sealedValid: !!sr.sealedValid });
        if (verdict === null || worst(verdict, v) !== verdict) sigDetail = v === sr.verdict ? sr.detail : 'a protected file differs';
        verdict = worst(verdict || 'VALID', v);
      }
    }
    let doc = verdict === null ? 'NOT_SIGNED' : verdict;
    let detail = sigDetail;
    // OFD-07: shown files no signature protects are warned about (unprotected); the document is at best
    // PARTIALLY_PROTECTED when a shown file has no VALID signature protecting it. A shown file that does
    // not parse leaves coverage unknown: MALFORMED unless a signature already failed.
    let shown;
    try { shown = shownFiles(files, ofd); } catch (e) { if (!(e instanceof Bad)) throw e; if (doc === 'VALID') bad(e.message); shown = new Set(); }
    const unprotected = [...shown].filter((f) => !sigs.some((s) => s.ok.has(f))).sort();
    const uncovered = [...shown].filter((f) => !sigs.some((s) => s.verdict === 'VALID' && s.ok.has(f)));
    if (doc === 'VALID' && uncovered.length) { doc = 'PARTIALLY_PROTECTED'; detail = 'shown, protected by no valid signature: ' + uncovered.join(', '); }
    // OFD-10: a licence verdict replaces the document's only when that is less severe
    if (licence && (doc === 'EXPIRED' || ORDER.indexOf(doc) > ORDER.indexOf('LICENCE_UNCHECKED'))) {
      const j = judgeLicence(files, ofd, sigs, licence);
      // OFD-10: an agency's seal EXPIRED since it sealed does not fail a licence file
      if (j && doc === 'EXPIRED') {
        if (j.code === 'VALID' && j.sealExpired) {
          // the agency's expired seal counts as VALID; any other signature's verdict stands
          doc = 'VALID'; detail = undefined;
          for (const s of sigs) if (s.verdict !== 'EXPIRED' || !s.sealedValid) doc = worst(doc, s.verdict);
        }
      }
      else if (j) { doc = worst(doc, j.code); detail = j.detail; }
    }
    return { ...R(doc, detail), unprotected };
  } catch (e) {
    if (e instanceof Bad) return R('MALFORMED', e.message);
    throw e;
  }
}

// The DocInfo CustomData of the first DocBody, name → value; a name given twice maps to null.
function customData(ofd) {
  const m = new Map();
  const body = kid(ofd, 'DocBody');
  const cds = body && kid(kid(body, 'DocInfo') || { children: [] }, 'CustomDatas');
  for (const cd of cds ? kids(cds, 'CustomData') : []) {
    const n = cd.attrs.Name;
    if (n === undefined) continue;
    m.set(n, m.has(n) ? null : cd.text);
  }
  return m;
}

const QR_UNCHECKED = new Set(['NO_TRUST', 'STATUS_UNAVAILABLE', 'STATUS_STALE', 'UNSUPPORTED_VERSION']);
const QR_NOT_VALID = new Set(['REVOKED', 'SUSPENDED', 'SUPERSEDED', 'EXPIRED', 'NOT_YET_VALID']);

// OFD-10. Returns null when the file is not a licence file (its metadata names no 证照标识).
function judgeLicence(files, ofd, sigs, { verifyToken, bundle }) {
  const meta = customData(ofd);
  if (!meta.has('证照标识')) return null;
  const J = (code, detail) => ({ code, detail });
  const id = meta.get('证照标识'), token = meta.get('证照二维码');
  // a key retired at or before the signing time no longer seals, as QR-26 reads `since` (reading 24)
  const keyOK = (k, s) => k.state === 'active' || (k.state === 'retired' && s.signingTime < k.since);
  const sealedBy = (code) => {
    const agency = bundle && bundle.agencies.get(code);
    if (!agency) return false;
    const shown = shownFiles(files, ofd);
    return sigs.find((s) => s.type === 'Seal' && (s.verdict === 'VALID' || (s.verdict === 'EXPIRED' && s.sealedValid)) &&
      [...shown].every((f) => s.refs.has(f)) &&
      agency.keys.some((k) => keyOK(k, s) && k.cert.pub.x === s.signerPub.x && k.cert.pub.y === s.signerPub.y));
  };
  const NOT_SEALED = 'no valid Seal signature by the agency\'s key protects every shown file';
  // status unknown: still not genuine when a bundle is held and the agency 颁发机构代码 names did not seal it
  const unchecked = (detail) => (bundle && !sealedBy(meta.get('颁发机构代码')) ? J('LICENCE_NOT_GENUINE', NOT_SEALED) : J('LICENCE_UNCHECKED', detail));
  if (token === null || id === null || meta.get('持证主体') === null || meta.get('颁发机构代码') === null) return J('LICENCE_NOT_GENUINE', 'metadata name given twice');
  // an empty 证照二维码 carries no token either (reading 22)
  if (token === undefined || token === '') return unchecked('no 证照二维码');
  const q = verifyToken(token);
  if (QR_UNCHECKED.has(q.code)) return unchecked('QR ' + q.code);
  if (QR_NOT_VALID.has(q.code)) return J('LICENCE_NOT_VALID', 'QR ' + q.code);
  // verified "as a static token": a bound presentation is not the file's static token (reading 23)
  if (q.code !== 'VALID_STATIC') return J('LICENCE_NOT_GENUINE', 'QR ' + (q.detail || q.code));
  if (q.id !== id) return J('LICENCE_NOT_GENUINE', '证照标识 is not the token\'s identifier');
  if (q.holder !== meta.get('持证主体')) return J('LICENCE_NOT_GENUINE', '持证主体 is not the token\'s holder');
  if (q.agency !== meta.get('颁发机构代码')) return J('LICENCE_NOT_GENUINE', '颁发机构代码 is not the token\'s agency');
  const by = sealedBy(q.agency);
  if (!by) return J('LICENCE_NOT_GENUINE', NOT_SEALED);
  return { ...J('VALID'), sealExpired: by.verdict === 'EXPIRED' };
}

// OFD-07's shown files: OFD.xml, each Document.xml, page and template contents, the resource files and
// the fonts, images and colour profiles they name, the annotation lists and the annotation files.
// A named file is shown whether or not the package holds it (OFD-07: it could be added later); only a
// present one is read for the files it names in turn. A shown XML file that does not parse is MALFORMED.
function shownFiles(files, ofd) {
  const shown = new Set(['OFD.xml']);
  const xml = (p) => (files.has(p) ? parseXML(files.get(p)) : null);
  const add = (p) => { shown.add(p); return files.has(p); };
  const res = (p) => {
    if (!add(p)) return;
    const r = xml(p);
    const base = r.attrs.BaseLoc ? resolve(p, r.attrs.BaseLoc) + '/_' : p;
    for (const [list, item, file] of [['Fonts', 'Font', 'FontFile'], ['MultiMedias', 'MultiMedia', 'MediaFile'], ['ColorSpaces', 'ColorSpace', 'ICCProfile']]) {
      for (const l of kids(r, list)) for (const it of kids(l, item)) for (const f of kids(it, file)) add(resolve(base, f.text));
    }
  };
  const page = (p) => {
    if (!add(p)) return;
    for (const pr of kids(xml(p), 'PageRes')) res(resolve(p, pr.text));
  };
  for (const body of kids(ofd, 'DocBody')) {
    const dr = kid(body, 'DocRoot');
    if (!dr) continue;
    const dp = resolve('OFD.xml', dr.text);
    if (!add(dp)) continue;
    const d = xml(dp);
    const cd = kid(d, 'CommonData');
    if (cd) {
      for (const r of [...kids(cd, 'PublicRes'), ...kids(cd, 'DocumentRes')]) res(resolve(dp, r.text));
      for (const t of kids(cd, 'TemplatePage')) if (t.attrs.BaseLoc) page(resolve(dp, t.attrs.BaseLoc));
    }
    for (const ps of kids(d, 'Pages')) for (const pg of kids(ps, 'Page')) if (pg.attrs.BaseLoc) page(resolve(dp, pg.attrs.BaseLoc));
    for (const a of kids(d, 'Annotations')) {
      const ap = resolve(dp, a.text);
      if (!add(ap)) continue;
      for (const pg of kids(xml(ap), 'Page')) for (const fl of kids(pg, 'FileLoc')) add(resolve(ap, fl.text));
    }
  }
  return shown;
}
