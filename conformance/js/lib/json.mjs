// A strict JSON reader (RFC 8259) that refuses repeated member names (GM-08) and reads integers
// beyond Number.MAX_SAFE_INTEGER as BigInt without loss (STATUS-10).
export class JSONError extends Error {}

export function parseJSON(text, { caseInsensitiveDuplicates = false } = {}) {
  let i = 0;
  const fail = (m) => { throw new JSONError(m + ' at ' + i); };
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  function value() {
    ws();
    const c = text[i];
    if (c === '{') {
      i++; const o = {}; const seen = new Set(); ws();
      if (text[i] === '}') { i++; return o; }
      for (;;) {
        ws(); if (text[i] !== '"') fail('key');
        const k = str();
        const kk = caseInsensitiveDuplicates ? k.toLowerCase() : k;
        if (seen.has(kk)) fail('duplicate member ' + k);
        seen.add(kk);
        ws(); if (text[i++] !== ':') fail(':');
        const v = value();
        Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return o; }
        fail('object');
      }
    }
    if (c === '[') {
      i++; const a = []; ws();
      if (text[i] === ']') { i++; return a; }
      for (;;) { a.push(value()); ws(); if (text[i] === ',') { i++; continue; } if (text[i] === ']') { i++; return a; } fail('array'); }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) { i += 4; return true; }
    if (text.startsWith('false', i)) { i += 5; return false; }
    if (text.startsWith('null', i)) { i += 4; return null; }
    const m = /^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) fail('value');
    i += m[0].length;
    if (!m[1] && !m[2]) { const n = BigInt(m[0]); return (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER)) ? n : Number(n); }
    return Number(m[0]);
  }
  function str() {
    i++; let s = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text[i++];
      if (c === '"') return s;
      if (c < ' ') fail('control in string');
      if (c === '\\') {
        const e = text[i++];
        const map = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e in map) s += map[e];
        else if (e === 'u') { const h = text.slice(i, i + 4); if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('\\u'); s += String.fromCharCode(parseInt(h, 16)); i += 4; }
        else fail('escape');
      } else s += c;
    }
  }
  const v = value(); ws();
  if (i !== text.length) fail('trailing');
  return v;
}

export const isInt = (v) => (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
export const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
