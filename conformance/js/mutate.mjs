#!/usr/bin/env node
// Mutation check of the kit: disables one check of this verifier at a time (a text replacement in a
// temporary copy) and reports whether any kit vector then fails. A check whose removal no vector
// notices is a rule the kit does not pin down (a candidate vector). Usage: node mutate.mjs [--kit DIR]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const extra = process.argv.slice(2);
// [rule and check, file, original text, replacement]
const MUTATIONS = [
  ["QR-06 deterministic re-encoding", "lib/enc.mjs", "if (!bytesEq(cborEncode(r.value), r.raw)) fail('cbor not deterministic');", ""],
  ["QR-07 depth", "lib/enc.mjs", "if ((mt === 4 || mt === 5) && depth > limits.depth) fail('cbor too deep');", ""],
  ["QR-07 map size", "lib/enc.mjs", "|| v > limits.map) fail", "|| false) fail"],
  ["QR-02 length", "lib/qr.mjs", "if (text.length > 4296) refuse('MALFORMED', 'too long');", ""],
  ["QR-33 replay", "lib/qr.mjs", "if (exp !== undefined && now <= exp) refuse('REPLAYED');", ""],
  ["QR-32 future edge", "lib/qr.mjs", "t.presentedAt > now + skew || ", ""],
  ["QR-32 old edge off by one", "lib/qr.mjs", "now - t.presentedAt > maxAge + skew", "now - t.presentedAt > maxAge + skew + 1"],
  ["QR-29 device signature", "lib/qr.mjs", "if (!verifyFixed(dk, pm, t.devSig)) refuse", "if (false) refuse"],
  ["QR-25 genuine tag", "lib/qr.mjs", "e.index === c.idx && e.tag === tag", "e.index === c.idx"],
  ["QR-26 v1 under retired key", "lib/qr.mjs", "(at === null || at >= key.since)", "(at !== null && at >= key.since)"],
  ["QR-27 certificate validity", "lib/qr.mjs", "if (tt < key.cert.notBefore || tt > key.cert.notAfter) refuse", "if (false) refuse"],
  ["QR-16 validity field", "lib/qr.mjs", "if (v !== want) refuse", "if (false) refuse"],
  ["QR-11 salt", "lib/qr.mjs", "if (field === 0 ? salt.length !== 0 : salt.length !== 16) refuse", "if (false) refuse"],
  ["QR-09 presented_at on static", "lib/qr.mjs", "if (!devSig && presentedAt !== 0) refuse", "if (false) refuse"],
  ["QR-10 unknown core key", "lib/qr.mjs", "if (!allowed.has(k)) refuse", "if (false) refuse"],
  ["QR-24 agency lists class", "lib/qr.mjs", "if (!key.agency.classes.includes(cls.key) || !policyOK)", "if (!policyOK)"],
  ["QR-24 policy allows class", "lib/qr.mjs", "if (!key.agency.classes.includes(cls.key) || !policyOK)", "if (!key.agency.classes.includes(cls.key))"],
  ["STATUS-17 agency of list", "lib/qr.mjs", "if (!bl || bl.agency !== key.agency.code)", "if (!bl)"],
  ["STATUS-19 exp part", "lib/qr.mjs", "now - held.iat > maxStale || now >= held.exp", "now - held.iat > maxStale"],
  ["STATUS-19 age part", "lib/qr.mjs", "now - held.iat > maxStale || now >= held.exp", "now >= held.exp"],
  ["VERIFY-11 NOT_YET_VALID", "lib/qr.mjs", "if (now < startOfDay(c.from)) refuse('NOT_YET_VALID');", ""],
  ["TRUST-07 root kid", "lib/trust.mjs", "if (b.root !== root.kid) fail", "if (false) fail"],
  ["TRUST-07 bundle_signer", "lib/trust.mjs", "if (!Array.isArray(b.bundle_signer) ||", "if (false &&"],
  ["TRUST-09 kid = cert", "lib/trust.mjs", "if (k.kid !== c.kid) fail('trust.ErrKeyIDMismatch');", ""],
  ["TRUST-09 chain", "lib/trust.mjs", "if (!chainsTo(c, root, keyInstant(c, now))) fail('trust.ErrUntrustedKey', 'chain');", ""],
  ["TRUST-09 policy code", "lib/trust.mjs", "if (c.policy.code !== a.code) fail", "if (false) fail"],
  ["TRUST-10 genuine only on compromised", "lib/trust.mjs", "if (k.state !== 'compromised' || !isObj(g)", "if (!isObj(g)"],
  ["TRUST-12 signer_kid", "lib/trust.mjs", "if (!ok) fail(M, 'list signer');", ""],
  ["TRUST-12 list agency", "lib/trust.mjs", "if (!ag) fail(M, 'list agency');", "if (!ag) continue;"],
  ["TRUST-14 issued_at rollback", "lib/trust.mjs", "state.seq < previous.seq || iat < previous.issuedAt ||", "state.seq < previous.seq ||"],
  ["TRUST-06 next_update > issued_at", "lib/trust.mjs", "|| !(nu > iat)", ""],
  ["TRUST-21 genuine header", "lib/trust.mjs", "if (gs.kid !== kid || gs.since !== k.since || gs.count !== Number(k.genuine.count)) fail", "if (false) fail"],
  ["TRUST-20 canonical (sorted lists)", "lib/trust.mjs", "throw new Error('lists not sorted');", ""],
  ["STATUS-06 lst base64url canonical", "lib/enc.mjs", "if (b.toString('base64url') !== s) fail('base64url non-canonical');", ""],
  ["STATUS-05 ttl > 0", "lib/status.mjs", "if (p.ttl !== undefined && (!isInt(p.ttl) || !(p.ttl > 0))) fail(M, 'ttl');", ""],
  ["STATUS-12 padding bits", "lib/status.mjs", "if ((stream[b >> 3] >> (b & 7)) & 1) fail(M, 'padding bits');", ""],
  ["STATUS-12 index < entries", "lib/status.mjs", "if (idx >= entries) fail(M, 'index past entries');", ""],
  ["STATUS-13 delta uri", "lib/status.mjs", "if (duri !== uri) fail('statuslist.ErrWrongList');", ""],
  ["STATUS-13 delta expiry", "lib/status.mjs", "if (now >= d.exp) {", "if (false) {"],
  ["STATUS-14 digest of B", "lib/status.mjs", "if (!bytesEq(sm3(b), d.digest)) fail(W, 'digest of B');", ""],
  ["QR-05 zlib trailing data", "lib/enc.mjs", "if (consumed !== buf.length) fail('zlib trailing data');", ""],
  ["CRED-05 exp", "lib/credential.mjs", "else if (!isNum(p.exp) || p.exp !== startCST(lic.valid_until) + 86400) return R('MALFORMED', 'exp');", ""],
  ["CRED-16 holder_code_type", "lib/credential.mjs", "if (lic.holder_code_type !== wantType) return", "if (false) return"],
  ["CRED-16 jti issuer", "lib/credential.mjs", "id.type !== cls.type_code || id.issuer !== p.iss", "id.type !== cls.type_code"],
  ["CRED-16 type_code/name", "lib/credential.mjs", "if (lic.type_code !== cls.type_code || lic.name !== cls.name_zh) return", "if (false) return"],
  ["CRED-16 valid_until >= valid_from", "lib/credential.mjs", "if (lic.valid_until !== '长期' && lic.valid_until < lic.valid_from) return", "if (false) return"],
  ["CRED-07 cnf", "lib/credential.mjs", "} catch { return R('MALFORMED', 'cnf point'); }", "} catch { }"],
  ["CAT-09 fixed term length", "lib/catalogue.mjs", "if (!ok) return 'fixed term length';", ""],
  ["CAT-10 long term allowed", "lib/catalogue.mjs", "if (val.kind !== 'none' && longTerm && !val.long_term_allowed) return '长期 not allowed';", ""],
  ["CAT-12 max_len", "lib/catalogue.mjs", "if (f.max_len > 0 && cps.length > f.max_len) return 'too long';", ""],
  ["CAT-15 text control chars", "lib/catalogue.mjs", "case 'text': if (CC.test(value) || /[\\u2028\\u2029]/.test(value)) return 'control character'; break;", "case 'text': break;"],
  ["CAT-16 date bounds", "lib/catalogue.mjs", "for (const d of dates) if (d < floor || d > '2199-12-31') return 'date out of bounds';", ""],
  ["ID-13 embedded org code", "lib/ids.mjs", "return validOrgCode(s.slice(8, 17));", "return true;"],
  ["ID-16 birth date not after today", "lib/ids.mjs", "if (iso < '1800-01-01' || iso > todayCST(nowSec)) return false;", "if (iso < '1800-01-01') return false;"],
  ["ID-05 version 000", "lib/ids.mjs", "|| version === '000') return null;", ") return null;"],
  ["LEDGER-04 proof length", "lib/ledger.mjs", "if (sn !== 0n) fail('tlog.ErrInclusionProof', 'proof too short');", ""],
  ["LEDGER-07 signature base64 canonical", "lib/ledger.mjs", "try { raw = b64Decode(m[2]); } catch { fail(M, 'signature base64'); }", "raw = Buffer.from(m[2], 'base64');"],
  ["LEDGER-06 size no leading zeros", "lib/ledger.mjs", "if (!/^(?:0|[1-9][0-9]*)$/.test(size)) fail(B, 'size');", "if (!/^[0-9]+$/.test(size)) fail(B, 'size');"],
  ["LEDGER-12 key id check", "lib/ledger.mjs", "if (hex(noteKeyID(name, point)) !== idh.toLowerCase()) fail('tlog.ErrBadKey', 'key id');", ""],
  ["GRANT-13 expiry", "lib/grants.mjs", "if (p.iat > now + 60 || now < p.nbf || (p.exp !== undefined && now >= p.exp)) fail('ErrExpired');", ""],
  ["GRANT-16 refused decision", "lib/grants.mjs", "if (c.decision !== 'approve') fail('ErrRefused');", ""],
  ["GRANT-16 licence", "lib/grants.mjs", "if (c.licence !== p.jti && !c.licence.startsWith(p.jti + '#')) fail", "if (false) fail"],
  ["GRANT-16 consented not disclosed", "lib/grants.mjs", "for (const k of cfields) if (!disclosed.has(k)) fail('ErrMismatch', 'consented, not disclosed: ' + k);", ""],
  ["GRANT-02 proof iat past edge", "lib/grants.mjs", "if (p.iat < now - 60 || p.iat > now + 60) fail('ErrExpired');", "if (p.iat < now - 60) fail('ErrExpired');"],
  ["SEAL-11 not yet valid", "lib/seals.mjs", "if (s.signingTime < s.validStart) return V('SEAL_NOT_YET_VALID');", ""],
  ["SEAL-12 signer cert not yet valid", "lib/seals.mjs", "if (s.signingTime < signer.notBefore) return V('SIGNER_CERT_NOT_YET_VALID');", ""],
  ["SEAL-16 an unknown TSA is untrusted, not invalid", "lib/seals.mjs", "return { genTime, trusted };", "return trusted || !tsaRoots ? { genTime, trusted } : null;"],
  ["SEAL-15 only a trusted time-stamp counts", "lib/seals.mjs", "if (ts.trusted) tsTime = ts.genTime;", "tsTime = ts.genTime;"],
  ["SEAL-16 imprint of the signature value", "lib/seals.mjs", " || !bytesEq(octets(mi[1]), sm3(sigValue))) return null;", ") return null;"],
  ["SEAL-16 TSA signature", "lib/seals.mjs", "if (!verifyRS(tsa.pub, signed, rs.r, rs.s)) return null;", ""],
  ["SEAL-16 genTime within the TSA certificate", "lib/seals.mjs", "if (genTime < tsa.notBefore || genTime > tsa.notAfter) return null;", ""],
  ["SEAL-17 not before the signing time", "lib/seals.mjs", "|| ts.genTime < s.signingTime - 300) return V('BAD_TIMESTAMP')", ") return V('BAD_TIMESTAMP')"],
  ["SEAL-02 algorithms", "lib/seals.mjs", "if (s.alg !== SM2SIG || s.makerAlg !== SM2SIG || s.dataHash.length !== 32) return V('UNSUPPORTED_ALGORITHM');", ""],
  ["OFD-03 reference repeated", "lib/ofd.mjs", "if (seen.has(fp)) bad('reference repeated');", ""],
  ["OFD-02 namespace", "lib/ofd.mjs", "if (ns !== NS && ns !== NS_OLD) bad", "if (false) bad"],
  ["OFD-01 names repeated case-folded", "lib/ofd.mjs", "if (files.has(name) || folded.has(f)) bad('entry repeated');", ""],
  ["OFD-09 SIGNER_NOT_IN_SEAL is SIGNATURE_INVALID", "lib/ofd.mjs", "SIGNER_NOT_IN_SEAL: 'SIGNATURE_INVALID'", "SIGNER_NOT_IN_SEAL: 'UNTRUSTED_SIGNER'"],
  ["OFD-09 maker untrusted only now: EXPIRED", "lib/ofd.mjs", "if (second.code !== 'seal:MAKER_UNTRUSTED') return", "if (true) return"],
  ["OFD-09 first pass as of signing", "lib/ofd.mjs", "if (first.code !== 'seal:VALID') return", "if (false) return"],
  ["SEAL-16 only a time-stamping certificate is trusted", "lib/seals.mjs", "const trusted = !!tsaRoots && stamping &&", "const trusted = !!tsaRoots &&"],
  ["OFD-10 an agency's seal EXPIRED since it sealed still carries the licence", "lib/ofd.mjs", "(s.verdict === 'EXPIRED' && s.sealedValid)", "false"],
  ["OFD-10 other signatures' verdicts stand over an expired agency seal", "lib/ofd.mjs", "for (const s of sigs) if (s.verdict !== 'EXPIRED' || !s.sealedValid) doc = worst(doc, s.verdict);", ""],
  ["OFD-10 such a seal revoked now carries nothing", "lib/ofd.mjs", "sealedValid: !revokedNow", "sealedValid: true"],
  ["OFD-10 no token: unchecked", "lib/ofd.mjs", "if (token === undefined || token === '') return unchecked('no 证照二维码');", ""],
  ["OFD-10 status refusals: not valid", "lib/ofd.mjs", "if (QR_NOT_VALID.has(q.code)) return", "if (false) return"],
  ["OFD-10 static token only", "lib/ofd.mjs", "if (q.code !== 'VALID_STATIC') return", "if (q.code !== 'VALID_STATIC' && q.code !== 'VALID') return"],
  ["OFD-10 identifier matches 证照标识", "lib/ofd.mjs", "if (q.id !== id) return", "if (false) return"],
  ["OFD-10 holder matches 持证主体", "lib/ofd.mjs", "if (q.holder !== meta.get('持证主体')) return", "if (false) return"],
  ["OFD-10 agency matches 颁发机构代码", "lib/ofd.mjs", "if (q.agency !== meta.get('颁发机构代码')) return", "if (false) return"],
  ["OFD-10 every shown file protected", "lib/ofd.mjs", "[...shown].every((f) => s.refs.has(f)) &&", ""],
  ["OFD-10 sealed by the agency's key", "lib/ofd.mjs", "agency.keys.some((k) => keyOK(k, s) && k.cert.pub.x === s.signerPub.x && k.cert.pub.y === s.signerPub.y)", "true"],
  ["OFD-10 key retired before signing", "lib/ofd.mjs", "(k.state === 'retired' && s.signingTime < k.since)", "k.state === 'retired'"],
  ["OFD-10 only a less severe verdict replaced", "lib/ofd.mjs", "if (licence && (doc === 'EXPIRED' || ORDER.indexOf(doc) > ORDER.indexOf('LICENCE_UNCHECKED'))) {", "if (licence) {"],
  ["OFD-05 content type signedData", "lib/sign.mjs", "if (!SIGNED.includes(oid(ct))) form('content type ' + oid(ct));", ""],
  ["OFD-05 PKCS #7 signedData also read", "lib/sign.mjs", "const SIGNED = ['1.2.156.10197.6.1.4.2.2', '1.2.840.113549.1.7.2'];", "const SIGNED = ['1.2.156.10197.6.1.4.2.2'];"],
  ["OFD-05 one signer", "lib/sign.mjs", "if (list.length !== 1) form(", "if (list.length < 1) form("],
  ["OFD-05 signer certificate by issuer and serial", "lib/sign.mjs", "if (pc.issuerRaw === hex(issuer.raw) && pc.serial === hex(serial.content)) { signer = pc; break; }", "{ signer = pc; break; }"],
  ["OFD-05 signer certificate's serial", "lib/sign.mjs", "pc.issuerRaw === hex(issuer.raw) && pc.serial === hex(serial.content)", "pc.issuerRaw === hex(issuer.raw)"],
  ["OFD-05 messageDigest present", "lib/sign.mjs", "if (!messageDigest) form('signed attributes without messageDigest');", ""],
  ["OFD-05 SM3 digest algorithm", "lib/sign.mjs", "if (s.digestAlg !== SM3 || !SM2SIGS.includes(s.sigAlg))", "if (!SM2SIGS.includes(s.sigAlg))"],
  ["OFD-05 messageDigest = SM3(Signature.xml)", "lib/sign.mjs", "if (!bytesEq(s.messageDigest, sm3(sxml))) return", "if (false) return"],
  ["OFD-05 attributes re-tagged as SET", "lib/sign.mjs", "msg = new Uint8Array(s.attrs.raw); msg[0] = 0x31;", "msg = s.attrs.raw;"],
  ["OFD-05 SM2 signature", "lib/sign.mjs", "if (!sigOK(s.signer.pub, msg, s.value)) return", "if (false) return"],
  ["OFD-05 signing time within the certificate", "lib/sign.mjs", "if (at !== null && (at < s.signer.notBefore || at > s.signer.notAfter)) return", "if (false) return"],
  ["OFD-05 signer chains to the roots", "lib/sign.mjs", "if (chains(now)) return", "if (true) return"],
  ["OFD-05 expired since signing: EXPIRED", "lib/sign.mjs", "if (at !== null && chains(at)) return", "if (false) return"],
  ["OFD-07 partially protected", "lib/ofd.mjs", "if (doc === 'VALID' && uncovered.length) {", "if (false) {"],
  ["OFD-07 protection is the union of the signatures'", "lib/ofd.mjs", "!sigs.some((s) => s.verdict === 'VALID' && s.ok.has(f))", "!sigs.every((s) => s.verdict === 'VALID' && s.ok.has(f))"],
  ["OFD-07 a named file is shown, present or not", "lib/ofd.mjs", "const add = (p) => { shown.add(p); return files.has(p); };", "const add = (p) => { if (files.has(p)) shown.add(p); return files.has(p); };"],
  ["OFD-07 the warning names the unprotected files", "lib/ofd.mjs", "const unprotected = [...shown].filter((f) => !sigs.some((s) => s.ok.has(f))).sort();", "const unprotected = [];"],
  ["CERT-01 SDA critical", "lib/der.mjs", "if (critical) fail('SDA critical');", ""],
  ["CERT-02 role value range", "lib/der.mjs", "if (r < 1 || r > 4) fail('role value');", ""],
  ["CERT-09 receipt key usage", "lib/trust.mjs", "if (!ku.keyEncipherment || ku.digitalSignature || ku.contentCommitment || ku.keyCertSign || ku.cRLSign) return { role: null };", ""],
  ["GM-03 DER minimal integers", "lib/der.mjs", "if (b.length > 1 && ((b[0] === 0 && !(b[1] & 0x80)) || (b[0] === 0xff && (b[1] & 0x80)))) fail('non-minimal integer');", ""],
  ["JWS-02 crit", "lib/jws.mjs", "if ('crit' in header) throw new JWSError('malformed', 'crit');", ""],
];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conformance-js-mutate-'));
const undetected = [], stale = [];
for (const [name, file, from, to] of MUTATIONS) {
  const dir = path.join(tmp, 'js');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(here, dir, { recursive: true, filter: (s) => !s.includes('node_modules') });
  const p = path.join(dir, file);
  const text = fs.readFileSync(p, 'utf8');
  if (text.split(from).length !== 2) { console.log(`PATTERN NOT FOUND ONCE  ${name}`); stale.push(name); continue; }
  fs.writeFileSync(p, text.replace(from, to));
  const kitArgs = extra.includes('--kit') ? [] : ['--kit', path.join(here, '..')];
  const r = spawnSync(process.execPath, [path.join(dir, 'run.mjs'), ...kitArgs, ...extra], { encoding: 'utf8' });
  const fails = r.stdout.split('\n').filter((l) => l.trim().startsWith('FAIL')).map((l) => l.trim().slice(5).split(':')[0]);
  console.log(`${fails.length ? 'noticed   ' : 'UNNOTICED '} ${name}${fails.length ? '  (' + fails.slice(0, 3).join(', ') + ')' : ''}`);
  if (!fails.length) undetected.push(name);
}
fs.rmSync(tmp, { recursive: true, force: true });
const tried = MUTATIONS.length - stale.length;
console.log(`\n${tried - undetected.length} of ${tried} removed checks noticed by the kit; not noticed:`);
for (const n of undetected) console.log('  ' + n);
if (stale.length) { console.log(`${stale.length} mutation(s) whose pattern is not in the code (fix mutate.mjs):`); for (const n of stale) console.log('  ' + n); }
process.exit(stale.length ? 1 : 0);
