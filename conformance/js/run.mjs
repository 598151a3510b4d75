#!/usr/bin/env node
// Independent JavaScript verifier for the elicense conformance kit. Written from docs/spec/ and
// conformance/README.md only. Usage: node run.mjs [--kit DIR] [--catalogue FILE] [--verbose]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sm3, hex, unhex, verifyRS } from './lib/sm.mjs';
import { base45Encode, base45Decode, b64urlDecode, b64Decode, inflateZlib } from './lib/enc.mjs';
import { parseCert, pemToDer } from './lib/der.mjs';
import { validUSCC, validResidentID, validOrgCode, parseLicenceID } from './lib/ids.mjs';
import { Catalogue, validateField, checkCatalogueDoc } from './lib/catalogue.mjs';
import { validTypeCode } from './lib/ids.mjs';
import { verifyBundle, verifyGenuineSet, TrustError, roleOf, policyValid } from './lib/trust.mjs';
import { verifyStatusToken, verifyDelta, applyDelta, entryAt, StatusError } from './lib/status.mjs';
import * as L from './lib/ledger.mjs';
import { verifyQR } from './lib/qr.mjs';
import { verifyCredential } from './lib/credential.mjs';
import { parseJSON } from './lib/json.mjs';
import { verifyGrant, verifyProof } from './lib/grants.mjs';
import { verifySeal, SealNI } from './lib/seals.mjs';
import { verifyOFD, OfdNI } from './lib/ofd.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const kit = path.resolve(opt('--kit', path.join(here, '..')));
const verbose = args.includes('--verbose') || args.includes('-v');
// The catalogue the vectors are judged against is context.json's `catalogue` (conformance/README.md);
// --catalogue FILE judges against another catalogue file instead.
const catFile = opt('--catalogue', null);

const readJSON = (f) => parseJSON(fs.readFileSync(f, 'utf8'));
const secs = (s) => Date.parse(s) / 1000;
class NotImplemented extends Error {}
const NI = (m) => { throw new NotImplemented(m); };
const errCode = (e) => { if (e && e.code && typeof e.code === 'string') return 'reject:' + e.code; throw e; };

const ctx = readJSON(path.join(kit, 'context.json'));
const catDoc = catFile ? parseJSON(fs.readFileSync(path.resolve(catFile), 'utf8')) : ctx.catalogue;
{
  const where = catFile || 'context.json catalogue';
  if (catDoc === undefined) { console.error(`${where}: the kit carries no catalogue`); process.exit(2); }
  const why = checkCatalogueDoc(catDoc, validTypeCode);
  if (why) { console.error(`${where}: not a valid catalogue (${why})`); process.exit(2); }
}
const catalogue = new Catalogue(catDoc);
const rootPem = fs.readFileSync(path.join(kit, 'root.pem'), 'utf8');
const root = parseCert(pemToDer(rootPem));

// Step 1 of the README: the trust state of a counter.
function buildTrust(now) {
  const bundle = verifyBundle(ctx.bundle, { roots: [root], now: secs(ctx.now), catalogue });
  const lists = new Map();
  for (const [id, tok] of Object.entries(ctx.status_lists)) {
    const bl = bundle.lists.get(id);
    if (!bl) throw new Error('context list not in bundle: ' + id);
    try { lists.set(id, verifyStatusToken(tok, bl, { now: secs(ctx.now), minVersion: bl.version })); }
    catch (e) { if (e instanceof StatusError && e.code === 'statuslist.ErrExpired') lists.set(id, e.value); else throw e; }
  }
  const genuine = new Map();
  for (const [kid, doc] of Object.entries(ctx.genuine_sets)) genuine.set(kid, verifyGenuineSet(bundle, kid, b64Decode(doc)));
  return { bundle, lists, genuine };
}
const TRUST = buildTrust();

function statusCode(v) { return ['VALID', 'REVOKED', 'SUSPENDED', 'SUPERSEDED'][v]; }

const handlers = {
  'qr-static': qrVector, 'qr-bound': qrVector, disclosures: qrVector,
  credential(v) {
    return verifyCredential(v.input.jws, { trust: TRUST, catalogue, now: secs(v.now) });
  },
  identifiers(v) {
    const { check, value } = v.input; const now = secs(v.now);
    const ok = { uscc: () => validUSCC(value), 'resident-id': () => validResidentID(value, now), 'org-code': () => validOrgCode(value), 'license-id': () => !!parseLicenceID(value) }[check];
    if (!ok) NI('check ' + check);
    return ok() ? 'VALID' : 'MALFORMED';
  },
  fields(v) {
    const cls = catalogue.byKey.get(v.input.class); const f = cls && catalogue.field(cls, v.input.field);
    if (!f) NI('unknown class/field');
    return validateField(catalogue, f, v.input.value, secs(v.now)) ? 'MALFORMED' : 'VALID';
  },
  standards(v) {
    const i = v.input; const H = L.sha256; const ub = (h) => unhex(h);
    switch (i.algorithm) {
      case 'sm3': return hex(sm3(i.message.repeat(i.repeat || 1))) === i.want ? 'VALID' : 'MISMATCH';
      case 'sm2-verify': return verifyRS({ x: BigInt('0x' + i.public_x), y: BigInt('0x' + i.public_y) }, i.message, BigInt('0x' + i.want_r), BigInt('0x' + i.want_s), i.id) ? 'VALID' : 'BAD_SIGNATURE';
      case 'base45-encode': return base45Encode(Buffer.from(i.message)) === i.want ? 'VALID' : 'MISMATCH';
      case 'base45-decode': try { const b = base45Decode(i.text); return i.want === undefined || Buffer.from(b).toString() === i.want ? 'VALID' : 'MISMATCH'; } catch { return 'MALFORMED'; }
      case 'status-list': {
        let b; try { b = inflateZlib(b64urlDecode(i.text), 1 << 24); } catch { return 'MALFORMED'; }
        if (hex(b) !== i.want) return 'MISMATCH';
        if (i.statuses && i.bits === 2 && !i.statuses.every((s, k) => entryAt(b, k) === s)) return 'MISMATCH';
        if (i.statuses && i.bits === 1 && !i.statuses.every((s, k) => ((b[k >> 3] >> (k & 7)) & 1) === s)) return 'MISMATCH';
        return 'VALID';
      }
      case 'zlib-inflate': try { return hex(inflateZlib(b64urlDecode(i.text), 1 << 24)) === i.want ? 'VALID' : 'MISMATCH'; } catch { return 'MALFORMED'; }
      case 'rfc6962-root-sha256': return hex(L.merkleRoot(H, (i.leaves_hex || []).map(ub))) === i.want ? 'VALID' : 'MISMATCH';
      case 'rfc6962-inclusion-sha256': {
        const idx = i.index || 0;
        try { return hex(L.rootFromInclusion(H, idx, i.size, L.leafHash(H, ub(i.leaves_hex[idx])), (i.proof_hex || []).map(ub))) === i.want ? 'VALID' : 'MISMATCH'; } catch { return 'MISMATCH'; }
      }
      case 'rfc6962-consistency-sha256':
        try { L.verifyConsistency(H, i.size1, i.size2, ub(i.root1), ub(i.want), (i.proof_hex || []).map(ub)); return 'VALID'; } catch { return 'MISMATCH'; }
      case 'uscc': return validUSCC(i.value) ? 'VALID' : 'MALFORMED';
      case 'resident-id': return validResidentID(i.value, secs(v.now || ctx.now)) ? 'VALID' : 'MALFORMED';
      case 'org-code': return validOrgCode(i.value) ? 'VALID' : 'MALFORMED';
      // published identifiers may carry a GB/T 2260 division code as issuer code (ID-03, MAY)
      case 'license-id': return parseLicenceID(i.value, { allowDivision: true }) ? 'VALID' : 'MALFORMED';
      default: NI(i.algorithm);
    }
  },
  status(v) {
    const i = v.input; const now = secs(v.now);
    const bl = TRUST.bundle.lists.get(i.list);
    if (!bl) NI('list ' + i.list);
    const minVersion = BigInt(i.min_version || 0);
    try {
      if (i.op === 'token') { verifyStatusToken(i.token, bl, { now, minVersion }); return 'VALID'; }
      if (i.op === 'lookup') {
        const l = verifyStatusToken(i.token, bl, { now, minVersion });
        const idx = i.index || 0;
        if (idx >= l.entries) return 'STATUS_UNAVAILABLE';
        return statusCode(entryAt(l.bytes, idx));
      }
      if (i.op === 'delta') {
        // the base is the list already held (accepted before); min_version, the high-water mark of
        // STATUS-13, applies to the delta
        const base = verifyStatusToken(i.base, bl, { now, minVersion: 0n });
        const keyFor = (kid) => (kid === bl.signerKid ? bl.signers : null);
        const d = verifyDelta(b64Decode(i.delta), { keyFor, uri: bl.uri, now, minVersion });
        applyDelta(base, d);
        return 'VALID';
      }
      NI('op ' + i.op);
    } catch (e) { return errCode(e); }
  },
  trust(v) {
    const i = v.input; const now = secs(v.now);
    const roots = [i.root_pem ? parseCert(pemToDer(i.root_pem)) : root];
    try {
      const previous = i.previous ? verifyBundle(i.previous, { roots, now, catalogue }) : null;
      const b = verifyBundle(i.bundle, { roots, now, catalogue, previous });
      if (i.op === 'bundle') return b.warnings.length ? 'warn' : 'VALID';
      if (i.op === 'genuine') { verifyGenuineSet(b, i.kid, b64Decode(i.doc)); return 'VALID'; }
      if (i.op === 'bundle+list') {
        const bl = b.lists.get(i.list);
        verifyStatusToken(i.list_token, bl, { now, minVersion: bl.version });
        return 'VALID';
      }
      NI('op ' + i.op);
    } catch (e) { return errCode(e); }
  },
  ledger(v) {
    const i = v.input; const H = sm3;
    const arr = (s) => (s || []).map((x) => b64Decode(x));
    try {
      switch (i.op) {
        case 'checkpoint': L.verifyCheckpoint(i.note, L.parseVKey(i.vkey), i.origin); return 'VALID';
        case 'vkey': L.parseVKey(i.vkey); return 'VALID';
        case 'inclusion': L.verifyInclusion(H, i.index, i.size, b64Decode(i.leaf_hash), arr(i.proof), b64Decode(i.root)); return 'VALID';
        case 'consistency': L.verifyConsistency(H, i.size1, i.size2, b64Decode(i.root1), b64Decode(i.root2), arr(i.proof)); return 'VALID';
        case 'tile': {
          const t = L.parseTilePath(i.tile_path);
          const r = L.readTile(t, b64Decode(i.tile_data || ''));
          if (i.root && t.n === 0 && t.w === i.size) {
            const hashes = t.entries ? r.entries.map((e) => L.leafHash(H, e)) : (t.level === 0 ? r.hashes : NI('root from a higher-level tile'));
            if (hex(L.mth(H, hashes)) !== hex(b64Decode(i.root))) return 'reject:tlog.ErrBadTile';
          }
          return 'VALID';
        }
        case 'event': {
          // events.md: EVENT-01 … EVENT-11; LEDGER-01's length bound first.
          const e = i.entry ? b64Decode(i.entry) : new Uint8Array(0);
          if (e.length < 1 || e.length > 65536) return 'reject:ledgerevent.ErrMalformed';
          const ev = L.decodeEvent(e);
          if (i.open_field) L.verifyOpening(ev, i.open_field, b64Decode(i.open_salt || ''), new TextEncoder().encode(i.open_value || ''));
          return 'VALID';
        }
        default: NI('op ' + i.op);
      }
    } catch (e) { if (e instanceof NotImplemented) throw e; return errCode(e); }
  },
  grants(v) {
    const i = v.input; const now = secs(v.now);
    try {
      if (i.op === 'proof') { verifyProof(i.proof, { keyHex: i.key, method: i.method, path: i.path, body: i.body ? b64Decode(i.body) : new Uint8Array(0), now }); return 'VALID'; }
      if (i.op === 'grant') { verifyGrant(i, { trust: TRUST, catalogue, now, rp: i.rp, grantID: i.grant }); return 'VALID'; }
      NI('op ' + i.op);
    } catch (e) { if (e instanceof NotImplemented) throw e; return { code: errCode(e), detail: e.message }; }
  },
  seals(v) {
    const i = v.input;
    const roots = [i.root_pem ? parseCert(pemToDer(i.root_pem)) : root];
    try { return verifySeal(b64Decode(i.signature), b64Decode(i.document), { roots, revoked: i.revoked_seals || [], now: secs(v.now) }); }
    catch (e) { if (e instanceof SealNI) NI(e.message); throw e; }
  },
  ofd(v) {
    const i = v.input;
    const roots = [i.root_pem ? parseCert(pemToDer(i.root_pem)) : root];
    const now = secs(v.now);
    // check_licence: judge the licence the file carries (OFD-10) with the trust state of step 1;
    // its QR token is verified as any static token, with a fresh replay memory
    const licence = i.check_licence ? { bundle: TRUST.bundle, verifyToken: (t) => verifyQR(t, { trust: TRUST, catalogue, now, replay: new Map() }) } : null;
    let r;
    try { r = verifyOFD(b64Decode(i.file), { roots, now, revoked: i.revoked_seals || [], licence }); }
    catch (e) { if (e instanceof OfdNI) NI(e.message); throw e; }
    // OFD-07: the shown files warned about must be the vector's `unprotected` (none for a VALID vector)
    if (r.code === v.expected && (v.unprotected || v.expected === 'ofd:VALID')) {
      const want = [...(v.unprotected || [])].sort().join(', '), got = (r.unprotected || []).join(', ');
      if (got !== want) return { code: `${r.code}, warned about [${got}] not [${want}]`, detail: r.detail };
    }
    return r;
  },
  catalogue(v) {
    let d; try { d = parseJSON(v.input.doc); } catch { return 'reject:catalog'; }
    return checkCatalogueDoc(d, validTypeCode) ? 'reject:catalog' : 'VALID';
  },
  certificates(v) {
    const i = v.input;
    let c;
    try { c = parseCert(b64Decode(i.cert)); } catch (e) { return 'reject:agencycert.ErrMalformedPolicy'; }
    if (c.attrError) return 'reject:agencycert.ErrMalformedPolicy';
    if (c.policy && !policyValid(c)) return 'reject:agencycert.ErrMalformedPolicy';
    const r = roleOf(c).role;
    if (i.require) return r === i.require ? 'role:' + r : 'reject:agencycert.ErrRole';
    return r ? 'role:' + r : 'reject:agencycert.ErrRole';
  },
};

function qrVector(v) {
  const i = v.input; const now = secs(v.now);
  const trust = i.trust === 'none' ? null : TRUST;
  const replay = new Map();
  for (const t of i.prior || []) verifyQR(t, { trust, catalogue, now, replay });
  return verifyQR(i.text, { trust, catalogue, now, replay });
}

// ---- robustness smoke (--fuzz N): mutated inputs must give a verdict, never an exception ----
if (args.includes('--fuzz')) {
  const n = Number(opt('--fuzz', '1000'));
  let seed = 12345; const rnd = (k) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % k; };
  const mutStr = (s, alphabet) => { const a = [...s]; const op = rnd(3); const i = rnd(a.length + 1);
    if (op === 0 && a.length) a[Math.min(i, a.length - 1)] = alphabet[rnd(alphabet.length)];
    else if (op === 1) a.splice(i, 0, alphabet[rnd(alphabet.length)]); else a.splice(i, 1 + rnd(4));
    return a.join(''); };
  const mutB64 = (b64) => { const b = Buffer.from(b64, 'base64'); if (!b.length) return b64; const i = rnd(b.length); b[i] ^= 1 << rnd(8); if (rnd(4) === 0) return b.subarray(0, rnd(b.length)).toString('base64'); return b.toString('base64'); };
  const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
  const B64U = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~';
  const pool = [];
  for (const f of fs.readdirSync(kit).filter((x) => x.endsWith('.json')).sort()) {
    const doc = readJSON(path.join(kit, f)); if (!doc.vectors || !handlers[doc.kind]) continue;
    for (const v of doc.vectors) pool.push([doc.kind, v]);
  }
  let crashes = 0;
  for (let k = 0; k < n; k++) {
    const [kind, v0] = pool[rnd(pool.length)];
    const v = JSON.parse(JSON.stringify(v0, (key, x) => (typeof x === 'bigint' ? Number(x) : x)));
    const i = v.input;
    for (const key of Object.keys(i)) {
      if (rnd(2)) continue;
      if (['text'].includes(key)) i[key] = mutStr(i[key], B45);
      else if (['jws', 'token', 'bundle', 'sdjwt', 'consent', 'request', 'proof', 'base', 'list_token', 'previous'].includes(key) && typeof i[key] === 'string') i[key] = mutStr(i[key], B64U);
      else if (['signature', 'document', 'file', 'delta', 'doc', 'cert', 'entry', 'tile_data'].includes(key) && typeof i[key] === 'string') i[key] = mutB64(i[key]);
      else if (key === 'note' || key === 'vkey') i[key] = mutStr(i[key], B64U + '\n\u2014 ');
    }
    try { handlers[kind](v); } catch (e) {
      if (e instanceof NotImplemented) continue;
      crashes++; if (crashes <= 10) console.log(`crash on a mutation of ${v0.id}: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`);
    }
  }
  console.log(`fuzz: ${n - crashes} passed, ${crashes} failed`);
  process.exit(crashes ? 1 : 0);
}

// ---- main ----
const files = fs.readdirSync(kit).filter((f) => f.endsWith('.json')).sort();
let totalFail = 0, totalPass = 0, totalNI = 0;
const lines = [];
const covered = new Set();
for (const f of files) {
  const doc = readJSON(path.join(kit, f));
  if (!doc.vectors) continue;
  const h = handlers[doc.kind];
  let pass = 0, failN = 0, ni = 0;
  const fails = [], nis = [];
  for (const v of doc.vectors) {
    if (!h) { ni++; nis.push(v.id); continue; }
    let got;
    try { got = h(v); } catch (e) {
      if (e instanceof NotImplemented) { ni++; nis.push(`${v.id} (${e.message})`); continue; }
      got = 'EXCEPTION ' + (e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e);
    }
    let detail = '';
    if (got && typeof got === 'object') { detail = got.detail || ''; got = got.code; }
    const ok = got === v.expected || (v.also_conforming || []).includes(got);
    if (ok) { pass++; for (const r of v.rules || []) covered.add(r); } else { failN++; fails.push(`${v.id}: expected ${v.expected}${v.also_conforming ? ' (or ' + v.also_conforming.join(', ') + ')' : ''}, got ${got} — ${v.description}`); }
    if (verbose) console.log(`${ok ? 'ok  ' : 'FAIL'} ${v.id} ${got}${detail && detail !== got ? ' [' + detail + ']' : ''}`);
  }
  totalPass += pass; totalFail += failN; totalNI += ni;
  console.log(`${f.padEnd(20)} ${String(pass).padStart(3)} pass ${String(failN).padStart(3)} fail ${String(ni).padStart(3)} not implemented${h ? '' : ' (kind not implemented)'}`);
  for (const x of fails) console.log('   FAIL ' + x);
  if (verbose) for (const x of nis) console.log('   n/i  ' + x);
}
if (args.includes('--rules')) console.log('rules exercised by passing vectors: ' + [...covered].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).join(' '));
console.log(`conformance-js: ${totalPass} passed, ${totalFail} failed, ${totalNI} skipped`);
process.exit(totalFail ? 1 : 0);
