// 电子证照 · 柜台核验 — the counter page. No external code; nodes are
// built with textContent only.
(() => {
  'use strict';

  const T = {
    zh: {
      title: '电子证照 · 柜台核验', subtitle: '离线核验 · 本机信任数据',
      'scan.label': '扫码枪扫描持证人二维码（或粘贴二维码内容后按回车）', 'scan.placeholder': '等待扫码…',
      photo: '拍照/上传', camera: '摄像头扫码', 'camera.shot': '拍摄并核验', 'camera.close': '关闭摄像头',
      busy: '核验中…', idleHead: '等待扫码', idle: '请扫描持证人出示的二维码',
      holder: '持证主体', class: '证照类型', agency: '颁发机构', validity: '有效期', id: '证照标识', status: '状态数据',
      fields: '出示的信息项', foot: '本页面仅在本机运行；核验结果记入本机核验记录（不含持证人姓名与信息项）。',
      lang: 'English', longTerm: '长期', to: '至', checkedAt: '核验时间 ', noStatus: '未使用状态数据',
      error: '请求失败', cameraError: '无法打开摄像头：',
      since: (d) => '不晚于 ' + d + ' 起',
      contact: (a) => '请持证人联系颁发机构' + (a ? ' ' + a + ' ' : '') + '查询原因',
      trust: '信任数据', synced: (x) => '上次同步 ' + x, never: '尚未成功同步', next: (x) => '下次同步 ' + x,
      nextDue: '下次同步 即将进行', syncNow: '立即同步', syncing: '同步中…', syncOK: '同步成功',
      syncFail: '同步失败：', usingLast: (x) => '正在使用上次成功同步的数据（' + x + '）', noData: '本机尚无成功同步的信任数据',
      noServer: '无法连接本机核验服务：',
      'ofd.title': '核验 OFD 文件', 'ofd.pick': '选择 OFD 文件', 'ofd.drop': '或将 .ofd 文件拖放到此处',
      'ofd.asOf': '按签名时间核验（旧文档，证书现已过期）', 'ofd.foot': '上传的 OFD 文件仅在本机内存中核验，不保存、不记录。',
      sigKind: (n, type) => '签名 ' + n + ' · ' + (type === 'Sign' ? '电子签名' : '电子印章'),
      sealName: '印章', maker: '制章人', signer: '签名人', signedAt: '签名时间', refs: '受保护文件', format: '格式',
      refsMatch: (a, b) => a + '/' + b + ' 一致', asOfSigning: ' · 按签名时间核验', noSigs: '文档中没有签名',
      timestamp: '时间戳', tsTrusted: ' · 可信（时间戳机构已在本机固定）', tsUntrusted: ' · 未采信（本机未固定该时间戳机构的根证书）',
    },
    en: {
      title: 'e-Licence · Counter Check', subtitle: 'Offline verification · local trust data',
      'scan.label': 'Scan the holder\'s QR with the scanner (or paste its text and press Enter)', 'scan.placeholder': 'Waiting for a scan…',
      photo: 'Photo / upload', camera: 'Camera', 'camera.shot': 'Capture and check', 'camera.close': 'Close camera',
      busy: 'Checking…', idleHead: 'Ready', idle: 'Scan the QR code the holder shows',
      holder: 'Holder', class: 'Licence', agency: 'Issued by', validity: 'Valid', id: 'Identifier', status: 'Status data',
      fields: 'Fields shown', foot: 'This page runs on this machine only; each check is recorded in the local verification log (without the holder\'s name or fields).',
      lang: '中文', longTerm: 'no end date', to: 'to', checkedAt: 'Checked at ', noStatus: 'no status data used',
      error: 'Request failed', cameraError: 'Cannot open the camera: ',
      since: (d) => 'Since ' + d + ' at the latest',
      contact: (a) => 'Ask the holder to contact the issuing agency' + (a ? ', ' + a + ',' : '') + ' for the reason',
      trust: 'Trust data', synced: (x) => 'synced ' + x, never: 'never synced', next: (x) => 'next sync ' + x,
      nextDue: 'next sync due now', syncNow: 'Sync now', syncing: 'Syncing…', syncOK: 'Synced',
      syncFail: 'Sync failed: ', usingLast: (x) => 'Using the data of the last good sync (' + x + ')', noData: 'No trust data has been synced yet',
      noServer: 'Cannot reach the counter service: ',
      'ofd.title': 'Check an OFD file', 'ofd.pick': 'Choose an OFD file', 'ofd.drop': 'or drop an .ofd file here',
      'ofd.asOf': 'As of signing (old documents whose certificates have since expired)', 'ofd.foot': 'An uploaded OFD file is checked in memory on this machine only; it is neither kept nor logged.',
      sigKind: (n, type) => 'Signature ' + n + ' · ' + (type === 'Sign' ? 'digital signature' : 'electronic seal'),
      sealName: 'Seal', maker: 'Seal maker', signer: 'Signer', signedAt: 'Signed', refs: 'Protected files', format: 'Format',
      refsMatch: (a, b) => a + '/' + b + ' match', asOfSigning: ' · as of signing', noSigs: 'The document has no signature',
      timestamp: 'Time-stamp', tsTrusted: ' · trusted (its authority is pinned here)', tsUntrusted: ' · not trusted (its authority\'s root is not pinned here)',
    },
  };
  // Headlines of the page's own errors (API refusals, no connection).
  const errHead = {
    zh: { NO_QR: '未找到二维码', BAD_IMAGE: '图片无法识别', TOO_LARGE: '内容过大', EMPTY: '内容为空', NETWORK: '无法连接', NO_CAMERA: '无法打开摄像头', BAD_TOKEN: '页面已失效，请刷新',
      NOT_OFD: '不是 OFD 文件', NO_FILE: '文件为空', NO_TRUST: '信任数据不可用' },
    en: { NO_QR: 'No QR code found', BAD_IMAGE: 'Unreadable image', TOO_LARGE: 'Too large', EMPTY: 'Empty', NETWORK: 'No connection', NO_CAMERA: 'No camera', BAD_TOKEN: 'Page expired: reload',
      NOT_OFD: 'Not an OFD file', NO_FILE: 'Empty file', NO_TRUST: 'Trust data unavailable' },
  };
  let lang = localStorage.getItem('elicense.counter.lang') === 'en' ? 'en' : 'zh';
  let last = null; // the last result or error, redrawn on a language change
  const $ = (id) => document.getElementById(id);
  const t = (k) => T[lang][k] || k;
  const input = $('scan-input');

  function applyLang() {
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
    document.title = t('title');
    for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
    for (const e of document.querySelectorAll('[data-i18n-placeholder]')) e.placeholder = t(e.dataset.i18nPlaceholder);
    $('lang-btn').textContent = t('lang');
    if (last) show(last);
    showTrust();
  }

  function focusInput() {
    if (!$('camera').hidden) return;
    if (document.activeElement !== input) input.focus({ preventScroll: true });
  }

  // span is a whole number of seconds in words: "3 分钟", "3 min".
  function span(sec) {
    const en = lang === 'en';
    if (sec < 60) return sec + (en ? ' s' : ' 秒');
    if (sec < 3600) return Math.floor(sec / 60) + (en ? ' min' : ' 分钟');
    if (sec < 86400) return Math.floor(sec / 3600) + (en ? ' h' : ' 小时');
    const d = Math.floor(sec / 86400);
    return d + (en ? (d === 1 ? ' day' : ' days') : ' 天');
  }
  function before(sec) {
    if (sec < 60) return lang === 'en' ? 'just now' : '刚刚';
    return span(sec) + (lang === 'en' ? ' ago' : '前');
  }
  const after = (sec) => (lang === 'en' ? 'in ' : '') + span(sec) + (lang === 'en' ? '' : '后');

  function ago(sec) {
    return lang === 'en' ? 'Status data updated ' + before(sec) : '状态数据 ' + before(sec) + '更新';
  }

  const day = (s) => (s ? String(s).slice(0, 10) : '');
  // chinaDay is the China (UTC+8) date of an instant, whatever zone the
  // JSON wrote it in: licence dates are China dates.
  const chinaDay = (s) => {
    const t = Date.parse(s);
    return Number.isNaN(t) ? '' : new Date(t + 8 * 3600 * 1000).toISOString().slice(0, 10);
  };

  function setText(id, s) { $(id).textContent = s || '—'; }

  function setHead(headline, code) {
    $('v-headline').textContent = headline;
    $('v-code').textContent = code || '';
    $('v-code').hidden = !code;
  }

  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const when = (iso) => new Date(iso).toLocaleString(lang === 'en' ? 'en-GB' : 'zh-CN');

  function listInto(ul, items) {
    ul.replaceChildren();
    for (const x of items || []) ul.append(el('li', '', x));
    ul.hidden = ul.childElementCount === 0;
  }

  // showOFD draws an OFD document's verdict: the document's in the
  // panel's head, then one entry per signature, then the warnings.
  function showOFD(r) {
    const en = lang === 'en';
    $('panel').dataset.colour = r.colour;
    setHead(r.headline || r.code, r.code);
    $('v-message').textContent = en ? r.message_en : r.message;
    $('v-time').textContent = t('checkedAt') + when(r.checked_at) + (r.as_of_signing ? t('asOfSigning') : '');
    $('v-body').hidden = true;
    const list = $('v-sigs');
    list.replaceChildren();
    (r.signatures || []).forEach((s, i) => {
      const li = el('li', 'sig');
      li.dataset.colour = s.colour;
      li.dataset.verdict = s.verdict;
      const head = el('div', 'sig-head');
      head.append(el('span', 'sig-headline', s.headline || s.verdict), el('span', 'sig-code', s.verdict), el('span', 'sig-kind', T[lang].sigKind(i + 1, s.type)));
      li.append(head, el('div', 'sig-message', en ? s.message_en : s.message));
      const facts = el('dl', 'sig-facts');
      const fact = (k, v) => { if (v) facts.append(el('dt', '', t(k)), el('dd', '', v)); };
      fact('sealName', s.seal_name ? s.seal_name + (s.esid ? '（' + s.esid + '）' : '') : '');
      fact('maker', s.maker);
      fact('signer', s.signer);
      fact('signedAt', s.signed_at ? when(s.signed_at) : '');
      fact('timestamp', s.timestamp_at ? when(s.timestamp_at) + t(s.timestamp_trusted ? 'tsTrusted' : 'tsUntrusted') : '');
      fact('refs', T[lang].refsMatch(s.references_matched || 0, (s.references || []).length));
      fact('format', s.format);
      li.append(facts);
      if (s.detail) li.append(el('div', 'sig-detail mono', s.detail));
      const ws = en ? s.warnings_en : s.warnings;
      if (ws && ws.length) {
        const ul = el('ul', 'sig-warnings');
        listInto(ul, ws);
        li.append(ul);
      }
      for (const n of s.notes || []) li.append(el('div', 'sig-note', n));
      list.append(li);
    });
    list.hidden = list.childElementCount === 0;
    listInto($('v-warnings'), en ? r.warnings_en : r.warnings);
    const detail = [r.detail || (list.hidden ? t('noSigs') : ''), ...(r.notes || [])].filter(Boolean).join('\n');
    $('v-detail').textContent = detail;
    $('v-detail').hidden = !detail;
  }

  function show(r) {
    const panel = $('panel');
    const warn = $('v-warnings');
    warn.replaceChildren();
    $('v-note').hidden = true;
    $('v-sigs').hidden = true;
    if (r.ofd) {
      showOFD(r.ofd);
      return;
    }
    if (r.error) {
      const code = r.error.code || 'ERROR';
      panel.dataset.colour = 'red';
      setHead(errHead[lang][code] || t('error'), code);
      $('v-message').textContent = r.error.message || t('error');
      $('v-time').textContent = '';
      $('v-body').hidden = true;
      warn.hidden = true;
      $('v-detail').hidden = true;
      return;
    }
    panel.dataset.colour = r.colour;
    setHead(r.headline || r.code, r.code);
    $('v-message').textContent = lang === 'en' ? r.message_en : r.message;
    $('v-time').textContent = t('checkedAt') + new Date(r.checked_at).toLocaleString(lang === 'en' ? 'en-GB' : 'zh-CN');
    const l = r.licence;
    if (r.code === 'REVOKED' || r.code === 'SUSPENDED') {
      // The status list carries the state only, no reason: the date the
      // counter first saw it, and who can say why.
      const since = l && l.status_since ? chinaDay(l.status_since) : '';
      $('v-since').textContent = since ? T[lang].since(since) : '';
      $('v-since').hidden = !since;
      $('v-action').textContent = T[lang].contact(r.agency || '');
      $('v-note').hidden = false;
    }
    $('v-body').hidden = !l;
    if (l) {
      setText('v-holder', l.holder_name + (l.holder_code ? '（' + l.holder_code + '）' : ''));
      setText('v-class', lang === 'en' ? l.class_name_en : l.class_name);
      setText('v-agency', (r.agency || '') + (r.agency_code ? ' (' + r.agency_code + ')' : ''));
      setText('v-validity', day(l.valid_from) + ' ' + t('to') + ' ' + (l.valid_until ? day(l.valid_until) : t('longTerm')));
      setText('v-id', l.id);
      const st = $('v-status');
      st.textContent = l.status_list ? ago(r.status_age_seconds) : t('noStatus');
      st.classList.toggle('status-old', r.status_age_seconds >= 86400);
      const fl = $('v-fields');
      fl.replaceChildren();
      for (const f of r.fields || []) {
        const dt = document.createElement('dt');
        dt.textContent = f.label;
        dt.dataset.key = f.key;
        const dd = document.createElement('dd');
        dd.textContent = f.value;
        fl.append(dt, dd);
      }
      $('v-fields-wrap').hidden = !(r.fields && r.fields.length);
    }
    if (r.code === 'VALID_STATIC') {
      const li = document.createElement('li');
      li.textContent = lang === 'en' ? 'Check the holder\'s identity document.' : '请核对持证人身份证件';
      warn.append(li);
    }
    for (const w of r.warnings || []) {
      const li = document.createElement('li');
      li.textContent = w;
      warn.append(li);
    }
    warn.hidden = warn.childElementCount === 0;
    $('v-detail').textContent = r.detail || '';
    $('v-detail').hidden = !r.detail;
  }

  // The per-start token (see the package doc) is in the page's meta tag.
  const tokenMeta = () => document.querySelector('meta[name="counter-token"]');

  // refreshToken fetches the page again for the token of a restarted
  // counter; a page left open all day outlives the process that served it.
  async function refreshToken() {
    try {
      const resp = await fetch('./', { cache: 'no-store', credentials: 'same-origin' });
      const doc = new DOMParser().parseFromString(await resp.text(), 'text/html');
      const m = doc.querySelector('meta[name="counter-token"]');
      if (!m || !m.content || m.content === tokenMeta().content) return false;
      tokenMeta().content = m.content;
      return true;
    } catch (e) {
      return false;
    }
  }

  // api sends a request with the token and returns {ok, data}; a network
  // failure throws.
  async function api(path, method, body, headers) {
    for (let retried = false; ; retried = true) {
      const h = Object.assign({ 'X-Counter-Token': tokenMeta().content }, headers || {});
      const resp = await fetch(path, { method, body, headers: h, credentials: 'same-origin', cache: 'no-store' });
      let data;
      try { data = await resp.json(); } catch (e) { data = { code: 'HTTP_' + resp.status, message: t('error') }; }
      if (resp.status === 403 && data.code === 'BAD_TOKEN' && !retried && await refreshToken()) continue;
      return { ok: resp.ok, status: resp.status, data };
    }
  }

  // post sends a check; an OFD document's answer is kept as {ofd: …}.
  async function post(path, body, headers, ofd) {
    $('busy').hidden = false;
    try {
      const r = await api(path, 'POST', body, headers);
      last = !r.ok ? { error: r.data } : ofd ? { ofd: r.data } : r.data;
    } catch (e) {
      last = { error: { code: 'NETWORK', message: t('error') + ': ' + e.message } };
    } finally {
      $('busy').hidden = true;
    }
    show(last);
    focusInput();
  }

  // Trust data: when it was synced, when the next sync is due, the last
  // failure, and the 立即同步 button.
  let trust = null; // the last /api/status answer
  let skew = 0; // the counter's clock minus the browser's, in ms
  let trustErr = ''; // why /api/status could not be read
  let syncResult = null; // {ok, error} of the last press of the button
  let syncBusy = false;
  const secsSince = (iso) => Math.round((Date.now() + skew - Date.parse(iso)) / 1000);

  function showTrust() {
    const box = $('trust');
    if (!trust && !trustErr) { box.hidden = true; return; }
    box.hidden = false;
    const banner = $('t-banner');
    if (!trust) {
      $('t-synced').textContent = '';
      $('t-next').textContent = '';
      $('sync-btn').hidden = true;
      banner.dataset.level = 'red';
      banner.textContent = t('noServer') + trustErr;
      banner.hidden = false;
      return;
    }
    const s = trust;
    $('t-synced').textContent = s.synced_at ? T[lang].synced(before(secsSince(s.synced_at))) : t('never');
    const due = s.next_sync ? -secsSince(s.next_sync) : null;
    $('t-next').textContent = due === null ? '' : due >= 60 ? T[lang].next(after(due)) : t('nextDue');
    $('t-next').hidden = due === null;
    const btn = $('sync-btn');
    btn.hidden = !s.can_sync;
    btn.disabled = syncBusy || !!s.syncing;
    btn.textContent = btn.disabled ? t('syncing') : t('syncNow');
    const res = $('t-result');
    // A failure the banner below already says is not said twice.
    res.hidden = !syncResult || (!syncResult.ok && syncResult.error === s.last_error);
    if (syncResult) {
      res.dataset.ok = String(syncResult.ok);
      res.textContent = syncResult.ok ? t('syncOK') : t('syncFail') + syncResult.error;
    }
    // A failed sync, said plainly: the last good data keeps working.
    const lines = [];
    if (s.last_error) {
      lines.push(t('syncFail') + s.last_error);
      lines.push(s.synced_at ? T[lang].usingLast(before(secsSince(s.synced_at))) : t('noData'));
    } else if (!s.synced_at) {
      lines.push(t('noData'));
    }
    for (const w of s.warnings || []) lines.push(w);
    banner.replaceChildren();
    for (const x of lines) {
      const d = document.createElement('div');
      d.textContent = x;
      banner.append(d);
    }
    banner.dataset.level = !s.synced_at || (s.warnings && s.warnings.length) ? 'red' : 'amber';
    banner.hidden = lines.length === 0;
  }

  let polling = null;
  async function loadStatus() {
    try {
      const resp = await fetch('api/status', { credentials: 'same-origin', cache: 'no-store' });
      if (resp.status === 404) { // this counter reports no status: hide it
        trust = null;
        trustErr = '';
        clearInterval(polling);
        showTrust();
        return;
      }
      const data = await resp.json();
      if (!resp.ok) throw new Error(data.message || 'HTTP ' + resp.status);
      setStatus(data);
    } catch (e) {
      trust = null;
      trustErr = e.message;
      showTrust();
    }
  }
  function setStatus(s) {
    trust = s;
    trustErr = '';
    skew = Date.parse(s.now) - Date.now();
    showTrust();
  }

  $('sync-btn').addEventListener('click', async () => {
    if (syncBusy) return;
    syncBusy = true;
    syncResult = null;
    showTrust();
    try {
      const r = await api('api/sync', 'POST');
      syncResult = r.ok ? { ok: r.data.ok, error: r.data.error || '' } : { ok: false, error: r.data.message || t('error') };
      if (r.ok && r.data.status) setStatus(r.data.status);
    } catch (e) {
      syncResult = { ok: false, error: e.message };
    } finally {
      syncBusy = false;
    }
    showTrust();
    focusInput();
  });

  $('scan-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    input.value = '';
    focusInput();
    if (text) post('api/check', JSON.stringify({ text }), { 'Content-Type': 'application/json' });
  });

  $('file-input').addEventListener('change', (ev) => {
    const f = ev.target.files && ev.target.files[0];
    ev.target.value = '';
    if (!f) return;
    const fd = new FormData();
    fd.append('image', f, f.name || 'photo');
    post('api/image', fd);
  });

  // OFD files: picked or dropped, sent as the raw body.
  const ofdOn = !!document.querySelector('meta[name="counter-ofd"]');
  $('ofd').hidden = !ofdOn;
  $('ofd-foot').hidden = !ofdOn;
  function checkOFD(f) {
    const q = $('ofd-asof').checked ? '?as_of_signing=1' : '';
    post('api/ofd' + q, f, { 'Content-Type': 'application/octet-stream' }, true);
  }
  $('ofd-input').addEventListener('change', (ev) => {
    const f = ev.target.files && ev.target.files[0];
    ev.target.value = '';
    if (f) checkOFD(f);
  });
  // A file dropped anywhere on the page: an .ofd file is checked as a
  // document, an image as a photo of a QR.
  const dragged = (ev) => ev.dataTransfer && Array.from(ev.dataTransfer.types || []).includes('Files');
  document.addEventListener('dragover', (ev) => {
    if (!dragged(ev)) return;
    ev.preventDefault();
    $('ofd-drop').classList.add('over');
  });
  document.addEventListener('dragleave', (ev) => {
    if (!ev.relatedTarget) $('ofd-drop').classList.remove('over');
  });
  document.addEventListener('drop', (ev) => {
    if (!dragged(ev)) return;
    ev.preventDefault();
    $('ofd-drop').classList.remove('over');
    const f = ev.dataTransfer.files[0];
    if (!f) return;
    if (ofdOn && (/\.ofd$/i.test(f.name) || f.type === 'application/ofd')) {
      checkOFD(f);
    } else if (f.type.startsWith('image/')) {
      const fd = new FormData();
      fd.append('image', f, f.name || 'photo');
      post('api/image', fd);
    }
  });

  // Camera: a frame of the preview goes to the server as a PNG.
  let stream = null;
  function closeCamera() {
    if (stream) for (const tr of stream.getTracks()) tr.stop();
    stream = null;
    $('camera-video').srcObject = null;
    $('camera').hidden = true;
    focusInput();
  }
  $('camera-btn').addEventListener('click', async () => {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      last = { error: { code: 'NO_CAMERA', message: t('cameraError') + 'getUserMedia' } };
      show(last);
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
      $('camera-video').srcObject = stream;
      $('camera').hidden = false;
    } catch (e) {
      last = { error: { code: 'NO_CAMERA', message: t('cameraError') + e.message } };
      show(last);
      focusInput();
    }
  });
  $('camera-shot').addEventListener('click', () => {
    const v = $('camera-video');
    if (!v.videoWidth) return;
    const c = document.createElement('canvas');
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    c.getContext('2d').drawImage(v, 0, 0);
    c.toBlob((b) => { if (b) post('api/image', b, { 'Content-Type': 'image/png' }); }, 'image/png');
  });
  $('camera-close').addEventListener('click', closeCamera);

  $('lang-btn').addEventListener('click', () => {
    lang = lang === 'en' ? 'zh' : 'en';
    localStorage.setItem('elicense.counter.lang', lang);
    applyLang();
    focusInput();
  });

  // Keep the scanner's input focused: a wedge scanner types wherever the focus is.
  input.addEventListener('blur', () => setTimeout(() => {
    const a = document.activeElement;
    if (!a || a === document.body) focusInput();
  }, 0));
  document.addEventListener('click', (ev) => {
    if (!ev.target.closest('button, label, input, a, video')) focusInput();
  });
  window.addEventListener('focus', focusInput);

  applyLang();
  focusInput();
  loadStatus();
  // The status every 15 s (as Options.TrustStatus says); the relative
  // times are redrawn in between.
  polling = setInterval(loadStatus, 15000);
  setInterval(() => { if (trust) showTrust(); }, 5000);
})();
