// 电子证照 · 柜台核验 — the counter page. No external code; nodes are
// built with textContent only.
(() => {
  'use strict';

  const T = {
    zh: {
      title: '电子证照 · 柜台核验', subtitle: '离线核验 · 本机信任数据',
      'scan.label': '扫码枪扫描持证人二维码（或粘贴二维码内容后按回车）', 'scan.placeholder': '等待扫码…',
      photo: '拍照/上传', camera: '摄像头扫码', 'camera.shot': '拍摄并核验', 'camera.close': '关闭摄像头',
      busy: '核验中…', idle: '请扫描持证人出示的二维码',
      holder: '持证主体', class: '证照类型', agency: '颁发机构', validity: '有效期', id: '证照标识', status: '状态数据',
      fields: '出示的信息项', foot: '本页面仅在本机运行；核验结果记入本机核验记录（不含持证人姓名与信息项）。',
      lang: 'English', longTerm: '长期', to: '至', checkedAt: '核验时间 ', noStatus: '未使用状态数据',
      error: '请求失败', cameraError: '无法打开摄像头：',
    },
    en: {
      title: 'e-Licence · Counter Check', subtitle: 'Offline verification · local trust data',
      'scan.label': 'Scan the holder\'s QR with the scanner (or paste its text and press Enter)', 'scan.placeholder': 'Waiting for a scan…',
      photo: 'Photo / upload', camera: 'Camera', 'camera.shot': 'Capture and check', 'camera.close': 'Close camera',
      busy: 'Checking…', idle: 'Scan the QR code the holder shows',
      holder: 'Holder', class: 'Licence', agency: 'Issued by', validity: 'Valid', id: 'Identifier', status: 'Status data',
      fields: 'Fields shown', foot: 'This page runs on this machine only; each check is recorded in the local verification log (without the holder\'s name or fields).',
      lang: '中文', longTerm: 'no end date', to: 'to', checkedAt: 'Checked at ', noStatus: 'no status data used',
      error: 'Request failed', cameraError: 'Cannot open the camera: ',
    },
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
  }

  function focusInput() {
    if (!$('camera').hidden) return;
    if (document.activeElement !== input) input.focus({ preventScroll: true });
  }

  function ago(sec) {
    if (lang === 'en') {
      if (sec < 60) return 'Status data updated ' + sec + ' s ago';
      if (sec < 3600) return 'Status data updated ' + Math.floor(sec / 60) + ' min ago';
      if (sec < 86400) return 'Status data updated ' + Math.floor(sec / 3600) + ' h ago';
      return 'Status data updated ' + Math.floor(sec / 86400) + ' days ago';
    }
    if (sec < 60) return '状态数据 ' + sec + ' 秒前更新';
    if (sec < 3600) return '状态数据 ' + Math.floor(sec / 60) + ' 分钟前更新';
    if (sec < 86400) return '状态数据 ' + Math.floor(sec / 3600) + ' 小时前更新';
    return '状态数据 ' + Math.floor(sec / 86400) + ' 天前更新';
  }

  const day = (s) => (s ? String(s).slice(0, 10) : '');

  function setText(id, s) { $(id).textContent = s || '—'; }

  function show(r) {
    const panel = $('panel');
    const warn = $('v-warnings');
    warn.replaceChildren();
    if (r.error) {
      panel.dataset.colour = 'red';
      $('v-code').textContent = r.error.code || 'ERROR';
      $('v-message').textContent = r.error.message || t('error');
      $('v-time').textContent = '';
      $('v-body').hidden = true;
      warn.hidden = true;
      $('v-detail').hidden = true;
      return;
    }
    panel.dataset.colour = r.colour;
    $('v-code').textContent = r.code;
    $('v-message').textContent = lang === 'en' ? r.message_en : r.message;
    $('v-time').textContent = t('checkedAt') + new Date(r.checked_at).toLocaleString(lang === 'en' ? 'en-GB' : 'zh-CN');
    const l = r.licence;
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

  async function post(path, body, headers) {
    $('busy').hidden = false;
    try {
      const resp = await fetch(path, { method: 'POST', body, headers, credentials: 'same-origin', cache: 'no-store' });
      let data;
      try { data = await resp.json(); } catch (e) { data = { code: 'HTTP_' + resp.status, message: t('error') }; }
      last = resp.ok ? data : { error: data };
    } catch (e) {
      last = { error: { code: 'NETWORK', message: t('error') + ': ' + e.message } };
    } finally {
      $('busy').hidden = true;
    }
    show(last);
    focusInput();
  }

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
})();
