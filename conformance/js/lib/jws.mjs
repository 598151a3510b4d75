// Compact JWS with alg SM2SM3 (credential.md §1, JWS-01..04).
import { b64urlDecode } from './enc.mjs';
import { parseJSON, isObj } from './json.mjs';
import { verifyFixed } from './sm.mjs';

export class JWSError extends Error { constructor(kind, m) { super(m); this.kind = kind; } }
// kind: 'malformed' | 'badsig'

const utf8 = new TextDecoder('utf-8', { fatal: true });
// Parses the header and keeps payload bytes; does not verify. typ: the format's typ.
export function parseJWS(token, typ, { jsonOpts = {} } = {}) {
  if (typeof token !== 'string' || token.length > 96 * 1024 * 1024) throw new JWSError('malformed', 'token');
  const parts = token.split('.');
  if (parts.length !== 3) throw new JWSError('malformed', 'not three parts');
  let hb, pb, sig;
  try { hb = b64urlDecode(parts[0]); pb = b64urlDecode(parts[1]); sig = b64urlDecode(parts[2]); } catch { throw new JWSError('malformed', 'base64url'); }
  let header;
  try { header = parseJSON(utf8.decode(hb), jsonOpts); } catch (e) { throw new JWSError('malformed', 'header json: ' + e.message); }
  if (!isObj(header)) throw new JWSError('malformed', 'header not an object');
  if (header.alg !== 'SM2SM3') throw new JWSError('malformed', 'alg');
  if (header.typ !== typ) throw new JWSError('malformed', 'typ');
  if ('crit' in header) throw new JWSError('malformed', 'crit');
  return { header, payloadBytes: pb, sig, signingInput: new TextEncoder().encode(parts[0] + '.' + parts[1]) };
}
export function verifyJWSSig(j, pub) {
  if (j.sig.length !== 64) return false;
  return verifyFixed(pub, j.signingInput, j.sig);
}
export function payloadJSON(j, jsonOpts = {}) {
  return parseJSON(utf8.decode(j.payloadBytes), jsonOpts);
}
