// 电子证照 · 我的证照 — the holder's web wallet over the SDK in wallet.wasm.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);

  const I18N = {
    zh: {
      'app.title': '电子证照', 'app.subtitle': '我的证照包', 'loading': '正在加载证照包…',
      'nav.lock': '锁定', 'nav.back': '‹ 返回',
      'unlock.title': '打开证照包', 'unlock.pass': '口令 / PIN', 'unlock.open': '打开',
      'unlock.help': '设备密钥在本机生成，以口令加密后保存在浏览器中。首次使用时设置的口令即为此后的口令。',
      'home.title': '我的证照', 'home.empty': '还没有证照。请使用发证机构提供的领证码领取。',
      'claim.title': '领取证照', 'claim.server': '发证机构地址', 'claim.code': '领证码', 'claim.submit': '领取',
      'common.cancel': '取消',
      'present.refresh': '秒后刷新', 'present.optional': '选择出示的可选信息',
      'present.help': '请向窗口工作人员出示此二维码。二维码每 30 秒更新一次，截图无效。',
      'present.remove': '从本机删除此证照',
      'present.ofd': '下载证照文件（OFD）', 'msg.ofdSaved': '证照文件已保存：{name}（盖有发证机构电子印章，可用任何 OFD 阅读器打开核验）',
      'msg.ofdKept': '无法联网，已保存本机留存的证照文件：{name}',
      'valid': '有效期', 'longterm': '长期', 'number': '编号', 'issuer': '颁发机构',
      'status.valid': '有效', 'status.unknown': '状态未核实',
      'status.suspended': '已暂停', 'status.revoked': '已吊销', 'status.superseded': '已换发',
      'st.refreshed': '状态更新于', 'st.never': '尚未核实状态', 'st.now': '刚刚',
      'st.min': ' 分钟前', 'st.hour': ' 小时前', 'st.day': ' 天前',
      'st.old': '证照状态上次核实于 {ago}，其间可能已有变化。仍可出示，窗口会自行核验；联网后将自动更新。',
      'st.unknown': '尚未核实该证照的最新状态。仍可出示，窗口会自行核验。',
      'st.failed': '状态更新失败：', 'st.offline': '当前离线，显示的是上次更新的状态。', 'st.updating': '正在更新证照状态…',
      'refusal.title': '不能出示此证照',
      'msg.opened': '证照包已打开', 'msg.claimed': '已领取：', 'msg.removed': '已删除',
      'msg.confirmRemove': '确定从本机删除此证照？（可凭新的领证码重新领取）',
      'qr.alt': '出示二维码', 'msg.wasmBuilding': '证照包程序正在准备（服务首次启动约需一两分钟），完成后自动打开……', 'licence.id': '证照标识', 'detail': '详情',
      'err.wasm_not_built': '本服务器尚未部署证照包程序，暂时无法使用。请联系发证机构。',
      'err.wasm_load': '无法加载证照包程序。请检查网络连接后刷新本页。',
      'err.unexpected': '出现意外错误。请刷新本页后重试；如仍不行，请联系发证机构，并提供详情中的信息。',
      'uses.problem': '未能在公开账本中核验此记录，可能被篡改。请联系发证机构。',
      'consent.title': '授权用证请求', 'consent.matter': '办理事项', 'consent.licence': '所需证照',
      'consent.duration': '授权期限', 'consent.use': '使用次数', 'consent.fields': '请求的信息（可取消勾选）',
      'consent.which': '使用哪一份证照', 'consent.none': '本证照包中没有可用于此请求的证照。请先领取相应证照。',
      'consent.refuse': '拒绝', 'consent.approve': '同意授权', 'consent.home': '返回我的证照',
      'consent.granted': '已授权 {rp} 使用所选信息，有效至 {until}。', 'consent.refused': '已拒绝该请求。',
      'consent.answered': '该请求已处理（{state}）。', 'consent.pickOne': '请至少勾选一项信息，或选择拒绝。',
      'consent.confirmRefuse': '确定拒绝该请求？', 'consent.grantId': '授权编号',
      'state.pending': '待处理', 'state.granted': '已授权', 'state.refused': '已拒绝', 'state.expired': '已过期',
      'state.active': '有效', 'state.used': '已使用', 'state.revoked': '已撤销',
      'uses.title': '用证记录', 'uses.load': '查看', 'uses.none': '暂无记录。', 'uses.loading': '正在读取并核验…',
      'uses.verified': '每条记录均已在公开账本中核验（✓）。', 'uses.unverified': '{n} 条记录未能核验（✗），请留意。',
      'use.claim': '领取到本机', 'use.grant': '授权 {rp}（{matter}）：{fields}', 'use.grant-use': '{rp} 使用了授权',
      'use.grant-revoked': '授权已撤销（{rp}）', 'use.counter-verified': '{counter} 核验：{verdict}',
      'grants.title': '授权', 'grants.revoke': '撤销', 'grants.until': '至',
      'grants.confirmRevoke': '确定撤销此授权？撤销后对方无法再取用。',
    },
    en: {
      'app.title': 'e-Licence', 'app.subtitle': 'My wallet', 'loading': 'Loading the wallet…',
      'nav.lock': 'Lock', 'nav.back': '‹ Back',
      'unlock.title': 'Open the wallet', 'unlock.pass': 'Passphrase / PIN', 'unlock.open': 'Open',
      'unlock.help': 'The device key is generated here and kept in the browser, encrypted under your passphrase. The passphrase you set the first time is the one to use afterwards.',
      'home.title': 'My licences', 'home.empty': 'No licences yet. Claim one with the code the issuing agency gave you.',
      'claim.title': 'Claim a licence', 'claim.server': 'Issuer address', 'claim.code': 'Claim code', 'claim.submit': 'Claim',
      'common.cancel': 'Cancel',
      'present.refresh': 's to refresh', 'present.optional': 'Optional details to show',
      'present.help': 'Show this code at the counter. It changes every 30 seconds; a screenshot will not be accepted.',
      'present.remove': 'Remove this licence from this device',
      'present.ofd': 'Download the licence file (OFD)', 'msg.ofdSaved': 'Licence file saved: {name} (sealed by the issuing agency; any OFD reader opens and checks it)',
      'msg.ofdKept': 'Offline: saved the copy kept on this device: {name}',
      'valid': 'Valid', 'longterm': 'long-term', 'number': 'No.', 'issuer': 'Issuer',
      'status.valid': 'valid', 'status.unknown': 'status not checked',
      'status.suspended': 'suspended', 'status.revoked': 'revoked', 'status.superseded': 'superseded',
      'st.refreshed': 'Status checked', 'st.never': 'Status not checked yet', 'st.now': 'just now',
      'st.min': ' min ago', 'st.hour': ' h ago', 'st.day': ' days ago',
      'st.old': 'The status was last checked {ago} and may have changed since. The licence can still be shown; the counter checks it itself, and the wallet updates it when online.',
      'st.unknown': 'The licence\'s current status has not been checked yet. It can still be shown; the counter checks it itself.',
      'st.failed': 'Could not update the status: ', 'st.offline': 'Offline: showing the status from the last update.', 'st.updating': 'Updating the status…',
      'refusal.title': 'This licence cannot be shown',
      'msg.opened': 'Wallet opened', 'msg.claimed': 'Claimed: ', 'msg.removed': 'Removed',
      'msg.confirmRemove': 'Remove this licence from this device? (A new claim code can bring it back.)',
      'qr.alt': 'Presentation QR code', 'msg.wasmBuilding': 'The wallet is being prepared (a minute or two on the server\'s first start); it opens by itself when ready…', 'licence.id': 'Licence identifier', 'detail': 'Details',
      'err.wasm_not_built': 'The wallet program is not installed on this server yet. Please contact the issuing agency.',
      'err.wasm_load': 'Could not load the wallet program. Check the network connection and reload this page.',
      'err.unexpected': 'Something unexpected went wrong. Reload this page and try again; if it persists, contact the issuing agency with the details.',
      'uses.problem': 'This entry could not be checked against the public ledger and may have been altered. Contact the issuing agency.',
      'consent.title': 'Request to use your licence', 'consent.matter': 'Service', 'consent.licence': 'Licence',
      'consent.duration': 'For', 'consent.use': 'Use', 'consent.fields': 'Details asked for (untick to withhold)',
      'consent.which': 'Which licence', 'consent.none': 'No licence in this wallet can answer this request. Claim the licence first.',
      'consent.refuse': 'Refuse', 'consent.approve': 'Approve', 'consent.home': 'Back to my licences',
      'consent.granted': '{rp} may use the chosen details until {until}.', 'consent.refused': 'You refused the request.',
      'consent.answered': 'This request has already been handled ({state}).', 'consent.pickOne': 'Tick at least one detail, or refuse.',
      'consent.confirmRefuse': 'Refuse this request?', 'consent.grantId': 'Authorisation',
      'state.pending': 'pending', 'state.granted': 'granted', 'state.refused': 'refused', 'state.expired': 'expired',
      'state.active': 'active', 'state.used': 'used', 'state.revoked': 'revoked',
      'uses.title': 'Uses of this licence', 'uses.load': 'Show', 'uses.none': 'No uses yet.', 'uses.loading': 'Reading and checking…',
      'uses.verified': 'Every entry was checked against the public ledger (✓).', 'uses.unverified': '{n} entries could not be checked (✗).',
      'use.claim': 'Claimed on this device', 'use.grant': 'Shared with {rp} ({matter}): {fields}', 'use.grant-use': '{rp} used the authorisation',
      'use.grant-revoked': 'Authorisation ended ({rp})', 'use.counter-verified': 'Checked at {counter}: {verdict}',
      'grants.title': 'Authorisations', 'grants.revoke': 'Revoke', 'grants.until': 'until',
      'grants.confirmRevoke': 'Revoke this authorisation? The service can no longer use it.',
    },
  };
  let lang = localStorage.getItem('elicense-wallet-lang') === 'en' ? 'en' : 'zh';
  const t = (k) => I18N[lang][k] || I18N.zh[k] || k;

  function applyLang() {
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
    document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
    $('lang-btn').textContent = lang === 'en' ? '中文' : 'EN';
    $('qr').alt = t('qr.alt');
    if (state.licences) renderCards();
    if (state.current) renderCurrent();
    if (state.refused) showRefusal(state.refused);
    if (typeof renderRequest === 'function') renderRequest();
    renderRefreshInfo();
  }

  // Status refresh: on opening the wallet, every REFRESH_MS while it is
  // open, and when the browser comes back online.
  const REFRESH_MS = 5 * 60 * 1000;
  const state = { licences: null, current: null, classes: {}, timer: 0, refreshAt: 0, presenting: false,
    refused: null, refreshing: false, refreshError: null, statusTimer: 0, clockTimer: 0 };

  // status shows a message; an error's technical detail goes in a
  // collapsed 详情 below it, never in the message.
  function status(msg, isError, detail) {
    const box = $('status');
    box.textContent = '';
    box.appendChild(el('span', 'msg', msg || ''));
    if (detail) {
      const d = el('details', 'detail');
      d.appendChild(el('summary', '', t('detail')));
      d.appendChild(el('code', '', detail));
      box.appendChild(d);
    }
    box.classList.toggle('error', !!isError);
    box.hidden = !msg;
  }
  // Errors are shown by their reason: the SDK's (mobile-sdk/wasm) carry
  // the holder's message in both languages (mobilesdk.ErrorMessage, by
  // mobilesdk.Reason); the page's own have a code of its I18N table.
  // Anything else is unexpected: its text is only ever a detail.
  function errMsg(e) {
    const sdk = e && (lang === 'en' ? e.messageEn : e.messageZh);
    if (sdk) return sdk;
    const k = 'err.' + (e && e.code);
    return I18N.zh[k] ? t(k) : t('err.unexpected');
  }
  const errDetail = (e) => String((e && (e.detail || e.message)) || e);
  function showError(e) {
    console.info('elicense wallet:', e && e.code, errDetail(e));
    status(errMsg(e), true, errDetail(e));
  }
  const fill = (k, vars) => t(k).replace(/\{(\w+)\}/g, (_, v) => (vars[v] === undefined ? '' : String(vars[v])));
  const day = (sec) => new Date(sec * 1000).toLocaleString(lang === 'en' ? 'en-GB' : 'zh-CN', { hour12: false });

  function show(id) {
    for (const s of ['loading', 'unlock', 'home', 'present', 'consent']) $(s).hidden = s !== id;
    $('lock-btn').hidden = id === 'loading' || id === 'unlock';
    if (id !== 'present') stopPresenting();
  }

  // ---- the WebAssembly SDK ----
  async function loadWasm() {
    const go = new Go();
    const fail = (code, detail) => Object.assign(new Error(detail), { code, detail });
    let resp;
    try {
      resp = await fetch('wallet.wasm');
      // A development server builds the module at start and answers
      // 503 until it is ready.
      while (resp.status === 503) {
        status(t('msg.wasmBuilding'));
        await new Promise((r) => setTimeout(r, 1000 * (Number(resp.headers.get('Retry-After')) || 5)));
        resp = await fetch('wallet.wasm');
      }
    } catch (e) {
      throw fail('wasm_load', String(e));
    }
    status('');
    if (!resp.ok) {
      let body = {};
      try { body = await resp.json(); } catch (_) { /* not JSON */ }
      throw fail(body.error === 'wasm_not_built' ? 'wasm_not_built' : 'wasm_load', 'GET wallet.wasm: HTTP ' + resp.status + (body.message ? ': ' + body.message : ''));
    }
    try {
      const { instance } = await WebAssembly.instantiateStreaming(resp, go.importObject);
      go.run(instance);
    } catch (e) {
      throw fail('wasm_load', String(e));
    }
    for (let i = 0; i < 100 && !window.elicenseWallet; i++) await new Promise((r) => setTimeout(r, 10));
    if (!window.elicenseWallet) throw fail('wasm_load', 'elicenseWallet missing after the module started');
  }
  const W = () => window.elicenseWallet;

  // ---- catalogue labels (best effort: the page works without them) ----
  async function loadClasses(server) {
    try {
      const r = await fetch(server.replace(/\/+$/, '') + '/v1/classes');
      if (!r.ok) return;
      for (const c of (await r.json()).classes || []) state.classes[c.key] = c;
    } catch (_) { /* offline: keys instead of labels */ }
  }
  function className(l) {
    const c = state.classes[l.class];
    if (lang === 'en' && c && c.name_en) return c.name_en;
    return l.name || (c && c.name_zh) || l.class;
  }
  function fieldLabel(l, key) {
    const c = state.classes[l.class];
    const f = c && (c.fields || []).find((x) => x.key === key);
    return (f && f.label) || key;
  }

  // ---- licence faces ----
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // ---- status ----
  const nowSec = () => W().now();
  function ago(sec) {
    if (sec < 60) return t('st.now');
    if (sec < 3600) return Math.floor(sec / 60) + t('st.min');
    if (sec < 86400) return Math.floor(sec / 3600) + t('st.hour');
    return Math.floor(sec / 86400) + t('st.day');
  }
  const blocked = (l) => !l.presentable;
  const stale = (l) => !blocked(l) && (l.status === 'unknown' || !l.refreshedAt || nowSec() - l.refreshedAt > l.statusMaxAge);
  // statusLine: "有效 · 状态更新于 3 分钟前".
  function statusLine(l) {
    const row = el('div', 'lic-status st-' + (blocked(l) ? 'bad' : stale(l) ? 'stale' : 'ok'));
    row.dataset.status = l.status;
    row.appendChild(el('span', 'dot'));
    row.appendChild(el('span', 'st-word', t('status.' + l.status)));
    const when = l.refreshedAt ? t('st.refreshed') + ' ' + ago(Math.max(0, nowSec() - l.refreshedAt)) : t('st.never');
    row.appendChild(el('span', 'st-when', when));
    return row;
  }
  function staleNote(l) {
    if (!stale(l)) return '';
    if (!l.refreshedAt || l.status === 'unknown') return t('st.unknown');
    return t('st.old').replace('{ago}', ago(nowSec() - l.refreshedAt));
  }
  function renderRefreshInfo() {
    const info = $('refresh-info');
    let msg = '';
    let bad = false;
    if (state.refreshing) msg = t('st.updating');
    else if (!navigator.onLine) msg = t('st.offline');
    else if (state.refreshError) { msg = t('st.failed') + errMsg(state.refreshError); bad = true; }
    info.textContent = msg;
    info.title = state.refreshError && !state.refreshing ? errDetail(state.refreshError) : '';
    info.hidden = !msg;
    info.classList.toggle('error', bad);
  }
  async function refreshStatus() {
    if (!state.licences || state.refreshing) return;
    if (!navigator.onLine || state.licences.length === 0) { renderRefreshInfo(); return; }
    state.refreshing = true;
    renderRefreshInfo();
    try {
      // Trust on first use of this page's issuer, whose code this already is.
      await W().pinRoot(location.origin);
      const r = await W().refresh();
      state.refreshError = r.error ? { code: r.code, messageZh: r.messageZh, messageEn: r.messageEn, detail: r.error } : null;
    } catch (e) {
      state.refreshError = e;
    }
    if (state.refreshError) console.info('elicense wallet: refresh:', errDetail(state.refreshError));
    state.refreshing = false;
    try {
      if (state.licences) await refreshList();
    } catch (e) {
      state.refreshError = e;
    }
    renderRefreshInfo();
    document.body.dataset.refreshed = String(Date.now());
  }
  function startRefreshing() {
    stopRefreshing();
    state.statusTimer = setInterval(refreshStatus, REFRESH_MS);
    // Keep the "3 分钟前" texts current.
    state.clockTimer = setInterval(() => { if (state.licences) renderCards(); if (state.current) renderStatus(state.current); }, 30000);
    refreshStatus();
  }
  function stopRefreshing() {
    clearInterval(state.statusTimer);
    clearInterval(state.clockTimer);
    state.statusTimer = state.clockTimer = 0;
  }
  window.addEventListener('online', refreshStatus);
  window.addEventListener('offline', renderRefreshInfo);

  function renderFace(root, l) {
    root.textContent = '';
    root.classList.toggle('inactive', blocked(l));
    root.appendChild(el('div', 'lic-class', className(l)));
    root.appendChild(el('div', 'lic-issuer', l.issuerName || ''));
    root.appendChild(el('div', 'lic-holder', l.holderName || ''));
    const meta = el('div', 'lic-meta');
    const until = l.validUntil === '长期' ? t('longterm') : l.validUntil;
    meta.appendChild(el('span', '', t('valid') + ' ' + (l.validFrom || '') + ' – ' + (until || '')));
    if (l.number) meta.appendChild(el('span', 'mono', t('number') + ' ' + l.number));
    root.appendChild(meta);
    // The identifier printed on the licence, by which the holder names it
    // (the CLI and the SDK take it, or the list number, for the copy).
    const ident = el('div', 'lic-id mono', t('licence.id') + ' ' + (l.copyOf || l.id));
    ident.dataset.index = String(l.index || '');
    root.appendChild(ident);
    root.appendChild(statusLine(l));
  }
  function renderStatus(l) {
    const line = $('face-status');
    line.textContent = '';
    line.appendChild(statusLine(l));
    const note = staleNote(l);
    $('stale-note').textContent = note;
    $('stale-note').hidden = !note;
  }
  function renderCurrent() {
    renderFace($('face'), state.current);
    renderStatus(state.current);
  }
  function renderCards() {
    const root = $('cards');
    root.textContent = '';
    for (const l of state.licences) {
      const b = el('button', 'licence');
      b.type = 'button';
      b.dataset.id = l.id;
      renderFace(b, l);
      b.addEventListener('click', () => openLicence(l));
      root.appendChild(b);
    }
    $('empty').hidden = state.licences.length > 0;
  }
  async function refreshList() {
    state.licences = await W().list();
    renderCards();
    const cur = state.current && state.licences.find((x) => x.id === state.current.id);
    if (!cur) return;
    const changed = cur.status !== state.current.status;
    state.current = cur;
    renderCurrent();
    // A refresh that revokes (or reinstates) the licence on show takes
    // effect at once: present() asks the SDK, which refuses or presents.
    if (changed || (state.refused && cur.presentable)) await present().catch((e) => showError(e));
  }

  // ---- presenting ----
  function pngWidth(bytes) {
    return ((bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19]) >>> 0;
  }
  function disclosed() {
    return Array.from(document.querySelectorAll('#opt-list input:checked')).map((i) => i.value).join(',');
  }
  function showRefusal(e) {
    state.refused = e;
    $('refusal-msg').textContent = (lang === 'en' ? e.messageEn : e.messageZh) || e.message;
    $('refusal').hidden = false;
    $('qr-panel').hidden = true;
    $('optional').hidden = true;
    const img = $('qr');
    img.removeAttribute('src');
    img.dataset.text = '';
  }
  function hideRefusal() {
    state.refused = null;
    $('refusal').hidden = true;
    $('qr-panel').hidden = false;
    $('optional').hidden = !(state.current && state.current.optional);
  }
  async function present() {
    const l = state.current;
    if (!l) return;
    let p;
    try {
      p = await W().present(l.id, disclosed());
    } catch (e) {
      if (e && e.code === 'not_presentable') {
        if (state.current && state.current.id === l.id) showRefusal(e);
        return;
      }
      throw e;
    }
    if (!state.current || state.current.id !== l.id) return;
    if (state.refused) hideRefusal();
    renderStatus(state.current); // its age, as of this presentation
    // Whole pixels per module: measure the code at one pixel per module,
    // then scale to about 280 CSS pixels on this screen.
    const dpr = window.devicePixelRatio || 1;
    const modules = pngWidth(await W().qrPNG(p.text, 1));
    const ppm = Math.max(1, Math.min(64, Math.floor(280 * dpr / modules)));
    const png = await W().qrPNG(p.text, ppm);
    const img = $('qr');
    const old = img.src;
    img.src = URL.createObjectURL(new Blob([png], { type: 'image/png' }));
    if (old) URL.revokeObjectURL(old);
    img.width = img.height = Math.round(modules * ppm / dpr);
    img.dataset.text = p.text;
    img.dataset.presentedAt = String(p.presentedAt);
    img.dataset.expiresAt = String(p.expiresAt);
    $('qr-text').textContent = p.text;
    state.refreshAt = p.refreshAt;
    tick();
  }
  function tick() {
    const left = Math.max(0, state.refreshAt - W().now());
    $('count').textContent = String(left);
    const fill = $('bar-fill');
    fill.style.width = Math.min(100, left / 30 * 100) + '%';
    fill.classList.toggle('low', left <= 5);
    if (left <= 0 && !state.presenting && !state.refused) {
      state.presenting = true;
      present().catch((e) => showError(e)).finally(() => { state.presenting = false; });
    }
  }
  function stopPresenting() {
    clearInterval(state.timer);
    state.timer = 0;
    state.current = null;
    state.refused = null;
    $('refusal').hidden = true;
    $('qr-panel').hidden = false;
  }
  async function openLicence(l) {
    status('');
    show('present');
    state.current = l;
    renderCurrent();
    const img = $('qr');
    img.removeAttribute('src');
    img.dataset.text = '';
    const opts = (l.optional || '').split(',').filter(Boolean);
    let fields = {};
    try { fields = JSON.parse(l.fields || '{}'); } catch (_) { /* shown without values */ }
    const list = $('opt-list');
    list.textContent = '';
    for (const k of opts) {
      const lab = el('label');
      const cb = el('input');
      cb.type = 'checkbox';
      cb.value = k;
      cb.addEventListener('change', () => { present().catch((e) => showError(e)); });
      const txt = el('span', '', fieldLabel(l, k));
      if (fields[k] !== undefined) txt.appendChild(el('span', 'opt-val', String(fields[k])));
      lab.append(cb, txt);
      list.appendChild(lab);
    }
    $('optional').hidden = opts.length === 0;
    resetRecords();
    window.scrollTo(0, 0);
    try {
      await present();
    } catch (e) {
      showError(e);
    }
    clearInterval(state.timer);
    state.timer = setInterval(tick, 1000);
  }

  // ---- 授权用证: answering a request (/wallet/?request=r_…) ----
  const requestID = new URLSearchParams(location.search).get('request');
  let req = null;
  function requestLink() { return location.origin + location.pathname + '?request=' + encodeURIComponent(requestID); }
  function licenceLabel(id) {
    const l = (state.licences || []).find((x) => x.id === id);
    return l ? className(l) + ' · ' + (l.holderName || '') + ' · ' + (l.copyOf || id) : id;
  }
  function consentDone(msg, ok) {
    $('req-answer').hidden = true;
    const done = $('req-done');
    done.textContent = msg;
    done.classList.toggle('ok', !!ok);
    done.hidden = false;
    // A reload must not offer the answered request again.
    history.replaceState(null, '', location.pathname);
  }
  function renderRequest() {
    if (!req) return;
    $('req-rp').textContent = req.rpName;
    $('req-org').textContent = req.orgName + ' · ' + req.orgCode;
    $('req-matter').textContent = req.matterName + '（' + req.matterCode + '）';
    $('req-class').textContent = req.className;
    $('req-duration').textContent = lang === 'en' ? req.durationEn : req.durationZh;
    $('req-use').textContent = lang === 'en' ? req.useEn : req.useZh;
  }
  async function openConsent() {
    show('consent');
    $('consent-loading').hidden = false;
    $('consent-body').hidden = true;
    status('');
    try {
      await W().pinRoot(location.origin); // trust on first use, as for the status
      req = await W().openRequest(requestLink());
    } catch (e) {
      $('consent-loading').hidden = true;
      showError(e);
      document.body.dataset.consent = 'error';
      return;
    }
    $('consent-loading').hidden = true;
    $('consent-body').hidden = false;
    $('req-answer').hidden = false;
    $('req-done').hidden = true;
    renderRequest();
    const list = $('req-fields');
    list.textContent = '';
    for (const f of JSON.parse(req.fields || '[]')) {
      const lab = el('label');
      const cb = el('input');
      cb.type = 'checkbox';
      cb.value = f.key;
      cb.checked = true;
      const txt = el('span', '', f.name || f.key);
      txt.appendChild(el('span', 'req-purpose', f.purpose || ''));
      lab.append(cb, txt);
      list.appendChild(lab);
    }
    const ids = (req.licences || '').split(',').filter(Boolean);
    const sel = $('req-lic');
    sel.textContent = '';
    for (const id of ids) {
      const o = el('option', '', licenceLabel(id));
      o.value = id;
      sel.appendChild(o);
    }
    $('req-lic-panel').hidden = ids.length < 2;
    $('req-none').hidden = ids.length > 0;
    $('approve-btn').disabled = $('refuse-btn').disabled = ids.length === 0;
    if (req.state !== 'pending') consentDone(fill('consent.answered', { state: t('state.' + req.state) }));
    document.body.dataset.consent = 'shown';
  }
  async function answer(approve) {
    if (!req) return;
    const fields = Array.from(document.querySelectorAll('#req-fields input:checked')).map((i) => i.value);
    if (approve && fields.length === 0) { status(t('consent.pickOne'), true); return; }
    if (!approve && !window.confirm(t('consent.confirmRefuse'))) return;
    const lic = $('req-lic').value;
    busy($('approve-btn'), true);
    busy($('refuse-btn'), true);
    status('');
    try {
      if (approve) {
        const g = await W().consent(req.id, lic, fields.join(','));
        consentDone(fill('consent.granted', { rp: req.rpName, until: day(g.notAfter) }) + ' ' + t('consent.grantId') + ' ' + g.id, true);
        document.body.dataset.consent = 'granted';
        document.body.dataset.grant = g.id;
      } else {
        await W().refuse(req.id, lic);
        consentDone(t('consent.refused'), true);
        document.body.dataset.consent = 'refused';
      }
    } catch (e) {
      showError(e);
    } finally {
      busy($('approve-btn'), false);
      busy($('refuse-btn'), false);
    }
  }

  // ---- 用证记录 and grants of the licence on show ----
  function resetRecords() {
    $('uses-list').hidden = $('grants-list').hidden = $('grants-title').hidden = true;
    $('uses-note').hidden = true;
    $('uses-list').textContent = $('grants-list').textContent = '';
  }
  function useText(l, u) {
    const fields = (u.fields || '').split(',').filter(Boolean).map((k) => fieldLabel(l, k)).join('、');
    return fill('use.' + u.kind, { rp: u.rpName || u.rpID, matter: u.matterName || u.matterCode, fields, counter: u.counter, verdict: u.verdict }) || u.kind;
  }
  async function loadRecords() {
    const l = state.current;
    if (!l) return;
    const note = $('uses-note');
    note.hidden = false;
    note.classList.remove('error');
    note.textContent = t('uses.loading');
    try {
      const [uses, grants] = await Promise.all([W().uses(l.id), W().grants(l.id)]);
      if (!state.current || state.current.id !== l.id) return;
      const list = $('uses-list');
      list.textContent = '';
      let bad = 0;
      for (const u of uses) {
        const li = el('li', u.verified ? 'ok' : 'bad');
        li.dataset.kind = u.kind;
        li.appendChild(el('span', 'tick', u.verified ? '✓' : '✗'));
        const what = el('span', 'what', useText(l, u));
        what.appendChild(el('span', 'when', day(u.time)));
        if (!u.verified) {
          bad++;
          const p = el('span', 'problem', t('uses.problem'));
          p.title = u.problem; // the technical reason, on demand
          what.appendChild(p);
        }
        li.appendChild(what);
        list.appendChild(li);
      }
      list.hidden = uses.length === 0;
      note.textContent = uses.length === 0 ? t('uses.none') : bad ? fill('uses.unverified', { n: bad }) : t('uses.verified');
      note.classList.toggle('error', bad > 0);
      // The issuer lists grants by code; the uses name the party and matter.
      const names = {};
      for (const u of uses) if (u.kind === 'grant' && u.verified) names[u.grant] = u;
      const gl = $('grants-list');
      gl.textContent = '';
      for (const g of grants) {
        const li = el('li');
        li.dataset.grant = g.id;
        li.dataset.state = g.state;
        const n = names[g.id] || {};
        const what = el('span', 'what', (g.rpName || n.rpName || g.rpID) + ' · ' + (g.matterName || n.matterName || g.matterCode));
        what.appendChild(el('span', 'when', t('state.' + g.state) + ' · ' + t('grants.until') + ' ' + day(g.notAfter)));
        li.appendChild(what);
        if (g.state === 'active') {
          const b = el('button', 'btn btn-ghost btn-small', t('grants.revoke'));
          b.type = 'button';
          b.addEventListener('click', async () => {
            if (!window.confirm(t('grants.confirmRevoke'))) return;
            try { await W().revokeGrant(l.id, g.id); await loadRecords(); } catch (e) { showError(e); }
          });
          li.appendChild(b);
        }
        gl.appendChild(li);
      }
      gl.hidden = $('grants-title').hidden = grants.length === 0;
      document.body.dataset.uses = String(Date.now());
    } catch (e) {
      console.info('elicense wallet: uses:', errDetail(e));
      note.textContent = errMsg(e);
      note.title = errDetail(e);
      note.classList.add('error');
    }
  }

  // ---- wiring ----
  $('approve-btn').addEventListener('click', () => answer(true));
  $('refuse-btn').addEventListener('click', () => answer(false));
  $('consent-home').addEventListener('click', () => { status(''); req = null; show('home'); });
  $('uses-btn').addEventListener('click', () => { loadRecords(); });
  function busy(btn, on) { btn.disabled = on; }

  $('lang-btn').addEventListener('click', () => {
    lang = lang === 'en' ? 'zh' : 'en';
    localStorage.setItem('elicense-wallet-lang', lang);
    applyLang();
  });
  $('unlock-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = $('open-btn');
    busy(btn, true);
    status('');
    try {
      await W().open($('pass').value);
      $('pass').value = '';
      await refreshList();
      show('home');
      status(t('msg.opened'));
      startRefreshing();
      if (requestID) await openConsent();
    } catch (e) {
      showError(e);
    } finally {
      busy(btn, false);
    }
  });
  $('lock-btn').addEventListener('click', () => {
    stopRefreshing();
    W().close();
    state.licences = null;
    $('cards').textContent = '';
    status('');
    show('unlock');
    $('pass').focus();
  });
  $('claim-toggle').addEventListener('click', () => {
    $('claim-form').hidden = !$('claim-form').hidden;
    if (!$('claim-form').hidden) $('code').focus();
  });
  $('claim-cancel').addEventListener('click', () => { $('claim-form').hidden = true; });
  $('claim-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = $('claim-btn');
    busy(btn, true);
    status('');
    try {
      const server = $('server').value.trim();
      // Pin the issuer's root on first use, so that the claim is verified
      // and its status read from the signed status list.
      await W().pinRoot(server);
      const l = await W().claim(server, $('code').value.trim());
      await loadClasses(server);
      $('code').value = '';
      $('claim-form').hidden = true;
      await refreshList();
      status(t('msg.claimed') + className(l) + ' · ' + t('licence.id') + ' ' + (l.copyOf || l.id));
    } catch (e) {
      showError(e);
    } finally {
      busy(btn, false);
    }
  });
  $('back-btn').addEventListener('click', () => { status(''); show('home'); });
  // The licence's sealed OFD file (GB/T 36905), fetched from the issuer
  // with a proof by this copy's device key and kept in the wallet; offline,
  // the kept copy.
  $('ofd-btn').addEventListener('click', async () => {
    const l = state.current;
    if (!l) return;
    const btn = $('ofd-btn');
    busy(btn, true);
    try {
      let bytes, msg = 'msg.ofdSaved';
      try {
        bytes = await W().fetchOFD(l.id);
      } catch (e) {
        const kept = navigator.onLine ? null : await W().ofd(l.id).catch(() => null);
        if (!kept) throw e;
        bytes = kept;
        msg = 'msg.ofdKept';
      }
      const name = (l.copyOf || l.id).replace(/[^0-9A-Za-z.]/g, '_') + '.ofd';
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/ofd' }));
      const a = el('a', '', '');
      a.href = url;
      a.download = name;
      a.id = 'ofd-link';
      a.dataset.size = String(bytes.length);
      a.hidden = true;
      $('ofd-link')?.remove();
      document.body.appendChild(a);
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      status(t(msg).replace('{name}', name));
    } catch (e) {
      showError(e);
    } finally {
      busy(btn, false);
    }
  });
  $('remove-btn').addEventListener('click', async () => {
    const l = state.current;
    if (!l || !window.confirm(t('msg.confirmRemove'))) return;
    try {
      await W().remove(l.id);
      await refreshList();
      show('home');
      status(t('msg.removed'));
    } catch (e) {
      showError(e);
    }
  });

  $('server').value = location.origin;
  applyLang();
  loadClasses(location.origin);
  loadWasm().then(() => {
    show('unlock');
    document.body.dataset.ready = '1';
  }, (e) => {
    $('loading').hidden = true;
    showError(e);
    document.body.dataset.ready = 'error';
  });
})();
