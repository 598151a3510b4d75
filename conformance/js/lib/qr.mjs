// QR token verification (qr.md, verification.md).
import { base45Decode, inflateZlib, cborDecodeDet, cborDecodeItem, cborEncode, CborMap, Malformed, bytesEq } from './enc.mjs';
import { sm3, hex, concat, verifyFixed, parsePoint } from './sm.mjs';
import { buildLicenceID, parseLicenceID } from './ids.mjs';
import { validateField, holderKindOK, dayStr } from './catalogue.mjs';
import { entryAt } from './status.mjs';
import { leafHash, rootFromInclusion, LedgerError } from './ledger.mjs';

class Verdict extends Error { constructor(code, m) { super(code + (m ? ': ' + m : '')); this.code = code; } }
const refuse = (code, m) => { throw new Verdict(code, m); };
const isUint = (v, max) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && (max === undefined || v <= max)) || (typeof v === 'bigint' && v >= 0n && (max === undefined || v <= BigInt(max)));
const isBytes = (v, n) => v instanceof Uint8Array && (n === undefined || v.length === n);

// Step 1: decode (QR-01..QR-11). Returns the token structure.
export function decode(text) {
  if (typeof text !== 'string') refuse('MALFORMED');
  if (text.length > 4296) refuse('MALFORMED', 'too long');
  let version;
  if (text.startsWith('EL2:')) version = 2;
  else if (text.startsWith('EL1:')) version = 1;
  else if (/^EL[0-9]+[A-Z]*:/.test(text)) refuse('UNSUPPORTED_VERSION');
  else refuse('MALFORMED', 'prefix');
  try {
    let payload = base45Decode(text.slice(4));
    if (!payload.length) refuse('MALFORMED', 'empty payload');
    if (payload[0] === 0x78) payload = inflateZlib(payload, 4096);
    let bodyRaw, devSig;
    if (version === 2) {
      if (payload[0] >> 5 !== 4) refuse('MALFORMED', 'payload not an array');
      const r = cborDecodeDet(payload, { allowTrailing: true });
      bodyRaw = payload.subarray(0, r.end);
      const rest = payload.subarray(r.end);
      devSig = rest.length ? rest : null;
      if (devSig && devSig.length !== 64) refuse('MALFORMED', 'device signature size');
    } else {
      const r = cborDecodeDet(payload);
      const env = r.value;
      if (!Array.isArray(env) || env.length !== 2 || !isBytes(env[0]) || !isBytes(env[1])) refuse('MALFORMED', 'v1 envelope');
      bodyRaw = env[0];
      devSig = env[1].length ? env[1] : null;
      if (devSig && devSig.length !== 64) refuse('MALFORMED', 'device signature size');
    }
    const body = cborDecodeDet(bodyRaw).value;
    if (!Array.isArray(body) || body.length !== 5) refuse('MALFORMED', 'body');
    const [coreRaw, kid, issuerSig, discs, presentedAt] = body;
    if (!isBytes(coreRaw) || !isBytes(kid, 8) || !isBytes(issuerSig, 64) || !Array.isArray(discs) || !isUint(presentedAt)) refuse('MALFORMED', 'body members');
    const core = cborDecodeDet(coreRaw).value;
    if (!(core instanceof CborMap)) refuse('MALFORMED', 'core');
    const allowed = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (const k of core.keys()) if (!allowed.has(k)) refuse('MALFORMED', 'unknown core key ' + k);
    const id = core.get(1);
    if (!Array.isArray(id) || id.length !== 3 || typeof id[0] !== 'string' || typeof id[1] !== 'string' || !isUint(id[2], 65535)) refuse('MALFORMED', 'key 1');
    const name = core.get(2), code = core.get(3), from = core.get(4), until = core.get(5), listID = core.get(6), idx = core.get(7), dev = core.get(8), shown = core.get(9), root = core.get(10), nLeaves = core.get(11), signedAt = core.get(12);
    if (typeof name !== 'string' || typeof code !== 'string' || !isUint(from, 4294967295)) refuse('MALFORMED', 'keys 2-4');
    if (core.has(5) && !isUint(until, 4294967295)) refuse('MALFORMED', 'key 5');
    if (typeof listID !== 'string' || !listID) refuse('MALFORMED', 'key 6');
    if (core.has(7) && (!isUint(idx) || idx === 0)) refuse('MALFORMED', 'key 7');
    if (core.has(8) && !isBytes(dev, 33)) refuse('MALFORMED', 'key 8');
    if (core.has(9)) {
      if (!(shown instanceof CborMap) || shown.size === 0) refuse('MALFORMED', 'key 9');
      for (const [k, v] of shown.entries) if (!isUint(k, 65535) || typeof v !== 'string') refuse('MALFORMED', 'key 9 entry');
    }
    if (!isBytes(root, 16)) refuse('MALFORMED', 'key 10');
    if (!isUint(nLeaves, 65535) || nLeaves < 1) refuse('MALFORMED', 'key 11');
    if (version === 2) { if (!core.has(12) || !isUint(signedAt) || signedAt === 0) refuse('MALFORMED', 'key 12'); }
    else if (core.has(12)) refuse('MALFORMED', 'key 12 in version 1');
    if (core.has(5) && until === 0) refuse('MALFORMED', 'key 5 default'); // defaults absent (QR-06)
    // presented_at vs device signature (QR-09)
    if (!devSig && presentedAt !== 0) refuse('MALFORMED', 'static token with presented_at');
    if (devSig && presentedAt === 0) refuse('MALFORMED', 'presentation without presented_at');
    const disclosures = [];
    for (const d of discs) {
      if (!Array.isArray(d) || d.length !== 5) refuse('MALFORMED', 'disclosure');
      const [field, salt, value, leaf, proof] = d;
      if (!isUint(field, 65535) || !isBytes(salt) || typeof value !== 'string' || !isUint(leaf, 65535) || !Array.isArray(proof) || !proof.every((p) => isBytes(p, 32))) refuse('MALFORMED', 'disclosure members');
      if (leaf >= nLeaves) refuse('MALFORMED', 'leaf past count');
      if (field === 0 ? salt.length !== 0 : salt.length !== 16) refuse('MALFORMED', 'salt');
      disclosures.push({ field, salt, value, leaf, proof });
    }
    return {
      version, bodyRaw, devSig, coreRaw, kid: hex(kid), issuerSig, presentedAt: Number(presentedAt), disclosures,
      core: { typeCode: id[0], serial: id[1], ver: id[2], name, code, from: Number(from), until: core.has(5) ? Number(until) : null, listID, idx: core.has(7) ? Number(idx) : 0, dev: core.has(8) ? dev : null, shown: core.has(9) ? shown.entries.map(([k, v]) => [Number(k), v]) : [], root, nLeaves, signedAt: core.has(12) ? Number(signedAt) : null },
    };
  } catch (e) {
    if (e instanceof Verdict) throw e;
    if (e instanceof Malformed) refuse('MALFORMED', e.message);
    throw e;
  }
}

const DAY = 86400, CST = 8 * 3600;
// start of day number d (days since epoch of the UTC+8 calendar date) in Unix seconds
const startOfDay = (d) => d * DAY - CST;

// trust: {bundle, lists: Map id → verified list, genuine: Map kid → set} or null; replay: Set
export function verifyQR(text, { trust, catalogue, now, replay, maxAge = 60, skew = 30 }) {
  const warnings = [];
  try {
    const t = decode(text); // step 1
    if (!trust) refuse('NO_TRUST'); // step 2
    const b = trust.bundle;
    // step 3 (QR-23)
    const cands = b.keys.filter((k) => k.kid === t.kid);
    if (!cands.length) refuse('UNKNOWN_ISSUER');
    const msg = concat('elicense/qr/core/v1', new Uint8Array([0]), t.coreRaw);
    const key = cands.find((k) => verifyFixed(k.cert.pub, msg, t.issuerSig));
    if (!key) refuse('BAD_SIGNATURE');
    const c = t.core;
    // step 4 (ID-07, QR-24)
    const lid = buildLicenceID(c.typeCode, key.agency.code, c.serial, c.ver);
    if (c.ver < 1 || c.ver > 999 || !/^[0-9A-Z]{1,32}$/.test(c.serial) || !parseLicenceID(lid)) refuse('MALFORMED', 'identifier');
    const cls = catalogue.byType.get(c.typeCode);
    if (!cls) refuse('MALFORMED', 'type code not in the catalogue');
    const policyOK = key.cert.policy && (key.cert.policy.classes.includes(cls.type_code) || key.cert.policy.classes.includes(cls.key));
    if (!key.agency.classes.includes(cls.key) || !policyOK) refuse('CLASS_NOT_ALLOWED_FOR_ISSUER');
    // step 5 (QR-25..27)
    let genuineOK = false;
    if (key.state === 'compromised') {
      const gs = trust.genuine.get(key.kid);
      const tag = hex(sm3(concat('elicense/qr/genuine/v1', new Uint8Array([0]), t.coreRaw)).subarray(0, 16));
      const entries = gs && gs.lists.get(c.listID);
      if (!entries || !entries.some((e) => e.index === c.idx && e.tag === tag)) refuse('KEY_COMPROMISED');
      genuineOK = true;
    }
    if (!genuineOK) {
      const at = t.version === 1 ? null : c.signedAt;
      if (key.state === 'retired' && (at === null || at >= key.since)) refuse('KEY_RETIRED');
      const tt = at === null ? now : at;
      if (tt < key.cert.notBefore || tt > key.cert.notAfter) refuse('EXPIRED', 'outside the key certificate validity');
    }
    // step 6 (QR-28)
    if (!holderKindOK(cls, c.code, now)) refuse('MALFORMED', 'holder code');
    const nameField = catalogue.field(cls, cls.holder_name_field);
    if (!c.name || (nameField && validateField(catalogue, nameField, c.name, now))) refuse('MALFORMED', 'holder name');
    const validityKey = cls.validity && cls.validity.field;
    for (const [num, v] of c.shown) {
      const f = catalogue.fieldByNumber(cls, num);
      if (!f || f.qr !== 'always' || f.key === cls.holder_name_field || f.key === cls.holder_code_field) refuse('MALFORMED', 'key 9 field ' + num);
      const r = validateField(catalogue, f, v, now);
      if (r) refuse('MALFORMED', `key 9 field ${f.key}: ${r}`);
      if (f.key === validityKey) { // QR-16
        const want = rebuildValidity(f, c);
        if (v !== want) refuse('MALFORMED', 'validity field disagrees with keys 4 and 5');
      }
    }
    // step 7 (QR-21, QR-22)
    const seen = new Set();
    for (const d of t.disclosures) {
      const lh = leafHash(sm3, cborEncode([d.field, d.salt, d.value]));
      let r;
      try { r = rootFromInclusion(sm3, d.leaf, c.nLeaves, lh, d.proof); } catch (e) { if (e instanceof LedgerError) refuse('BAD_DISCLOSURE', 'proof'); throw e; }
      if (!bytesEq(r.subarray(0, 16), c.root)) refuse('BAD_DISCLOSURE', 'root');
      if (seen.has(d.leaf)) refuse('BAD_DISCLOSURE', 'leaf twice');
      seen.add(d.leaf);
      if (d.field === 0) {
        if (d.leaf !== 0) refuse('BAD_DISCLOSURE', 'field 0 not at leaf 0');
        continue;
      }
      const f = catalogue.fieldByNumber(cls, d.field);
      if (!f) refuse('MALFORMED', 'disclosed field not of the class');
      if (f.qr !== 'optional') refuse('BAD_DISCLOSURE', 'field not optional');
      const vr = validateField(catalogue, f, d.value, now);
      if (vr) refuse('MALFORMED', 'disclosed value: ' + vr);
    }
    // step 8 (QR-29, QR-32)
    if (c.dev && !t.devSig) refuse('HOLDER_BINDING_FAILED', 'no device signature');
    if (!c.dev && t.devSig) refuse('HOLDER_BINDING_FAILED', 'device signature without key 8');
    if (c.dev) {
      let dk; try { dk = parsePoint(c.dev); } catch { refuse('MALFORMED', 'key 8 not a point'); }
      const pm = concat('elicense/qr/presentation/v1', new Uint8Array([0]), t.bodyRaw);
      if (!verifyFixed(dk, pm, t.devSig)) refuse('HOLDER_BINDING_FAILED', 'device signature');
      if (t.presentedAt > now + skew || now - t.presentedAt > maxAge + skew) refuse('PRESENTATION_EXPIRED');
    }
    // step 9 (VERIFY-11)
    if (now < startOfDay(c.from)) refuse('NOT_YET_VALID');
    if (c.until !== null && now >= startOfDay(c.until + 1)) refuse('EXPIRED');
    // step 10 (QR-33)
    if (c.dev) {
      const h = hex(sm3(t.bodyRaw));
      const exp = replay.get(h);
      if (exp !== undefined && now <= exp) refuse('REPLAYED');
      replay.set(h, t.presentedAt + maxAge + 2 * skew);
    }
    // step 11 (STATUS-17)
    const bl = b.lists.get(c.listID);
    if (!bl || bl.agency !== key.agency.code) refuse('STATUS_UNAVAILABLE', 'list');
    const held = trust.lists.get(c.listID);
    if (!held || c.idx >= held.entries) refuse('STATUS_UNAVAILABLE', 'no list held or index past end');
    // step 12
    const e = entryAt(held.bytes, c.idx);
    if (e === 1) refuse('REVOKED'); if (e === 2) refuse('SUSPENDED'); if (e === 3) refuse('SUPERSEDED');
    // step 13 (STATUS-19)
    const maxStale = parseDuration(cls.max_status_staleness);
    if (now - held.iat > maxStale || now >= held.exp) {
      if (cls.stale_policy === 'fail') refuse('STATUS_STALE');
      warnings.push('status data stale');
    }
    if (b.warnings.length) warnings.push(...b.warnings);
    return { code: c.dev ? 'VALID' : 'VALID_STATIC', warnings, id: lid, holder: c.name, agency: key.agency.code };
  } catch (e) {
    if (e instanceof Verdict) return { code: e.code, detail: e.message, warnings };
    throw e;
  }
}

function rebuildValidity(f, c) {
  const from = dayStr(c.from), until = c.until === null ? null : dayStr(c.until);
  if (f.type === 'term') return `${from}至${until === null ? '长期' : until}`;
  if (f.type === 'date') return until === null ? '' : until;
  return null;
}
export function parseDuration(s) {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s || '');
  if (!m || !s) throw new Error('duration ' + s);
  return (+(m[1] || 0)) * 3600 + (+(m[2] || 0)) * 60 + (+(m[3] || 0));
}
