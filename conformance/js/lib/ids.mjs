// Identifiers (identifiers.md): GB/T 36904 licence identifier (ID-01..07), USCC (ID-10..13),
// resident ID (ID-14..17), organisation code (ID-18..19), status list ID (ID-20).

const A36 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export function mod3736(s) {
  let p = 36;
  for (const c of s) {
    const v = A36.indexOf(c); if (v < 0) return null;
    let t = (p + v) % 36; if (t === 0) t = 36;
    p = (2 * t) % 37;
  }
  return A36[(37 - p) % 36];
}

const A31 = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const PAIRS = { 1: '1239', 2: '19', 3: '123459', 4: '19', 5: '1239', 6: '129', 7: '129', 8: '19', 9: '123', A: '19', N: '1239', Y: '1' };
export function validUSCC(s) {
  if (typeof s !== 'string' || s.length !== 18) return false;
  for (let i = 0; i < 18; i++) {
    const c = s[i];
    if (i >= 2 && i <= 7) { if (!/[0-9]/.test(c)) return false; } else if (A31.indexOf(c) < 0) return false;
  }
  if (!PAIRS[s[0]] || !PAIRS[s[0]].includes(s[1])) return false;
  const W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  let sum = 0; for (let i = 0; i < 17; i++) sum += A31.indexOf(s[i]) * W[i];
  if (A31[(31 - (sum % 31)) % 31] !== s[17]) return false;
  return validOrgCode(s.slice(8, 17));
}

export function validOrgCode(s) {
  if (typeof s !== 'string') return false;
  let body, chk;
  if (/^[0-9A-Z]{8}[0-9X]$/.test(s)) { body = s.slice(0, 8); chk = s[8]; }
  else if (/^[0-9A-Z]{8}-[0-9X]$/.test(s)) { body = s.slice(0, 8); chk = s[9]; }
  else return false;
  const W = [3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0; for (let i = 0; i < 8; i++) sum += A36.indexOf(body[i]) * W[i];
  const c = 11 - (sum % 11);
  return chk === (c === 10 ? 'X' : c === 11 ? '0' : String(c));
}

const PROV = new Set([11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83]);
// today: 'YYYY-MM-DD' in UTC+8 at the time of checking
export function todayCST(nowSec) { return new Date((nowSec + 8 * 3600) * 1000).toISOString().slice(0, 10); }
export function realDate(y, m, d) { const t = new Date(Date.UTC(y, m - 1, d)); return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d; }
export function validResidentID(s, nowSec) {
  if (typeof s !== 'string' || !/^[0-9]{17}[0-9X]$/.test(s)) return false;
  if (!PROV.has(+s.slice(0, 2))) return false;
  const y = +s.slice(6, 10), m = +s.slice(10, 12), d = +s.slice(12, 14);
  if (!realDate(y, m, d)) return false;
  const iso = `${s.slice(6, 10)}-${s.slice(10, 12)}-${s.slice(12, 14)}`;
  if (iso < '1800-01-01' || iso > todayCST(nowSec)) return false;
  const W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0; for (let i = 0; i < 17; i++) sum += +s[i] * W[i];
  const c = (12 - (sum % 11)) % 11;
  return s[17] === (c === 10 ? 'X' : String(c));
}

export function validTypeCode(s) { return typeof s === 'string' && s.length === 21 && /^[0-9]{3}$/.test(s.slice(18)) && validUSCC(s.slice(0, 18)); }
export function validSerial(s) { return typeof s === 'string' && /^[0-9A-Z]{1,32}$/.test(s); }
export function validDivision(s) {
  if (!/^[0-9]{6}$/.test(s)) return false;
  return PROV.has(+s.slice(0, 2));
}

// ID-01..ID-06. opts.allowDivision: accept a 6-digit division issuer code (ID-03 parenthetical).
export function parseLicenceID(s, { allowDivision = false } = {}) {
  const ROOT = '1.2.156.3005.2.';
  if (typeof s !== 'string' || !s.startsWith(ROOT)) return null;
  const parts = s.slice(ROOT.length).split('.');
  if (parts.length !== 5) return null;
  const [type, issuer, serial, version, check] = parts;
  if (!validTypeCode(type)) return null;
  if (!(validUSCC(issuer) || (allowDivision && validDivision(issuer)))) return null;
  if (!validSerial(serial)) return null;
  if (!/^[0-9]{3}$/.test(version) || version === '000') return null;
  if (check.length !== 1 || mod3736(type + issuer + serial + version) !== check) return null;
  return { type, issuer, serial, version: +version, check };
}

export function buildLicenceID(type, issuer, serial, version) {
  const v = String(version).padStart(3, '0');
  return `1.2.156.3005.2.${type}.${issuer}.${serial}.${v}.${mod3736(type + issuer + serial + v)}`;
}

export const validListID = (s) => typeof s === 'string' && /^[A-Za-z0-9._-]{1,16}$/.test(s);
