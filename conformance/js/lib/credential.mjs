// Full credential verification (credential.md §4, CRED-12 .. CRED-20).
import { parseJWS, verifyJWSSig, payloadJSON, JWSError } from './jws.mjs';
import { isInt, isObj } from './json.mjs';
import { validUSCC, parseLicenceID } from './ids.mjs';
import { validateClass, holderKindOK, dayNum } from './catalogue.mjs';
import { b64urlDecode } from './enc.mjs';
import { parsePoint, concat } from './sm.mjs';
import { entryAt } from './status.mjs';
import { parseDuration } from './qr.mjs';

const R = (code, detail) => ({ code, detail });
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const isDate = (s) => typeof s === 'string' && /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(s) && new Date(s + 'T00:00:00Z').toISOString().slice(0, 10) === s;
const startCST = (s) => dayNum(s) * 86400 - 8 * 3600;

export function verifyCredential(jws, { trust, catalogue, now, checkStatus = true }) {
  // 1. JWS form and header
  let j;
  try { j = parseJWS(jws, 'elicense+jwt'); } catch (e) { return R('MALFORMED', e.message); }
  if (typeof j.header.kid !== 'string' || !j.header.kid) return R('MALFORMED', 'kid');
  if ('x5c' in j.header) return R('MALFORMED', 'x5c');
  if (j.sig.length !== 64) return R('BAD_SIGNATURE', 'signature size');
  if (!trust) return R('NO_TRUST');
  const b = trust.bundle;
  // 2. keys (CRED-13)
  const cands = b.keys.filter((k) => k.kid === j.header.kid);
  if (!cands.length) return R('UNKNOWN_ISSUER');
  const key = cands.find((k) => verifyJWSSig(j, k.cert.pub));
  if (!key) return R('BAD_SIGNATURE');
  // 3. payload (CRED-02)
  let p; try { p = payloadJSON(j); } catch (e) { return R('MALFORMED', 'payload: ' + e.message); }
  if (!isObj(p)) return R('MALFORMED', 'payload');
  const lic = p.lic;
  const str = (v) => typeof v === 'string';
  if (!str(p.iss) || !str(p.sub) || !str(p.jti) || !isObj(lic)) return R('MALFORMED', 'required claims');
  if (!str(lic.class) || !str(lic.type_code) || !str(lic.name) || !str(lic.issuer_name) || !str(lic.issued_on) || !str(lic.holder_name) || !str(lic.holder_code_type) || !str(lic.valid_from) || !str(lic.valid_until) || !isObj(lic.fields)) return R('MALFORMED', 'lic claims');
  if (lic.number !== undefined && !str(lic.number)) return R('MALFORMED', 'lic.number');
  if (lic.seal !== undefined && !str(lic.seal)) return R('MALFORMED', 'lic.seal');
  for (const v of Object.values(lic.fields)) if (!str(v)) return R('MALFORMED', 'lic.fields values');
  // 4. iss (CRED-14)
  if (p.iss !== key.agency.code) return R('CLASS_NOT_ALLOWED_FOR_ISSUER', 'iss');
  // 5. CRED-03 .. CRED-07
  if (!isDate(lic.issued_on) || !isDate(lic.valid_from) || (lic.valid_until !== '长期' && !isDate(lic.valid_until))) return R('MALFORMED', 'dates');
  if (!isNum(p.nbf) || p.nbf !== startCST(lic.valid_from)) return R('MALFORMED', 'nbf');
  if (lic.valid_until === '长期') { if (p.exp !== undefined) return R('MALFORMED', 'exp with 长期'); }
  else if (!isNum(p.exp) || p.exp !== startCST(lic.valid_until) + 86400) return R('MALFORMED', 'exp');
  if (!isNum(p.iat)) return R('MALFORMED', 'iat');
  if (p.cnf !== undefined) {
    const jwk = isObj(p.cnf) ? p.cnf.jwk : undefined;
    if (!isObj(jwk) || jwk.kty !== 'EC' || jwk.crv !== 'SM2' || !str(jwk.x) || !str(jwk.y)) return R('MALFORMED', 'cnf');
    try {
      const x = b64urlDecode(jwk.x), y = b64urlDecode(jwk.y);
      if (x.length !== 32 || y.length !== 32) throw new Error('size');
      parsePoint(concat(new Uint8Array([4]), x, y));
    } catch { return R('MALFORMED', 'cnf point'); }
  }
  if (p.status !== undefined) {
    const sl = isObj(p.status) ? p.status.status_list : undefined;
    if (!isObj(sl) || !isInt(sl.idx) || sl.idx < 0 || !str(sl.uri)) return R('MALFORMED', 'status');
  }
  // 6. class (CRED-15)
  const cls = catalogue.byKey.get(lic.class);
  if (!cls) return R('MALFORMED', 'class');
  const pol = key.cert.policy;
  if (!key.agency.classes.includes(cls.key) || !pol || !(pol.classes.includes(cls.type_code) || pol.classes.includes(cls.key))) return R('CLASS_NOT_ALLOWED_FOR_ISSUER');
  // 7. key authority at iat (TRUST-15)
  const iat = p.iat;
  if (key.state === 'compromised' && iat >= key.since) return R('KEY_COMPROMISED');
  if (key.state === 'retired' && iat >= key.since) return R('KEY_RETIRED');
  if (iat < key.cert.notBefore || iat > key.cert.notAfter) return R('EXPIRED', 'outside certificate validity');
  // 8. CRED-16
  if (lic.type_code !== cls.type_code || lic.name !== cls.name_zh) return R('MALFORMED', 'type_code/name');
  const cv = validateClass(catalogue, cls, lic.fields, lic.valid_from, lic.valid_until, now);
  if (cv) return R('MALFORMED', cv);
  if (!validUSCC(p.iss)) return R('MALFORMED', 'iss not a USCC');
  const id = parseLicenceID(p.jti);
  if (!id || id.type !== cls.type_code || id.issuer !== p.iss) return R('MALFORMED', 'jti');
  if (!holderKindOK(cls, p.sub, now)) return R('MALFORMED', 'sub');
  const wantType = cls.holder_kind === 'organization' || validUSCC(p.sub) ? 'uscc' : 'resident-id';
  if (lic.holder_code_type !== wantType) return R('MALFORMED', 'holder_code_type');
  if (!lic.holder_name) return R('MALFORMED', 'holder_name');
  if (lic.issuer_name === '') return R('MALFORMED', 'issuer_name');
  if (lic.valid_until !== '长期' && lic.valid_until < lic.valid_from) return R('MALFORMED', 'valid_until before valid_from');
  // 9. CRED-17
  if ((lic.fields[cls.holder_name_field] || '') !== lic.holder_name || (lic.fields[cls.holder_code_field] || '') !== p.sub) return R('MALFORMED', 'holder fields');
  // 10. CRED-18
  if (now < p.nbf) return R('NOT_YET_VALID');
  if (p.exp !== undefined && now >= p.exp) return R('EXPIRED');
  if (!checkStatus) return R('VALID');
  // CRED-20
  if (!p.status) return R('STATUS_UNAVAILABLE', 'no status claim');
  const sl = p.status.status_list;
  const bl = [...b.lists.values()].find((l) => l.uri === sl.uri);
  const held = bl && trust.lists.get(bl.id);
  if (!held || sl.idx >= held.entries) return R('STATUS_UNAVAILABLE');
  const e = entryAt(held.bytes, Number(sl.idx));
  if (e !== 0) return R(['VALID', 'REVOKED', 'SUSPENDED', 'SUPERSEDED'][e]);
  // STATUS-19 applies to a credential's status too (CRED-20)
  if (now - held.iat > parseDuration(cls.max_status_staleness) || now >= held.exp) {
    if (cls.stale_policy === 'fail') return R('STATUS_STALE');
    return { code: 'VALID', warnings: ['status data stale'] };
  }
  return R('VALID');
}
