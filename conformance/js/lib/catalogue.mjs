// The licence class catalogue (catalogue.md) and its field validators (CAT-11 .. CAT-18).
import { validUSCC, validResidentID, validOrgCode, realDate } from './ids.mjs';

export class Catalogue {
  constructor(doc) {
    this.doc = doc;
    this.valueSets = doc.value_sets || {};
    this.classes = doc.classes;
    this.byKey = new Map(doc.classes.map((c) => [c.key, c]));
    this.byType = new Map(doc.classes.map((c) => [c.type_code, c]));
  }
  field(cls, key) { return cls.fields.find((f) => f.key === key); }
  fieldByNumber(cls, n) { return n >= 1 && n <= cls.fields.length ? cls.fields[n - 1] : undefined; } // CAT-04
  number(cls, key) { return cls.fields.findIndex((f) => f.key === key) + 1; }
}

// Unicode White_Space
const WS = /^[\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]$/u;
const CC = /[\u0000-\u001F\u007F-\u009F]/u;

const CUR = ['人民币', '美元', '欧元', '港元', '日元', '英镑'];
function money(v) {
  let s = v;
  if (s.endsWith('整')) s = s.slice(0, -1);
  let cur = null;
  for (const c of CUR) if (s.startsWith(c)) { cur = c; s = s.slice(c.length); break; }
  if (!cur) for (const c of CUR) if (s.endsWith(c)) { cur = c; s = s.slice(0, -c.length); break; }
  let yuan = false;
  if (s.endsWith('元')) { yuan = true; s = s.slice(0, -1); }
  if (s.endsWith('万') || s.endsWith('亿')) s = s.slice(0, -1);
  if (!cur && !yuan) return false;
  return /^(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,6})?$/.test(s);
}
function parseDate(s) {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(s);
  if (!m) return null;
  const y = +m[1], mo = +m[2], d = +m[3];
  if (y < 1800 || y > 2199 || !realDate(y, mo, d)) return null;
  return s;
}
function vin(v) {
  if (!/^[0-9A-HJ-NPR-Z]{17}$/.test(v)) return false;
  const tr = (c) => { if (/[0-9]/.test(c)) return +c; const T = { A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8, J: 1, K: 2, L: 3, M: 4, N: 5, P: 7, R: 9, S: 2, T: 3, U: 4, V: 5, W: 6, X: 7, Y: 8, Z: 9 }; return T[c]; };
  const W = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
  let sum = 0; for (let i = 0; i < 17; i++) sum += tr(v[i]) * W[i];
  const c = sum % 11;
  return v[8] === (c === 10 ? 'X' : String(c));
}
function int(v, f) {
  if (!/^-?(?:0|[1-9][0-9]*)$/.test(v) || v === '-0') return false;
  const n = BigInt(v);
  if (n < -(2n ** 63n) || n >= 2n ** 63n) return false;
  if (f.min !== undefined && n < BigInt(f.min)) return false;
  if (f.max !== undefined && n > BigInt(f.max)) return false;
  return true;
}
export function compilePattern(p) {
  // CAT-18: RE2 syntax; \p{Han} is \p{Script=Han} in ECMAScript.
  return new RegExp('^(?:' + p.replace(/\\p\{Han\}/g, '\\p{Script=Han}') + ')$', 'u');
}

// Returns null when valid, else a reason. nowSec: the verifier's clock (resident_id birth dates).
export function validateField(cat, f, value, nowSec) {
  if (typeof value !== 'string') return 'not a string';
  if (value === '') return f.required ? 'required' : null; // CAT-11
  // CAT-12 (valid UTF-8: JS strings from a fatal decoder; lone surrogates refused)
  if (/[\uD800-\uDFFF]/u.test(value.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) return 'not UTF-8';
  const cps = [...value];
  if (f.max_len > 0 && cps.length > f.max_len) return 'too long';
  if (WS.test(cps[0]) || WS.test(cps[cps.length - 1])) return 'leading or trailing white space';
  // CAT-15 type
  const dates = [];
  switch (f.type) {
    case 'text': if (CC.test(value) || /[\u2028\u2029]/.test(value)) return 'control character'; break;
    case 'longtext': if (/[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u2028\u2029]/u.test(value)) return 'control character'; break;
    case 'date': if (!parseDate(value)) return 'bad date'; dates.push(value); break;
    case 'datetime': {
      const m = /^([0-9]{4}-[0-9]{2}-[0-9]{2}) ([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(value);
      if (!m || !parseDate(m[1])) return 'bad datetime'; dates.push(m[1]); break;
    }
    case 'term': {
      if (value === '长期') break;
      const m = /^([0-9-]{10})至(.*)$/u.exec(value);
      if (!m || !parseDate(m[1])) return 'bad term';
      dates.push(m[1]);
      if (m[2] !== '长期') { if (!parseDate(m[2])) return 'bad term'; if (m[2] < m[1]) return 'term start after end'; dates.push(m[2]); }
      break;
    }
    case 'enum': {
      const vals = f.values || cat.valueSets[f.value_set] || [];
      if (!vals.includes(value)) return 'not an allowed value'; break;
    }
    case 'money': if (!money(value)) return 'bad money'; break;
    case 'uscc': if (!validUSCC(value)) return 'bad uscc'; break;
    case 'resident_id': if (!validResidentID(value, nowSec)) return 'bad resident id'; break;
    case 'org_code': if (!validOrgCode(value)) return 'bad org code'; break;
    case 'uscc_or_resident_id': if (!validUSCC(value) && !validResidentID(value, nowSec)) return 'bad code'; break;
    case 'licence_no': if (/\s/u.test(value) || cps.some((c) => WS.test(c)) || CC.test(value)) return 'white space or control'; break;
    case 'plate_no': if (!/^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳]$/u.test(value)) return 'bad plate'; break;
    case 'vin': if (!vin(value)) return 'bad vin'; break;
    case 'phone': if (!/^(?:1[3-9][0-9]{9}|0[1-9][0-9]{1,2}-?[1-9][0-9]{6,7}(?:-[0-9]{1,6})?|1[0-9]{4}|9[0-9]{4}|[48]00-?[0-9]{3}-?[0-9]{4})$/.test(value)) return 'bad phone'; break;
    case 'int': if (!int(value, f)) return 'bad int'; break;
    case 'area': if (!/^(?:0|[1-9][0-9]{0,9})(?:\.[0-9]{1,4})?(?:㎡|m²|平方米)?$/u.test(value)) return 'bad area'; break;
    default: return 'unknown type';
  }
  // CAT-16 date bounds
  if (f.dates) {
    const floor = f.dates === 'event' ? '1800-01-01' : '1949-10-01';
    for (const d of dates) if (d < floor || d > '2199-12-31') return 'date out of bounds';
  }
  // CAT-18 pattern
  if (f.pattern && !compilePattern(f.pattern).test(value)) return 'pattern';
  return null;
}

// CAT-08
export function holderKindOK(cls, code, nowSec) {
  if (cls.holder_kind === 'organization') return validUSCC(code);
  if (cls.holder_kind === 'person') return validResidentID(code, nowSec);
  return validUSCC(code) || validResidentID(code, nowSec);
}

// Days since epoch of 'YYYY-MM-DD'
export const dayNum = (s) => Date.UTC(+s.slice(0, 4), +s.slice(5, 7) - 1, +s.slice(8, 10)) / 86400000;
export const dayStr = (n) => new Date(n * 86400000).toISOString().slice(0, 10);
function addYears(s, n) {
  const y = +s.slice(0, 4) + n, m = +s.slice(5, 7), d = +s.slice(8, 10);
  // Feb 29 + n years in a non-leap year: take Mar 1? ambiguous; use normalisation of Date.UTC (Mar 1)
  return dayStr(Date.UTC(y, m - 1, d) / 86400000);
}

// CAT-09, CAT-10 and CAT-11..16 over a record (lic.fields): returns null or reason.
export function validateClass(cat, cls, fields, validFrom, validUntil, nowSec) {
  for (const k of Object.keys(fields)) if (!cls.fields.some((f) => f.key === k)) return 'unknown field ' + k; // CAT-13
  for (const f of cls.fields) {
    const v = fields[f.key] === undefined ? '' : fields[f.key];
    const r = validateField(cat, f, v, nowSec);
    if (r) return `field ${f.key}: ${r}`;
  }
  const val = cls.validity || { kind: 'none' };
  const longTerm = validUntil === '长期';
  if (val.kind === 'none' && !longTerm) return 'validity none needs 长期'; // CAT-10
  if (val.kind !== 'none' && longTerm && !val.long_term_allowed) return '长期 not allowed';
  if (val.field) {
    const f = cat.field(cls, val.field);
    const v = fields[val.field] || '';
    if (v !== '' && f) {
      if (f.type === 'date') {
        if (longTerm || v !== validUntil) return 'validity field disagrees';
      } else if (f.type === 'term') {
        let S, E;
        if (v === '长期') { S = null; E = '长期'; } else { const i = v.indexOf('至'); S = v.slice(0, i); E = v.slice(i + 1); }
        if (S === null) return 'term without start'; // "a start date is required"
        if (S !== validFrom) return 'term start disagrees';
        if (E !== validUntil) return 'term end disagrees';
        if (E === '长期' && !val.long_term_allowed) return '长期 not allowed';
        if (val.kind === 'fixed' && E !== '长期') {
          const ok = (val.term_years || []).some((n) => { const hi = addYears(S, n); const lo = dayStr(dayNum(hi) - 1); return E >= lo && E <= hi; });
          if (!ok) return 'fixed term length';
        }
      }
    }
  }
  return null;
}

// ---- the catalogue file (CAT-01 .. CAT-03) ----
export const TYPES = ['text', 'longtext', 'date', 'datetime', 'term', 'enum', 'money', 'uscc', 'resident_id', 'org_code', 'uscc_or_resident_id', 'licence_no', 'plate_no', 'vin', 'phone', 'int', 'area'];
// Returns null when the parsed document (duplicates already refused by the JSON reader) is a valid
// catalogue, else a reason.
export function checkCatalogueDoc(doc, validTypeCode) {
  const obj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const only = (o, allowed) => Object.keys(o).find((k) => !k.startsWith('_') && !allowed.includes(k));
  if (!obj(doc)) return 'not an object';
  let u = only(doc, ['type_code_scheme', 'value_sets', 'classes']); if (u) return 'unknown member ' + u;
  if (!Array.isArray(doc.classes) || !doc.classes.length) return 'classes';
  const vs = doc.value_sets === undefined ? {} : doc.value_sets;
  if (!obj(vs)) return 'value_sets';
  for (const [k, v] of Object.entries(vs)) if (!Array.isArray(v) || !v.length || !v.every((x) => typeof x === 'string')) return 'value set ' + k;
  const keys = new Set(), codes = new Set(), zh = new Set(), en = new Set();
  const CLASS = ['key', 'type_code', 'name_zh', 'name_en', 'issuer_kind', 'holder_kind', 'holder_name_field', 'holder_code_field', 'number_field', 'validity', 'max_status_staleness', 'stale_policy', 'pilot', 'fields'];
  const FIELD = ['key', 'name', 'type', 'required', 'max_len', 'values', 'value_set', 'pattern', 'min', 'max', 'dates', 'qr', 'printed'];
  for (const c of doc.classes) {
    if (!obj(c)) return 'class not an object';
    u = only(c, CLASS); if (u) return 'unknown class member ' + u;
    for (const m of CLASS) if (!(m in c) && m !== 'pilot' && m !== 'number_field') return `class ${c.key}: ${m} missing`;
    if (typeof c.key !== 'string' || !/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/.test(c.key) || c.key.length > 64 || keys.has(c.key)) return 'class key ' + c.key;
    keys.add(c.key);
    if (!validTypeCode(c.type_code) || codes.has(c.type_code)) return 'type_code ' + c.type_code;
    codes.add(c.type_code);
    if (typeof c.name_zh !== 'string' || !c.name_zh || zh.has(c.name_zh)) return 'name_zh'; zh.add(c.name_zh);
    if (typeof c.name_en !== 'string' || !c.name_en || en.has(c.name_en)) return 'name_en'; en.add(c.name_en);
    if (!['organization', 'person', 'either'].includes(c.holder_kind)) return 'holder_kind';
    if (!['fail', 'warn'].includes(c.stale_policy)) return 'stale_policy';
    if (typeof c.max_status_staleness !== 'string' || !/^(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?$/.test(c.max_status_staleness) || !c.max_status_staleness) return 'max_status_staleness';
    if ('pilot' in c && typeof c.pilot !== 'boolean') return 'pilot';
    if (!Array.isArray(c.fields) || !c.fields.length) return 'fields';
    const fk = new Set();
    for (const f of c.fields) {
      if (!obj(f)) return 'field not an object';
      u = only(f, FIELD); if (u) return 'unknown field member ' + u;
      if (typeof f.key !== 'string' || !/^[a-z][a-z0-9_]*$/.test(f.key) || f.key.length > 64 || fk.has(f.key)) return 'field key ' + f.key;
      fk.add(f.key);
      if (typeof f.name !== 'string' || !f.name) return 'field name';
      if (!TYPES.includes(f.type)) return 'field type ' + f.type;
      if (typeof f.required !== 'boolean') return 'required';
      if (!['always', 'optional', 'never'].includes(f.qr)) return 'qr';
      if ('printed' in f && typeof f.printed !== 'boolean') return 'printed';
      if ('max_len' in f && (!Number.isInteger(f.max_len) || f.max_len < 0)) return 'max_len';
      if (['text', 'longtext', 'licence_no'].includes(f.type) && !(f.max_len > 0)) return 'max_len required';
      if (f.type === 'enum') {
        const hasV = 'values' in f, hasS = 'value_set' in f;
        if (hasV === hasS) return 'enum values';
        if (hasV && (!Array.isArray(f.values) || !f.values.length)) return 'values';
        if (hasS && !vs[f.value_set]) return 'value_set';
      } else if ('values' in f || 'value_set' in f) return 'values on a non-enum';
      if ('pattern' in f) {
        if (!['text', 'longtext', 'licence_no'].includes(f.type) || typeof f.pattern !== 'string') return 'pattern';
        try { compilePattern(f.pattern); } catch { return 'pattern syntax'; }
      } else if (f.type === 'licence_no') return 'pattern required';
      if (('min' in f || 'max' in f) && f.type !== 'int') return 'min/max';
      if ('dates' in f && (!['date', 'datetime', 'term'].includes(f.type) || !['event', 'act', 'validity'].includes(f.dates))) return 'dates';
    }
    if (!fk.has(c.holder_name_field) || !fk.has(c.holder_code_field)) return 'holder fields';
    if ('number_field' in c) { // CAT-22
      const f = c.fields.find((x) => x.key === c.number_field);
      if (!f || !['licence_no', 'resident_id'].includes(f.type) || !f.required || f.printed === false) return 'number_field';
    }
    const v = c.validity;
    if (!obj(v) || !['fixed', 'variable', 'none'].includes(v.kind)) return 'validity';
    u = only(v, ['kind', 'term_years', 'long_term_allowed', 'field']); if (u) return 'unknown validity member ' + u;
    if (v.kind === 'fixed' && (!Array.isArray(v.term_years) || !v.term_years.length || !v.term_years.every((n) => Number.isInteger(n) && n > 0))) return 'term_years';
    if (v.kind !== 'fixed' && 'term_years' in v) return 'term_years on a non-fixed validity';
    if (v.kind === 'none' ? (v.field || v.long_term_allowed) : (v.field && !fk.has(v.field))) return 'validity field';
    if (v.field) { const f = c.fields.find((x) => x.key === v.field); if (!['date', 'term'].includes(f.type)) return 'validity field type'; }
  }
  return null;
}
