// 授权用证 (consent.md): ELProof proofs (GRANT-01, -02) and the relying party's verification of a
// grant credential with its consent and signed request (GRANT-03 .. GRANT-17).
import { parseJWS, verifyJWSSig, payloadJSON } from './jws.mjs';
import { b64urlDecode, b64url } from './enc.mjs';
import { isInt, isObj } from './json.mjs';
import { sm3, parsePoint, concat, unhex } from './sm.mjs';
import { validateField } from './catalogue.mjs';
import { entryAt } from './status.mjs';

export class GrantError extends Error { constructor(code, m) { super(code + (m ? ': ' + m : '')); this.code = 'consent.' + code; } }
const fail = (code, m) => { throw new GrantError(code, m); };
const str = (v) => typeof v === 'string';
const noCtl = (s) => str(s) && s.length > 0 && !/[\u0000-\u001F\u007F-\u009F]/.test(s);
const b64sm3 = (s) => b64url(sm3(s));

function jws(token, typ) {
  try { return parseJWS(token, typ); } catch (e) { fail('ErrMalformed', typ + ' ' + e.message); }
}
function payload(j) {
  let p; try { p = payloadJSON(j); } catch (e) { fail('ErrMalformed', 'payload ' + e.message); }
  if (!isObj(p)) fail('ErrMalformed', 'payload');
  return p;
}
function jwkPoint(jwk) {
  if (!isObj(jwk) || jwk.kty !== 'EC' || jwk.crv !== 'SM2') fail('ErrMalformed', 'cnf');
  try {
    const x = b64urlDecode(jwk.x), y = b64urlDecode(jwk.y);
    if (x.length !== 32 || y.length !== 32) throw new Error('size');
    return parsePoint(concat(new Uint8Array([4]), x, y));
  } catch { fail('ErrMalformed', 'cnf point'); }
}

// GRANT-01/02
export function verifyProof(token, { keyHex, method, path, body, now }) {
  let t = token;
  const m = /^ELProof (.*)$/is.exec(t); if (m) t = m[1];
  const j = jws(t, 'elicense-proof+jwt');
  let pub; try { pub = parsePoint(unhex(keyHex)); } catch { fail('ErrKey', 'device key'); }
  if (!verifyJWSSig(j, pub)) fail('ErrSignature');
  const p = payload(j);
  if (!noCtl(p.sub) || Buffer.byteLength(p.sub) > 300) fail('ErrMalformed', 'sub');
  if (!str(p.htm) || !/^[A-Z]{1,16}$/.test(p.htm)) fail('ErrMalformed', 'htm');
  if (!str(p.htu) || !p.htu.startsWith('/') || /[?#]/.test(p.htu)) fail('ErrMalformed', 'htu');
  if (!isInt(p.iat)) fail('ErrMalformed', 'iat');
  if (!str(p.jti) || !/^[A-Za-z0-9_-]{16,64}$/.test(p.jti)) fail('ErrMalformed', 'jti');
  if (p.bh !== undefined && !str(p.bh)) fail('ErrMalformed', 'bh');
  if (p.htm !== method || p.htu !== path) fail('ErrMismatch', 'htm/htu');
  if (body.length) { if (p.bh !== b64sm3(body)) fail('ErrMismatch', 'bh'); } else if (p.bh !== undefined) fail('ErrMismatch', 'bh on an empty body');
  if (p.iat < now - 60 || p.iat > now + 60) fail('ErrExpired');
}

// GRANT-11 .. GRANT-17. trust: the counter's trust state; rp: own id; grantID: the grant fetched.
export function verifyGrant({ sdjwt, consent, request }, { trust, catalogue, now, rp, grantID }) {
  const b = trust.bundle;
  // GRANT-08
  if (!str(sdjwt) || !sdjwt.endsWith('~')) fail('ErrMalformed', 'no final ~');
  const parts = sdjwt.slice(0, -1).split('~');
  const [jwt, ...discs] = parts;
  // GRANT-11 step 0: the form of the issuer JWT and of each disclosure, before any signature
  const j = jws(jwt, 'elicense-sd+jwt');
  if (!str(j.header.kid) || !j.header.kid) fail('ErrMalformed', 'kid');
  const p = payload(j);
  const lic = p.lic;
  if (!str(p.iss) || !str(p.jti) || !isInt(p.iat) || typeof p.nbf !== 'number' || (p.exp !== undefined && typeof p.exp !== 'number') || !isObj(lic) || !str(p.aud) || !str(p.grant)) fail('ErrMalformed', 'claims');
  if (p._sd_alg !== 'sm3' || !Array.isArray(p._sd) || !p._sd.length || p._sd.length > 256 || !p._sd.every(str)) fail('ErrMalformed', '_sd');
  for (let i = 1; i < p._sd.length; i++) if (!(p._sd[i - 1] < p._sd[i])) fail('ErrMalformed', '_sd not sorted or repeated');
  const sl = isObj(p.status) ? p.status.status_list : undefined;
  if (!isObj(sl) || !isInt(sl.idx) || !str(sl.uri)) fail('ErrMalformed', 'status');
  const cnf = jwkPoint(isObj(p.cnf) ? p.cnf.jwk : undefined);
  // GRANT-10
  const disclosed = new Map();
  for (const d of discs) {
    let arr;
    try { arr = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b64urlDecode(d))); } catch { fail('ErrMalformed', 'disclosure'); }
    if (!Array.isArray(arr) || arr.length !== 3 || !arr.every(str) || !/^[a-z][a-z0-9_]*$/.test(arr[1])) fail('ErrMalformed', 'disclosure form');
    if (!p._sd.includes(b64sm3(d))) fail('ErrMismatch', 'disclosure not in _sd');
    if (disclosed.has(arr[1])) fail('ErrMalformed', 'key disclosed twice');
    disclosed.set(arr[1], arr[2]);
  }
  // GRANT-12
  const cands = b.keys.filter((k) => k.kid === j.header.kid);
  if (!cands.length) fail('ErrUnknownKey');
  const key = cands.find((k) => verifyJWSSig(j, k.cert.pub));
  if (!key) fail('ErrSignature', 'issuer JWT');
  // GRANT-13
  const cls = str(lic.class) ? catalogue.byKey.get(lic.class) : undefined;
  if (!cls) fail('ErrField', 'class');
  if (lic.type_code !== cls.type_code) fail('ErrMismatch', 'type_code');
  const pol = key.cert.policy;
  if (key.agency.code !== p.iss || !key.agency.classes.includes(cls.key) || !pol || !(pol.classes.includes(cls.type_code) || pol.classes.includes(cls.key))) fail('ErrKey', 'agency/class');
  if ((key.state === 'compromised' || key.state === 'retired') && p.iat >= key.since) fail('ErrKey', 'key state');
  if (p.iat < key.cert.notBefore || p.iat > key.cert.notAfter) fail('ErrKey', 'certificate validity');
  if (p.iat > now + 60 || now < p.nbf || (p.exp !== undefined && now >= p.exp)) fail('ErrExpired');
  // GRANT-14
  if (p.aud !== rp || p.grant !== grantID) fail('ErrMismatch', 'aud/grant');
  // GRANT-15
  for (const [k, v] of disclosed) {
    const f = catalogue.field(cls, k);
    if (!f) fail('ErrField', 'not a field ' + k);
    if (validateField(catalogue, f, v, now)) fail('ErrField', 'validator ' + k);
  }
  // GRANT-16, in its order: consent form, its signature, request_sm3, request form, request id,
  // consent within the request, the request's signature, decision, licence, rp/class, fields.
  const cj = jws(consent, 'elicense-consent+jwt');
  const c = payload(cj);
  if (!str(c.request) || !str(c.request_sm3) || !str(c.licence) || !['approve', 'refuse'].includes(c.decision) || !isInt(c.iat)) fail('ErrMalformed', 'consent claims');
  if (c.decision === 'approve' && (!Array.isArray(c.fields) || !c.fields.length || !c.fields.every(str) || new Set(c.fields).size !== c.fields.length)) fail('ErrMalformed', 'consent fields');
  if (c.decision === 'refuse' && c.fields !== undefined) fail('ErrMalformed', 'consent fields on refusal');
  if (!verifyJWSSig(cj, cnf)) fail('ErrSignature', 'consent');
  if (c.request_sm3 !== b64sm3(request)) fail('ErrMismatch', 'request_sm3');
  const rj = jws(request, 'elicense-request+jwt');
  if (!str(rj.header.kid) || !rj.header.kid) fail('ErrMalformed', 'request kid');
  const r = payload(rj);
  if (!noCtl(r.id) || !noCtl(r.iss) || !isInt(r.iat) || !isInt(r.exp) || r.iat > r.exp || !isObj(r.rp) || !str(r.rp.id) || !/^[a-z0-9-]{1,64}$/.test(r.rp.id) || !str(r.class) || !Array.isArray(r.fields) || !r.fields.length || !isInt(r.duration) || r.duration < 60 || r.duration > 31536000 || !['once', 'repeat'].includes(r.use)) fail('ErrMalformed', 'request claims');
  const rkeys = r.fields.map((f) => (isObj(f) ? f.key : undefined));
  if (!rkeys.every(str) || new Set(rkeys).size !== rkeys.length) fail('ErrMalformed', 'request fields');
  if (c.request !== r.id) fail('ErrMismatch', 'request id');
  const cfields = c.fields || [];
  if (cfields.some((k) => !rkeys.includes(k))) fail('ErrWidened', 'consent wider than the request');
  if (!b.ledgerCert) fail('ErrUnknownKey', 'no ledger key');
  if (!verifyJWSSig(rj, b.ledgerCert.pub)) fail('ErrSignature', 'request not by the ledger key');
  if (c.decision !== 'approve') fail('ErrRefused');
  if (c.licence !== p.jti && !c.licence.startsWith(p.jti + '#')) fail('ErrMismatch', 'licence');
  if (r.rp.id !== rp || r.class !== lic.class) fail('ErrMismatch', 'request rp/class');
  for (const k of disclosed.keys()) if (!cfields.includes(k)) fail('ErrWidened', 'disclosed without consent: ' + k);
  for (const k of cfields) if (!disclosed.has(k)) fail('ErrMismatch', 'consented, not disclosed: ' + k);
  // GRANT-17
  const bl = [...b.lists.values()].find((l) => l.uri === sl.uri);
  const held = bl && trust.lists.get(bl.id);
  if (!held || sl.idx >= held.entries || entryAt(held.bytes, Number(sl.idx)) !== 0) fail('ErrStatus');
}
