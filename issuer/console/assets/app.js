// 电子证照 · 发证机构控制台 (agency console).
//
// Plain JavaScript, no framework, no build step, no external URL. Talks to
// the issuer API under /v1 with the operator's bearer token, which is kept
// in sessionStorage only. Every value from the server is put in the page
// with textContent, never as HTML.
'use strict';

(() => {
  const TOKEN_KEY = 'elicense.console.token';
  const LANG_KEY = 'elicense.console.lang';
  const CHECKPOINT_EVERY = 5000; // ms
  const PAGE = 50;
  const HINT_BELOW = new Set(['term', 'longtext', 'money']); // other hints are placeholders

  const REVOKE_REASONS = ['注销', '吊销', '撤销', '变更', '遗失', '损毁'];
  const SUSPEND_REASONS = ['暂扣', '核查', '其他'];

  // Strings: key → [中文, English]. {0}, {1} … are arguments.
  const I18N = {
    'app.title': ['电子证照 · 发证机构控制台', 'Electronic Licences · Agency Console'],
    'app.subtitle': ['Electronic Licence · Agency Console', '电子证照 · 发证机构控制台'],
    'nav.issue': ['签发证照', 'Issue'],
    'nav.search': ['查询与管理', 'Search & manage'],
    'nav.logout': ['退出登录', 'Log out'],
    'login.title': ['操作员登录', 'Operator login'],
    'login.hint': ['粘贴管理员为您签发的访问令牌（Bearer JWT）。令牌只保存在本浏览器标签页的会话存储中，关闭标签页即清除。',
      'Paste the access token (bearer JWT) your administrator gave you. It is kept only in this tab\'s session storage and is gone when the tab closes.'],
    'login.token': ['访问令牌', 'Access token'],
    'login.submit': ['登录', 'Log in'],
    'login.checking': ['正在验证…', 'Checking…'],
    'login.notJWT': ['这不是有效的令牌（应为 xxx.yyy.zzz 形式的 JWT）。', 'This is not a token (a JWT looks like xxx.yyy.zzz).'],
    'login.expired': ['令牌已于 {0} 过期，请向管理员申请新令牌。', 'The token expired at {0}; ask your administrator for a new one.'],
    'login.rejected': ['服务器拒绝了该令牌（已过期、已撤销或不是本系统签发的）。请确认粘贴完整，或向管理员申请新令牌。', 'The server refused the token (expired, revoked, or not this system\'s). Check it was pasted whole, or ask your administrator for a new one.'],
    'login.tokenExpired': ['令牌已过期', 'the token has expired'],
    'login.sessionEnded': ['登录已失效（令牌已过期或被撤销），请重新登录：{0}', 'Your session ended (the token expired or was revoked); log in again: {0}'],
    'login.preview': ['令牌主体：{0} · 角色：{1} · 机构：{2} · 有效至 {3}', 'Subject: {0} · role: {1} · agency: {2} · valid until {3}'],
    'who.until': ['有效至 {0}', 'until {0}'],
    'who.allAgencies': ['全部机构', 'all agencies'],
    'who.classes': ['可办理：{0}', 'Classes: {0}'],
    'role.admin': ['管理员', 'Administrator'],
    'role.operator': ['经办人', 'Operator'],
    'role.auditor': ['审计员', 'Auditor'],
    'issue.class': ['证照类型', 'Licence class'],
    'issue.chooseClass': ['— 请选择证照类型 —', '— choose a licence class —'],
    'issue.classInfo': ['类型代码 {0} · 持证主体：{1}', 'Type code {0} · holder: {1}'],
    'holder.organization': ['法人或其他组织', 'organisation'],
    'holder.person': ['自然人', 'person'],
    'holder.either': ['法人、其他组织或自然人', 'organisation or person'],
    'issue.extra': ['更多选项（证照编号、发证日期）', 'More options (licence number, date of issue)'],
    'issue.number': ['证照编号', 'Licence number'],
    'issue.agency': ['发证机构', 'Issuing agency'],
    'issue.agencyHint': ['管理员代为签发时须指定机构', 'administrators must name the agency'],
    'issue.numberHint': ['留空则自动生成', 'leave empty to generate'],
    'issue.issuedOn': ['发证日期', 'Date of issue'],
    'issue.submit': ['签发', 'Issue'],
    'issue.submitting': ['签发中…', 'Issuing…'],
    'issue.reset': ['清空表单', 'Clear form'],
    'issue.done': ['证照已签发', 'Licence issued'],
    'issue.qr': ['静态二维码（亮证核验）', 'Static QR (show to verify)'],
    'issue.claimNote': ['领证码只显示这一次，请交给持证人用于在电子证照钱包中领取本证照。',
      'The claim code is shown only once: give it to the holder to add the licence to their wallet.'],
    'issue.claimExpires': ['有效至 {0}', 'valid until {0}'],
    'issue.open': ['在查询中查看', 'Open in search'],
    'issue.required': ['必填', 'Required'],
    'issue.choose': ['— 请选择 —', '— choose —'],
    'issue.fixFields': ['请更正标出的 {0} 个字段。', 'Please correct the {0} marked field(s).'],
    'issue.serverSays': ['服务器返回：', 'Server says: '],
    'issue.forbidden': ['无权签发此类证照：令牌的机构或限办类型不包括它。请选择令牌允许的证照类型，或向管理员申请相应的令牌。', 'Not allowed to issue this class: the token\'s agency or classes do not include it. Choose a class the token allows, or ask your administrator for one that does.'],
    'issue.toast': ['已签发 {0}', 'Issued {0}'],
    'issue.maxLen': ['最多 {0} 字', 'up to {0} characters'],
    'search.holder': ['持证主体代码', 'Holder code'],
    'search.holderHint': ['统一社会信用代码或公民身份号码', 'USCC or resident ID number'],
    'search.class': ['证照类型', 'Class'],
    'search.status': ['状态', 'Status'],
    'search.any': ['全部', 'Any'],
    'search.submit': ['查询', 'Search'],
    'search.empty': ['输入条件后点击“查询”。', 'Enter criteria and press Search.'],
    'search.none': ['没有符合条件的证照。', 'No licence matches.'],
    'search.count': ['共 {0} 条', '{0} shown'],
    'search.more': ['加载更多', 'Load more'],
    'lic.id': ['证照标识', 'Licence ID'],
    'lic.class': ['证照类型', 'Class'],
    'lic.holder': ['持证主体', 'Holder'],
    'lic.status': ['状态', 'Status'],
    'lic.reason': ['原因', 'Reason'],
    'lic.issuedAt': ['签发时间', 'Issued'],
    'lic.updatedAt': ['更新时间', 'Updated'],
    'lic.ledger': ['账本序号', 'Ledger index'],
    'lic.claim': ['领证码', 'Claim code'],
    'lic.agency': ['发证机构', 'Agency'],
    'lic.statusRef': ['状态列表位置', 'Status list entry'],
    'lic.supersedes': ['换发自', 'Replaces'],
    'lic.supersededBy': ['已换发为', 'Replaced by'],
    'lic.copyOf': ['副本来源', 'Copy of'],
    'lic.pending': ['（待入账）', '(pending)'],
    'status.valid': ['有效', 'Valid'],
    'status.suspended': ['已暂停', 'Suspended'],
    'status.revoked': ['已作废', 'Revoked'],
    'status.superseded': ['已换发', 'Superseded'],
    'act.open': ['查看', 'Open'],
    'act.suspend': ['暂停', 'Suspend'],
    'act.reinstate': ['恢复', 'Reinstate'],
    'act.revoke': ['作废', 'Revoke'],
    'confirm.reason': ['原因', 'Reason'],
    'confirm.choose': ['— 请选择原因 —', '— choose a reason —'],
    'confirm.needReason': ['请选择原因。', 'Choose a reason.'],
    'confirm.revoke.title': ['作废证照', 'Revoke licence'],
    'confirm.revoke.text': ['作废后证照立即失效，核验时显示为已作废，且不可恢复。请核对证照标识后确认。',
      'The licence stops being valid at once, shows as revoked when checked, and cannot be restored. Check the ID before confirming.'],
    'confirm.revoke.ok': ['确认作废', 'Revoke'],
    'confirm.suspend.title': ['暂停证照', 'Suspend licence'],
    'confirm.suspend.text': ['暂停期间证照核验不通过，可以之后恢复。', 'While suspended the licence fails checks; it can be reinstated later.'],
    'confirm.suspend.ok': ['确认暂停', 'Suspend'],
    'confirm.reinstate.title': ['恢复证照', 'Reinstate licence'],
    'confirm.reinstate.text': ['恢复后证照重新有效。', 'The licence becomes valid again.'],
    'confirm.reinstate.ok': ['确认恢复', 'Reinstate'],
    'confirm.done': ['{0}：{1}', '{0}: {1}'],
    'reason.注销': ['持证主体申请注销或依法终止', 'surrendered by the holder or ended by law'],
    'reason.吊销': ['行政处罚，吊销许可', 'withdrawn as an administrative penalty'],
    'reason.撤销': ['依法撤销（如以欺骗手段取得）', 'annulled (e.g. obtained by deception)'],
    'reason.变更': ['信息变更，另发新证', 'details changed; a new licence replaces it'],
    'reason.遗失': ['证照遗失', 'lost'],
    'reason.损毁': ['证照损毁', 'damaged'],
    'reason.暂扣': ['暂扣证照', 'temporarily withheld'],
    'reason.核查': ['核查期间暂停', 'under investigation'],
    'reason.其他': ['其他原因', 'other'],
    'detail.title': ['证照详情', 'Licence details'],
    'detail.fields': ['证照内容', 'Contents'],
    'detail.credential': ['签名凭证（JWS）', 'Signed credential (JWS)'],
    'ledger.title': ['账本检查点', 'Ledger checkpoint'],
    'ledger.origin': ['日志标识', 'Origin'],
    'ledger.size': ['树大小（条目数）', 'Tree size (entries)'],
    'ledger.root': ['根哈希（SM3）', 'Root hash (SM3)'],
    'ledger.signers': ['签名者', 'Signed by'],
    'ledger.updated': ['更新于', 'Updated'],
    'ledger.refresh': ['刷新', 'Refresh'],
    'ledger.empty': ['账本尚无检查点', 'no checkpoint yet'],
    'ledger.error': ['无法读取检查点：{0}', 'Cannot read the checkpoint: {0}'],
    'tips.title': ['操作提示', 'Tips'],
    'tips.1': ['带 * 的字段为必填项。', 'Fields marked * are required.'],
    'tips.2': ['签发、暂停和作废都会写入不可篡改的账本。', 'Issuing, suspending and revoking are all recorded in the append-only ledger.'],
    'tips.3': ['作废（注销、吊销等）不可撤回，请核对后再确认。', 'Revocation cannot be undone; check before confirming.'],
    'nav.parties': ['用证方', 'Relying parties'],
    'rp.title': ['用证方', 'Relying parties'],
    'rp.intro': ['经登记的业务系统可以在持证人同意后调取证照。登记、修改、暂停、恢复和注销都会写入账本。',
      'Registered service systems may fetch a licence once its holder consents. Registering, changing, suspending, resuming and removing are all recorded in the ledger.'],
    'rp.refresh': ['刷新', 'Refresh'],
    'rp.new': ['登记用证方', 'Register a party'],
    'rp.newTitle': ['登记用证方', 'Register a relying party'],
    'rp.editTitle': ['修改用证方登记', 'Change a registration'],
    'rp.detailTitle': ['用证方详情', 'Relying party'],
    'rp.id': ['用证方标识', 'Party ID'],
    'rp.idHint': ['小写字母、数字和连字符，如 sh-scjg-food-permit', 'lower-case letters, digits and hyphens, e.g. sh-scjg-food-permit'],
    'rp.name': ['名称', 'Name'],
    'rp.sysName': ['系统名称', 'System name'],
    'rp.nameHint': ['如 上海市食品经营许可审批系统', 'e.g. 上海市食品经营许可审批系统'],
    'rp.org': ['所属单位', 'Belongs to'],
    'rp.orgCode': ['所属单位统一社会信用代码', 'Organisation\'s USCC'],
    'rp.orgName': ['所属单位名称', 'Organisation name'],
    'rp.orgNameHint': ['如 上海市市场监督管理局', 'e.g. 上海市市场监督管理局'],
    'rp.key': ['SM2 公钥或证书', 'SM2 public key or certificate'],
    'rp.keyHint': ['粘贴 PEM（-----BEGIN PUBLIC KEY----- 或 CERTIFICATE），或 base64 DER', 'paste PEM (PUBLIC KEY or CERTIFICATE) or base64 DER'],
    'rp.keyFile': ['或选择文件：', 'or choose a file:'],
    'rp.keyFileBad': ['无法读取文件：{0}', 'Cannot read the file: {0}'],
    'rp.fingerprint': ['公钥指纹（SM3）', 'Key fingerprint (SM3)'],
    'rp.callback': ['回调地址', 'Callback URL'],
    'rp.callbackHint': ['可选；https://…（仅本机地址可用 http）', 'optional; https://… (http only to loopback)'],
    'rp.noCallback': ['未登记（用证方轮询）', 'none (the party polls)'],
    'rp.matters': ['事项', 'Matters'],
    'rp.mattersTitle': ['可办理的事项及可调取的证照字段', 'Matters, and the licence fields each may ask for'],
    'rp.matterCount': ['{0} 项', '{0}'],
    'rp.state': ['状态', 'State'],
    'rp.ledger': ['账本序号', 'Ledger index'],
    'rp.lastChange': ['最近变更的账本序号', 'Ledger index of the last change'],
    'rp.voidBefore': ['此前的授权已失效', 'Grants void before'],
    'rp.empty': ['尚未登记用证方。', 'No relying party is registered.'],
    'rp.loading': ['正在读取…', 'Loading…'],
    'rp.addMatter': ['＋ 添加事项', '+ Add a matter'],
    'rp.removeMatter': ['删除事项', 'Remove matter'],
    'rp.matterCode': ['事项编码', 'Matter code'],
    'rp.matterCodeHint': ['如 310100001000', 'e.g. 310100001000'],
    'rp.matterName': ['事项名称', 'Matter name'],
    'rp.matterNameHint': ['如 食品经营许可证核发', 'e.g. 食品经营许可证核发'],
    'rp.addClass': ['＋ 添加证照类型', '+ Add a licence class'],
    'rp.removeClass': ['删除', 'Remove'],
    'rp.chooseClass': ['— 请选择证照类型 —', '— choose a licence class —'],
    'rp.fieldsHint': ['勾选可调取的字段，并逐项说明用途。', 'Tick the fields it may ask for and say why for each.'],
    'rp.purpose': ['用途', 'Purpose'],
    'rp.purposeHint': ['如 核对经营者名称', 'e.g. 核对经营者名称'],
    'rp.submitNew': ['登记', 'Register'],
    'rp.submitEdit': ['保存修改', 'Save'],
    'rp.submitting': ['提交中…', 'Saving…'],
    'rp.registered': ['已登记用证方 {0}（账本序号 {1}）', 'Registered {0} (ledger index {1})'],
    'rp.replaced': ['已修改 {0} 的登记（账本序号 {1}）', 'Changed {0} (ledger index {1})'],
    'rp.fixFields': ['请更正标出的内容。', 'Please correct what is marked.'],
    'rp.needMatter': ['至少登记一个事项。', 'Register at least one matter.'],
    'rp.needClass': ['事项“{0}”未选择证照类型。', 'Matter "{0}" has no licence class.'],
    'rp.needField': ['事项“{0}”的证照类型未勾选字段。', 'A class of matter "{0}" has no field ticked.'],
    'rp.needPurpose': ['事项“{0}”中勾选的字段须逐项填写用途。', 'Every ticked field of matter "{0}" needs a purpose.'],
    'rp.needMatterText': ['每个事项须填写编码和名称。', 'Every matter needs a code and a name.'],
    'rp.fromServer': ['服务器返回：{0}', 'Server says: {0}'],
    'rp.state.active': ['正常', 'Active'],
    'rp.state.suspended': ['暂停', 'Suspended'],
    'rp.state.removed': ['已注销', 'Removed'],
    'rp.act.open': ['查看', 'Open'],
    'rp.act.edit': ['修改', 'Change'],
    'rp.act.suspend': ['暂停', 'Suspend'],
    'rp.act.resume': ['恢复', 'Resume'],
    'rp.act.remove': ['注销', 'Remove'],
    'rp.confirm.suspend.title': ['暂停用证方', 'Suspend relying party'],
    'rp.confirm.suspend.text': ['暂停后该用证方不能发起请求或调取证照，它已获得的全部授权立即永久失效（恢复后也不会重新生效）。',
      'While suspended the party cannot make requests or fetch licences, and every grant it holds is void at once, for ever (resuming does not revive them).'],
    'rp.confirm.suspend.ok': ['确认暂停', 'Suspend'],
    'rp.confirm.resume.title': ['恢复用证方', 'Resume relying party'],
    'rp.confirm.resume.text': ['恢复后该用证方可以重新发起请求；暂停前的授权仍然无效。', 'The party may make requests again; grants from before the suspension stay void.'],
    'rp.confirm.resume.ok': ['确认恢复', 'Resume'],
    'rp.confirm.remove.title': ['注销用证方', 'Remove relying party'],
    'rp.confirm.remove.text': ['注销是永久的：全部授权失效，该标识不能再使用。请核对标识后确认。',
      'Removal is permanent: every grant is void and the ID can never be used again. Check the ID before confirming.'],
    'rp.confirm.remove.ok': ['确认注销', 'Remove'],
    'rp.needReason': ['请填写原因。', 'Give a reason.'],
    'rp.done': ['{0}：{1}', '{0}: {1}'],
    'rperr.forbidden': ['只有管理员可以登记和变更用证方。', 'Only an administrator registers and changes relying parties.'],
    'rperr.notFound': ['没有这个用证方。', 'No such relying party.'],
    'rperr.taken': ['该标识已被使用（用证方标识永不复用）。', 'This ID is taken (IDs are never reused).'],
    'rperr.removedParty': ['该用证方已注销，不能再变更。', 'This party was removed and cannot change.'],
    'rperr.state': ['用证方当前的状态不允许此操作。', 'The party\'s state does not allow this.'],
    'rperr.id': ['用证方标识须为 1–64 位小写字母、数字或连字符（-）。', 'A party ID is 1–64 of a–z, 0–9 and -.'],
    'rperr.required': ['必填。', 'Required.'],
    'rperr.tooLong': ['不能超过 {0} 字节。', 'At most {0} bytes.'],
    'rperr.oneLine': ['须为一行文字。', 'One line of text.'],
    'rperr.orgCode': ['不是有效的统一社会信用代码（18 位，校验位须正确）。', 'Not a valid unified social credit code (18 characters with a correct check character).'],
    'rperr.key': ['无法识别的公钥：须为 SM2 公钥或含 SM2 公钥的证书（PEM 或 base64 DER）。', 'Not an SM2 public key or a certificate holding one (PEM or base64 DER).'],
    'rperr.callback': ['回调地址须为 https://主机/路径（仅本机地址可用 http），不含用户信息或 # 片段。', 'A callback is https://host/path (http only to loopback), without user information or fragment.'],
    'rperr.matterCount': ['须登记 1–{0} 个事项。', 'Register 1–{0} matters.'],
    'rperr.matterCode': ['第 {0} 个事项：事项编码须为不含空格和逗号的文字。', 'Matter {0}: a code is text without spaces or commas.'],
    'rperr.matterTwice': ['事项 {0} 重复。', 'Matter {0} appears twice.'],
    'rperr.matterName': ['事项 {0}：须填写事项名称（一行）。', 'Matter {0}: a name of one line is required.'],
    'rperr.noClass': ['事项 {0}：未选择证照类型。', 'Matter {0}: no licence class.'],
    'rperr.unknownClass': ['事项 {0}：没有证照类型 {1}。', 'Matter {0}: no licence class {1}.'],
    'rperr.classTwice': ['事项 {0}：证照类型 {1} 重复。', 'Matter {0}: class {1} twice.'],
    'rperr.noField': ['事项 {0}：证照类型 {1} 未勾选字段。', 'Matter {0}: class {1} has no field.'],
    'rperr.notField': ['事项 {0}：{1} 不是证照类型 {2} 的字段。', 'Matter {0}: {1} is not a field of {2}.'],
    'rperr.fieldTwice': ['事项 {0}：字段 {2} 重复。', 'Matter {0}: field {2} twice.'],
    'rperr.purpose': ['事项 {0}：字段 {1} 须填写用途（一行，不超过 256 字节）。', 'Matter {0}: field {1} needs a purpose of one line.'],
    'rperr.matters': ['事项填写有误。', 'The matters are not right.'],
    'rperr.other': ['提交未成功。', 'Not saved.'],
    'common.close': ['关闭', 'Close'],
    'common.cancel': ['取消', 'Cancel'],
    'common.copy': ['复制', 'Copy'],
    'common.copied': ['已复制', 'Copied'],
    'common.actions': ['操作', 'Actions'],
    'err.network': ['无法连接服务器，请检查网络。', 'Cannot reach the server; check the network.'],
    'hint.term': ['如 2019-04-18至2049-04-17，或 2019-04-18至长期、长期', 'e.g. 2019-04-18至2049-04-17, 2019-04-18至长期 or 长期'],
    'hint.money': ['如 人民币500万元、100万元人民币', 'e.g. 人民币500万元'],
    'hint.uscc': ['18 位统一社会信用代码', '18-character unified social credit code'],
    'hint.resident_id': ['18 位公民身份号码', '18-character resident ID number'],
    'hint.uscc_or_resident_id': ['统一社会信用代码或公民身份号码', 'USCC or resident ID number'],
    'hint.org_code': ['组织机构代码', 'organisation code'],
    'hint.plate_no': ['如 沪AD12345', 'e.g. 沪AD12345'],
    'hint.vin': ['17 位车辆识别代号', '17-character VIN'],
    'hint.phone': ['如 021-12345678、13812345678', 'e.g. 021-12345678'],
    'hint.int': ['整数', 'whole number'],
    'hint.area': ['平方米，如 89.56', 'square metres, e.g. 89.56'],
    'nav.admin': ['管理', 'Administration'],
    'arc.title': ['电子档案导出', 'Archive export'],
    'arc.intro': ['导出机构在一段时间内签发或变更的证照档案包（每个版本的 OFD 文件、凭证、元数据和带存在性证明的账本记录，经机构签名），可用 elicense-verify archive 离线核验。导出本身写入账本。',
      'Export the archive package of the licences an agency issued or changed in a period (each version\'s OFD file, credential, metadata and ledger events with inclusion proofs, signed by the agency), checked offline with elicense-verify archive. The export is recorded in the ledger.'],
    'arc.from': ['起始日期（含）', 'From (included)'],
    'arc.to': ['截止日期（不含）', 'To (excluded)'],
    'arc.submit': ['导出档案包', 'Export'],
    'arc.running': ['导出中…（等待覆盖该期间的检查点）', 'Exporting… (waiting for a checkpoint covering the period)'],
    'arc.order': ['截止日期须晚于起始日期。', 'The end must be after the start.'],
    'key.title': ['机构签名密钥', 'Agency signing keys'],
    'key.intro': ['轮换：为机构启用新密钥，旧密钥退役（其此前签发的证照仍有效）。若旧密钥已泄露，填写泄露时间：核验端只承认它在该时间之前签发的证照。变更写入账本并随信任包下发。',
      'Rotation gives the agency a new key and retires the old one (what it signed stays valid). If the old key was stolen, give the time since when: counters then accept only what it signed before. The change is recorded in the ledger and reaches counters with the trust bundle.'],
    'key.since': ['旧密钥泄露时间（可选）', 'Old key compromised since (optional)'],
    'key.rotate': ['轮换密钥', 'Rotate the key'],
    'key.new': ['新密钥', 'New key'],
    'key.old': ['旧密钥', 'Old key'],
    'key.state.retired': ['已退役', 'retired'],
    'key.state.compromised': ['已泄露', 'compromised'],
    'key.confirmTitle': ['轮换机构签名密钥', 'Rotate the agency\'s key'],
    'key.confirmText': ['新密钥立即开始签发；旧密钥不再签发。此操作写入账本，不可撤回。', 'The new key signs from now on; the old one no longer does. This is recorded in the ledger and cannot be undone.'],
    'key.confirmOk': ['确认轮换', 'Rotate'],
    'key.done': ['已轮换 {0} 的密钥', 'Rotated {0}\'s key'],
    'open.operator': ['查看经办人', 'Open operator'],
    'kc.kid': ['已退役密钥 ID', 'Retired key ID'],
    'kc.since': ['泄露时间', 'Compromised since'],
    'kc.submit': ['声明泄露', 'Declare compromised'],
    'kc.hint': ['已退役的密钥事后发现泄露时，按上方所选机构声明：核验端只承认它在泄露时间之前签发的证照（真实集）。', 'When a retired key turns out to have been stolen, declare it for the agency chosen above: counters then accept only the licences it signed before that time (its genuine set).'],
    'kc.title': ['声明密钥泄露', 'Declare a key compromised'],
    'kc.text': ['该密钥在泄露时间之后签发的一切在核验端均无效。此操作写入账本，不可撤回。', 'Everything the key signed after that time fails at counters. This is recorded in the ledger and cannot be undone.'],
    'kc.ok': ['确认声明', 'Declare'],
    'kc.done': ['已声明密钥 {0} 泄露（账本序号 {1}）', 'Declared key {0} compromised (ledger index {1})'],
    'open.done': ['经办人：{0} ✓ 与账本承诺一致', 'Operator: {0} ✓ matches the ledger\'s commitment'],
    'open.bad': ['开启值与账本承诺不一致', 'The opening does not match the ledger\'s commitment'],
    'nav.import': ['批量导入', 'Import'],
    'nav.seals': ['电子印章', 'Seals'],
    'nav.tokens': ['访问令牌', 'Tokens'],
    'agency.choose': ['— 请选择发证机构 —', '— choose an agency —'],
    'err.forbidden': ['无权执行此操作：令牌的角色、机构或证照类型不允许。请用有权限的令牌登录，或联系管理员。', 'Not allowed: the token\'s role, agency or classes do not permit it. Log in with a token that does, or ask your administrator.'],
    'err.notFound': ['没有找到（可能属于其他机构，或已不存在）。请刷新后重试。', 'Not found (it may be another agency\'s, or gone). Refresh and try again.'],
    'err.conflict': ['当前状态不允许此操作。请刷新查看最新状态后再试。', 'Its current state does not allow this. Refresh to see the latest state and try again.'],
    'err.invalid': ['提交的内容有误，请按提示更正后重试。', 'Something sent is not right; correct it as marked and try again.'],
    'err.busy': ['请求过于频繁，请稍候再试。', 'Too many requests; wait a moment and try again.'],
    'err.unavailable': ['服务器暂时不可用，请稍后再试；如持续出现请联系管理员。', 'The server is unavailable; try again later, or tell your administrator if it persists.'],
    'err.other': ['操作未成功（HTTP {0}）。请稍后重试，或联系管理员。', 'That did not work (HTTP {0}). Try again later or ask your administrator.'],
    'err.server': ['服务器返回：{0}', 'Server says: {0}'],
    'act.reissue': ['换发', 'Re-issue'],
    'act.claimCode': ['生成领证码', 'New claim code'],
    'act.face': ['证照照面', 'Licence face'],
    'act.ofd': ['下载 OFD 文件', 'Download OFD'],
    'act.qrPng': ['下载二维码', 'Download QR'],
    'act.history': ['账本记录', 'Ledger history'],
    'act.unbind': ['解绑', 'Unbind'],
    'dl.done': ['已下载 {0}', 'Downloaded {0}'],
    'dl.failed': ['下载未成功：{0}', 'Download failed: {0}'],
    'claim.title': ['新的领证码', 'New claim code'],
    'claim.toast': ['已生成领证码', 'Claim code made'],
    'claim.notValid': ['只能为有效的证照生成领证码；已暂停、已作废或已换发的证照不能再领取。', 'Claim codes are made for valid licences only; a suspended, revoked or superseded one cannot be claimed.'],
    'copies.title': ['已领取的设备副本', 'Claimed device copies'],
    'copies.hint': ['持证人手机遗失时，解绑该设备的副本（该副本立即作废，证照本身和其他设备不受影响），再生成新的领证码供新手机领取。',
      'When a holder loses a phone, unbind its copy (that copy is revoked at once; the licence and other devices are unaffected), then make a new claim code for the new phone.'],
    'copies.device': ['设备 {0}', 'device {0}'],
    'copies.unbound': ['已解绑', 'unbound'],
    'unbind.title': ['解绑设备副本', 'Unbind a device copy'],
    'unbind.text': ['该设备上的证照副本立即作废，无法恢复。证照本身和其他设备的副本不受影响。之后可生成新的领证码。',
      'The copy on that device is revoked at once, for good. The licence and other devices\' copies are unaffected. Make a new claim code afterwards.'],
    'unbind.ok': ['确认解绑', 'Unbind'],
    'unbind.done': ['已解绑 {0}', 'Unbound {0}'],
    'reissue.title': ['换发证照', 'Re-issue the licence'],
    'reissue.hint': ['修改需要变更的字段，其余字段保持不变。换发后签发新版本，原证照标记为“已换发”（原因：变更），持证人需用新的领证码领取新版本。',
      'Change the fields that need it; the others stay. A new version is issued and the old one is marked superseded (reason 变更); the holder claims the new version with a new claim code.'],
    'reissue.submit': ['确认换发', 'Re-issue'],
    'reissue.submitting': ['换发中…', 'Re-issuing…'],
    'reissue.nothing': ['没有修改任何内容。请修改需要变更的字段后再换发。', 'Nothing changed. Change the fields that need it, then re-issue.'],
    'reissue.done': ['已换发为 {0}', 'Re-issued as {0}'],
    'reissue.state': ['只有有效或已暂停的证照可以换发。', 'Only a valid or suspended licence can be re-issued.'],
    'history.title': ['账本记录', 'Ledger history'],
    'history.index': ['账本序号', 'Index'],
    'history.kind': ['事件', 'Event'],
    'history.time': ['时间', 'Time'],
    'history.subject': ['对象', 'About'],
    'history.note': ['说明', 'Details'],
    'history.proof': ['存在性证明', 'Inclusion proof'],
    'history.cp': ['已用检查点（树大小 {0}，根哈希 {1}）在本页面用 SM3 重新计算并核对每条记录的存在性证明。', 'Each inclusion proof was recomputed with SM3 in this page against the checkpoint (tree size {0}, root {1}).'],
    'history.loading': ['正在读取账本…', 'Reading the ledger…'],
    'history.none': ['账本中没有该证照的记录。', 'The ledger has no event of this licence.'],
    'history.truncated': ['只读取了账本序号 {0}–{1}；更早或更晚的记录未列出。', 'Only ledger entries {0}–{1} were read; others are not listed.'],
    'history.verified': ['✓ 与检查点一致', '✓ matches the checkpoint'],
    'history.verifiedTitle': ['页面用 SM3 由记录和证明路径算出的根哈希与服务器给出的检查点一致（检查点签名未在页面核验；离线核验用 elicense-verify）', 'the root this page computed with SM3 from the entry and the proof equals the checkpoint the server gave (its signature is not checked here; check offline with elicense-verify)'],
    'history.pending': ['待下一检查点', 'awaiting the next checkpoint'],
    'history.failed': ['✗ 核验失败', '✗ does not verify'],
    'history.failedNote': ['存在性证明核验失败：请勿信任该记录，并立即报告管理员。', 'An inclusion proof does not verify: do not trust this record and tell your administrator at once.'],
    'ev.issue': ['签发', 'Issued'],
    'ev.reissue': ['换发', 'Re-issued'],
    'ev.status.suspended': ['暂停', 'Suspended'],
    'ev.status.valid': ['恢复', 'Reinstated'],
    'ev.status.revoked': ['作废', 'Revoked'],
    'ev.unbind': ['解绑设备', 'Device unbound'],
    'ev.claim': ['领取到设备', 'Claimed on a device'],
    'ev.reason': ['原因：{0}', 'reason: {0}'],
    'ev.supersedes': ['取代 {0}', 'replaces {0}'],
    'ev.supersededBy': ['被 {0} 取代', 'replaced by {0}'],
    'ev.copy': ['设备副本 {0}', 'device copy {0}'],
    'face.title': ['证照照面', 'Licence face'],
    'face.download': ['下载照面（HTML）', 'Download face (HTML)'],
    'face.failed': ['无法显示照面：{0}', 'Cannot show the face: {0}'],
    'imp.title': ['批量导入', 'Import from CSV'],
    'imp.intro': ['从 CSV 文件批量签发同一类型的存量（纸质）证照：表头用字段名或中文标签，可加“证照编号”“颁证日期”两列。每行带幂等键，重新导入同一文件不会重复签发，与命令行 elicense import 相同。',
      'Bulk-issue existing (paper) licences of one class from a CSV file: the header names fields by key or Chinese label, plus optional 证照编号 and 颁证日期 columns. Each row carries an idempotency key, so importing the same file again issues nothing twice, as with elicense import.'],
    'imp.template': ['下载表头模板', 'Download a header template'],
    'imp.file': ['CSV 文件（UTF-8）', 'CSV file (UTF-8)'],
    'imp.fileInfo': ['{0}：{1} 个数据行', '{0}: {1} data rows'],
    'imp.submit': ['开始导入', 'Import'],
    'imp.running': ['导入中…', 'Importing…'],
    'imp.needClass': ['请选择证照类型。', 'Choose a licence class.'],
    'imp.needFile': ['请选择 CSV 文件。', 'Choose a CSV file.'],
    'imp.empty': ['文件中没有数据行。第一行须为表头，其后每行一张证照。', 'The file has no data rows. The first line is the header, then one licence per line.'],
    'imp.badColumn': ['表头第 {0} 列“{1}”不是{2}的字段。请用字段名或中文标签作表头（可先下载表头模板）。', 'Header column {0} "{1}" is not a field of {2}. Name columns by field key or label (download the template).'],
    'imp.badQuote': ['第 {0} 行的引号没有闭合，请检查文件格式。', 'The quote opened on line {0} is never closed; check the file.'],
    'imp.fieldCount': ['该行有 {0} 列，表头有 {1} 列。', 'This line has {0} columns; the header has {1}.'],
    'imp.required': ['必填字段为空。', 'A required field is empty.'],
    'imp.progress': ['已处理 {0} / {1} 行 · 新签发 {2} · 此前已签发 {3} · 未通过 {4}', '{0} of {1} rows · {2} issued · {3} issued before · {4} rejected'],
    'imp.done': ['导入完成', 'Import finished'],
    'imp.doneWithRejects': ['导入完成，部分行未通过', 'Import finished; some rows were rejected'],
    'imp.stopped': ['导入中止：{0} 已处理的行已签发；更正问题后重新导入同一文件即可继续（不会重复签发）。', 'Import stopped: {0} Rows done so far are issued; import the same file again after fixing it to continue (nothing is issued twice).'],
    'imp.rows': ['数据行', 'Data rows'],
    'imp.issued': ['新签发', 'Issued'],
    'imp.existing': ['此前已签发（未重复签发）', 'Issued before (not again)'],
    'imp.rejected': ['未通过', 'Rejected'],
    'imp.resultsDownload': ['下载签发结果（含领证码）', 'Download the results (with claim codes)'],
    'imp.reportDownload': ['下载未通过行报告', 'Download the rejected-rows report'],
    'imp.claimNote': ['领证码只在这份签发结果中出现一次，请妥善保存并分别交给持证人。', 'Claim codes appear only in these results, once: keep them safe and give each to its holder.'],
    'imp.rejectsTitle': ['未通过的行（更正后重新导入即可，已签发的行不会重复签发）', 'Rejected rows (correct them and import again; rows already issued are not issued twice)'],
    'imp.line': ['行号', 'Line'],
    'imp.field': ['字段', 'Field'],
    'imp.reason': ['原因', 'Reason'],
    'imp.wholeRow': ['（整行）', '(whole row)'],
    'imp.rej.invalid': ['内容不符合要求，请更正：', 'Not valid; correct it: '],
    'imp.rej.forbidden': ['无权签发：', 'Not allowed: '],
    'imp.rej.conflict': ['与已有证照冲突：', 'Conflicts with an existing licence: '],
    'imp.rej.other': ['未能签发：', 'Not issued: '],
    'imp.yes': ['是', 'yes'],
    'imp.no': ['否', 'no'],
    'seal.title': ['电子印章', 'Electronic seals'],
    'seal.intro': ['本机构为持有者制作的 GB/T 38540 电子印章。制作和撤销都会写入账本；撤销的印章随信任包下发到核验端。',
      'GB/T 38540 seals the agency made for holders. Making and revoking are recorded in the ledger; revoked seals reach counters with the trust bundle.'],
    'seal.new': ['制作印章', 'Make a seal'],
    'seal.newTitle': ['制作电子印章', 'Make an electronic seal'],
    'seal.made': ['印章已制作', 'Seal made'],
    'seal.madeNote': ['请把印章文件交给持有者，由其用证书对应的私钥加盖（elicense seal sign）。', 'Give the seal file to its holder, who seals documents with the certificate\'s private key (elicense seal sign).'],
    'seal.download': ['下载印章文件', 'Download the seal'],
    'seal.esid': ['印章标识', 'Seal ID'],
    'seal.name': ['印章名称', 'Seal name'],
    'seal.maker': ['制章机构', 'Maker'],
    'seal.type': ['印章类型', 'Seal type'],
    'seal.type.1': ['公章', 'official seal'],
    'seal.type.2': ['财务专用章', 'finance seal'],
    'seal.type.3': ['发票专用章', 'invoice seal'],
    'seal.type.4': ['合同专用章', 'contract seal'],
    'seal.type.5': ['法定代表人名章', 'legal representative\'s seal'],
    'seal.holderName': ['持有者名称', 'Holder name'],
    'seal.holderCode': ['持有者代码', 'Holder code'],
    'seal.years': ['有效期（年）', 'Validity (years)'],
    'seal.cert': ['使用者的 SM2 证书', 'The user\'s SM2 certificate'],
    'seal.certHint': ['粘贴 PEM（-----BEGIN CERTIFICATE-----）或 base64 DER', 'paste PEM (CERTIFICATE) or base64 DER'],
    'seal.madeAt': ['制作时间', 'Made'],
    'seal.empty': ['尚未制作印章。', 'No seal made yet.'],
    'seal.truncated': ['只列出账本最近的记录中的印章（自账本序号 {0} 起）。', 'Only seals in the ledger\'s recent entries are listed (from index {0}).'],
    'seal.valid': ['有效', 'Valid'],
    'seal.revoked': ['已撤销', 'Revoked'],
    'seal.revoke': ['撤销', 'Revoke'],
    'seal.submit': ['制作', 'Make'],
    'seal.submitting': ['制作中…', 'Making…'],
    'seal.toast': ['已制作印章 {0}', 'Made seal {0}'],
    'seal.revokeTitle': ['撤销电子印章', 'Revoke a seal'],
    'seal.revokeText': ['撤销后用该印章加盖的文件在核验端显示为印章已撤销，且不可恢复。', 'Documents sealed with it show the seal as revoked at counters; this cannot be undone.'],
    'seal.revokeOk': ['确认撤销', 'Revoke'],
    'seal.revoked.toast': ['已撤销印章 {0}', 'Revoked seal {0}'],
    'seal.badCert': ['无法识别的证书：须为 SM2 证书（PEM 或 base64 DER）。', 'Not an SM2 certificate (PEM or base64 DER).'],
    'seal.badYears': ['有效期须为 1–10 年的整数。', 'Validity is a whole number of years, 1–10.'],
    'seal.forbidden': ['只有管理员和不限证照类型的经办人可以制作或撤销本机构的印章。', 'Only administrators, and operators not limited to classes, make or revoke the agency\'s seals.'],
    'tok.title': ['访问令牌', 'Access tokens'],
    'tok.intro': ['为经办人、审计员签发登录控制台和调用接口的令牌。令牌只在签发时显示一次；服务器不保存令牌本身，丢失后请撤销并重新签发。',
      'Mint the tokens operators and auditors log in and call the API with. A token is shown once, when minted; the server does not keep it: if lost, revoke it and mint another.'],
    'tok.subject': ['使用人', 'Subject'],
    'tok.subjectHint': ['如 clerk-zhang（写入账本时只存其承诺值）', 'e.g. clerk-zhang (the ledger keeps only a commitment to it)'],
    'tok.role': ['角色', 'Role'],
    'tok.ttl': ['有效期', 'Lifetime'],
    'tok.ttl.8h': ['8 小时（一个班次）', '8 hours (a shift)'],
    'tok.ttl.24h': ['1 天', '1 day'],
    'tok.ttl.168h': ['7 天', '7 days'],
    'tok.ttl.720h': ['30 天', '30 days'],
    'tok.ttl.2160h': ['90 天', '90 days'],
    'tok.classes': ['限办证照类型', 'Limited to classes'],
    'tok.classesHint': ['不勾选表示可办理该机构的全部证照类型；限定类型的经办人不能制作或撤销印章。', 'Tick none for all of the agency\'s classes; an operator limited to classes cannot make or revoke seals.'],
    'tok.submit': ['签发令牌', 'Mint the token'],
    'tok.made': ['令牌已签发', 'Token minted'],
    'tok.once': ['令牌只显示这一次。请立即复制并通过安全渠道交给使用人。', 'The token is shown this once. Copy it now and hand it over by a safe channel.'],
    'tok.id': ['令牌 ID', 'Token ID'],
    'tok.expires': ['有效至', 'Expires'],
    'tok.listTitle': ['本浏览器签发的令牌', 'Tokens minted in this browser'],
    'tok.listNote': ['服务器只记录被撤销的令牌，因此这里列出在本浏览器签发的令牌（不含令牌本身）。其他令牌可按令牌 ID 撤销。',
      'The server records only revoked tokens, so this lists the tokens minted in this browser (not the tokens themselves). Revoke any other by its ID.'],
    'tok.empty': ['本浏览器尚未签发令牌。', 'No token minted in this browser yet.'],
    'tok.revokeByID': ['按令牌 ID 撤销', 'Revoke by token ID'],
    'tok.revokeHint': ['令牌 ID（32 位十六进制）', 'token ID (32 hex digits)'],
    'tok.revoke': ['撤销', 'Revoke'],
    'tok.active': ['有效', 'Active'],
    'tok.revokedState': ['已撤销', 'Revoked'],
    'tok.expired': ['已过期', 'Expired'],
    'tok.toast': ['已签发令牌 {0}', 'Minted token {0}'],
    'tok.revokeTitle': ['撤销访问令牌', 'Revoke a token'],
    'tok.revokeText': ['撤销后该令牌立即不能再登录或调用接口，且不可恢复。', 'The token stops working at once, for good.'],
    'tok.revokeOk': ['确认撤销', 'Revoke'],
    'tok.revoked': ['已撤销令牌 {0}', 'Revoked token {0}'],
    'tok.needSubject': ['请填写使用人。', 'Give the subject.'],
    'tok.badJTI': ['令牌 ID 为 1–128 位字母、数字、- 或 _。', 'A token ID is 1–128 letters, digits, - or _.'],
    'tok.adminOnly': ['只有管理员可以签发和撤销令牌。', 'Only administrators mint and revoke tokens.'],
    'tok.copyFallback': ['已选中令牌，请按 Ctrl+C 复制。', 'The token is selected: press Ctrl+C to copy.'],
  };

  const $ = (id) => document.getElementById(id);
  let lang = localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh';

  function t(key, ...args) {
    const e = I18N[key];
    let s = e ? e[lang === 'en' ? 1 : 0] : key;
    args.forEach((a, i) => { s = s.split('{' + i + '}').join(String(a)); });
    return s;
  }

  const state = {
    token: null,
    claims: null,
    active: false,
    classes: [],
    classByKey: new Map(),
    results: [],
    next: '',
    query: null,
    detailID: null,
    confirm: null,
    cpTimer: null,
    expTimer: null,
    cpSize: null,
    blobs: new Map(), // img id → object URL
    parties: [],
    partiesLoaded: false,
    rpDetail: null, // the party the detail dialog shows
    rpEditing: null, // the party the form replaces (null: a new one)
    rpConfirm: null,
    agencies: new Map(), // code → {code, name, classes}
    detailLic: null, // the licence the detail dialog shows
    history: null, // its ledger history, as the API answered
    faceHTML: '', // the face the face dialog shows
    ask: null, // what the ask dialog confirms: {title, text, id, ok, reasons, run}
    seals: [],
    sealsLoaded: false,
    sealDER: null, // the seal just made, for its download
    imp: null, // the last import: {rows, issued, existing, rejects, results, cls}
  };

  // ---- helpers ------------------------------------------------------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role' || k === 'for' || k === 'title') e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c);
    }
    return e;
  }

  function pad(n) { return String(n).padStart(2, '0'); }

  function fmtTime(s) {
    if (!s) return '—';
    const d = typeof s === 'number' ? new Date(s * 1000) : new Date(s);
    if (isNaN(d)) return String(s);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function show(node, on) { node.hidden = !on; }

  let toastTimer = null;
  function toast(msg, kind) {
    const n = $('toast');
    n.textContent = msg;
    n.className = 'toast' + (kind ? ' toast-' + kind : '');
    n.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { n.hidden = true; }, 4000);
  }

  function alertBox(node, msg, detail) {
    node.replaceChildren();
    if (!msg) { node.hidden = true; return; }
    node.append(el('div', { text: msg }));
    if (detail) node.append(el('div', { class: 'alert-detail', text: detail }));
    node.hidden = false;
  }

  // ---- API ----------------------------------------------------------

  const base = new URL('../', document.baseURI); // the console is at <base>/console/

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || ('HTTP ' + status));
      this.status = status;
      this.code = (body && body.code) || '';
      this.field = (body && body.field) || '';
    }
  }

  async function api(method, path, body, opts) {
    const o = Object.assign({ auth: true, raw: false }, opts);
    const headers = { Accept: o.raw ? '*/*' : 'application/json' };
    if (o.auth) headers.Authorization = 'Bearer ' + state.token;
    const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(new URL(path, base), init);
    } catch (e) {
      throw new ApiError(0, { code: 'network', message: t('err.network') });
    }
    if (!resp.ok) {
      let b = null;
      try { b = await resp.json(); } catch (e) { b = null; }
      const err = new ApiError(resp.status, b || { code: 'http_' + resp.status, message: resp.status + ' ' + resp.statusText });
      if (resp.status === 401 && o.auth && state.active) sessionEnded(err.message);
      throw err;
    }
    if (o.raw) return resp;
    if (resp.status === 204) return null;
    return resp.json();
  }

  const licPath = (id) => 'v1/licences/' + encodeURIComponent(id);

  async function loadQR(img, id) {
    const old = state.blobs.get(img.id);
    if (old) { URL.revokeObjectURL(old); state.blobs.delete(img.id); }
    img.removeAttribute('src');
    img.classList.add('loading');
    img.dataset.licence = id;
    try {
      const resp = await api('GET', licPath(id) + '/qr?format=svg', undefined, { raw: true });
      const blob = await resp.blob();
      if (img.dataset.licence !== id) return; // another licence since
      const url = URL.createObjectURL(blob);
      state.blobs.set(img.id, url);
      img.src = url;
    } catch (e) {
      img.alt = e.message;
    } finally {
      img.classList.remove('loading');
    }
  }

  // ---- token and login ---------------------------------------------

  function decodeJWT(tok) {
    const parts = tok.split('.');
    if (parts.length !== 3) return null;
    try {
      const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
      const bin = atob(b64 + '==='.slice((b64.length + 3) % 4));
      const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
      const claims = JSON.parse(new TextDecoder().decode(bytes));
      return claims && typeof claims === 'object' ? claims : null;
    } catch (e) {
      return null;
    }
  }

  function cleanToken(s) {
    return s.trim().replace(/^Bearer\s+/i, '').replace(/\s+/g, '');
  }

  function roleLabel(r) { return I18N['role.' + r] ? t('role.' + r) : (r || '—'); }

  function previewToken() {
    const tok = cleanToken($('token-input').value);
    const p = $('token-preview');
    const c = tok ? decodeJWT(tok) : null;
    if (!c) { p.hidden = true; return; }
    p.textContent = t('login.preview', c.sub || '—', roleLabel(c.role), c.agency || t('who.allAgencies'), fmtTime(c.exp));
    p.hidden = false;
  }

  async function login(tok, fromStorage) {
    const err = $('login-error');
    alertBox(err, '');
    const claims = decodeJWT(tok);
    if (!claims) { alertBox(err, t('login.notJWT')); return; }
    if (claims.exp && claims.exp * 1000 < Date.now()) {
      sessionStorage.removeItem(TOKEN_KEY);
      alertBox(err, t('login.expired', fmtTime(claims.exp)));
      return;
    }
    const btn = $('login-btn');
    btn.disabled = true;
    btn.textContent = t('login.checking');
    state.token = tok;
    try {
      // The server is the judge: a cheap authenticated read.
      await api('GET', 'v1/licences?limit=1');
    } catch (e) {
      state.token = null;
      if (fromStorage) sessionStorage.removeItem(TOKEN_KEY);
      alertBox(err, e.status === 401 ? t('login.rejected') : errText(e), e.status ? t('err.server', e.message) : '');
      return;
    } finally {
      btn.disabled = false;
      btn.textContent = t('login.submit');
    }
    sessionStorage.setItem(TOKEN_KEY, tok);
    state.claims = claims;
    state.active = true;
    $('token-input').value = '';
    $('token-preview').hidden = true;
    await enterApp();
  }

  function sessionEnded(msg) {
    logout();
    alertBox($('login-error'), t('login.sessionEnded', msg));
  }

  function logout() {
    alertBox($('login-error'), '');
    state.active = false;
    state.token = null;
    state.claims = null;
    sessionStorage.removeItem(TOKEN_KEY);
    clearInterval(state.cpTimer);
    state.cpTimer = null;
    clearTimeout(state.expTimer);
    state.expTimer = null;
    for (const url of state.blobs.values()) URL.revokeObjectURL(url);
    state.blobs.clear();
    state.results = [];
    state.next = '';
    state.query = null;
    for (const d of [$('detail-dialog'), $('confirm-dialog'), $('rp-dialog'), $('rp-confirm-dialog'), $('face-dialog'), $('ask-dialog')]) if (d.open) d.close();
    resetOps();
    state.parties = [];
    state.partiesLoaded = false;
    state.rpConfirm = null;
    closePartyForm();
    $('rp-body').replaceChildren();
    $('results-body').replaceChildren();
    show($('results-empty'), true);
    $('results-empty').textContent = t('search.empty');
    show($('issue-result'), false);
    clearIssueErrors();
    $('issue-form').reset();
    renderIssueFields();
    show($('app-view'), false);
    show($('whoami'), false);
    show($('logout-btn'), false);
    show($('login-view'), true);
    $('token-input').focus();
  }

  async function enterApp() {
    show($('login-view'), false);
    show($('app-view'), true);
    show($('logout-btn'), true);
    renderWho();
    const auditor = state.claims.role === 'auditor';
    show($('tab-issue'), !auditor);
    show($('agency-row'), isAdmin());
    const left = state.claims.exp ? state.claims.exp * 1000 - Date.now() : 0;
    if (left > 0 && left < 0x7fffffff) {
      state.expTimer = setTimeout(() => sessionEnded(t('login.tokenExpired')), left);
    }
    // Relying parties are read by admins and auditors and changed by admins.
    show($('tab-parties'), isAdmin() || auditor);
    show($('tab-import'), !auditor);
    show($('tab-tokens'), isAdmin());
    show($('tab-admin'), isAdmin());
    loadAgencies();
    switchTab(auditor ? 'search' : 'issue');
    refreshCheckpoint();
    state.cpTimer = setInterval(() => { if (!document.hidden) refreshCheckpoint(); }, CHECKPOINT_EVERY);
    try {
      await loadClasses();
    } catch (e) {
      alertBox($('issue-error'), errText(e), t('err.server', e.message));
    }
  }

  function renderWho() {
    const c = state.claims;
    if (!c) return;
    $('who-sub').textContent = c.sub || '—';
    $('who-role').textContent = roleLabel(c.role);
    $('who-role').dataset.role = c.role || '';
    $('who-agency').textContent = c.agency ? (agencyName(c.agency) || c.agency) : t('who.allAgencies');
    $('who-agency').title = (c.agency || '') + (c.classes && c.classes.length ? ' · ' + t('who.classes', c.classes.map(classShort).join('、')) : '');
    $('who-exp').textContent = c.exp ? t('who.until', fmtTime(c.exp)) : '';
    show($('whoami'), true);
  }

  // ---- classes and the issue form ----------------------------------

  async function loadClasses() {
    if (!state.classes.length) {
      const data = await api('GET', 'v1/classes', undefined, { auth: false });
      state.classes = data.classes || [];
      state.classByKey = new Map(state.classes.map((c) => [c.key, c]));
    }
    renderClassSelects();
  }

  function allowedClasses() {
    const scope = state.claims && state.claims.classes;
    if (!scope || !scope.length) return state.classes;
    return state.classes.filter((c) => scope.includes(c.key) || scope.includes(c.type_code) || scope.includes(c.name_zh));
  }

  function className(c) {
    return lang === 'en' ? `${c.name_en} · ${c.name_zh}` : `${c.name_zh} · ${c.name_en}`;
  }

  function fillClassSelect(sel, classes, emptyKey) {
    const keep = sel.value;
    const empty = el('option', { value: '', text: t(emptyKey) });
    empty.dataset.i18n = emptyKey;
    sel.replaceChildren(empty, ...classes.map((c) => el('option', { value: c.key, text: className(c) })));
    if (classes.some((c) => c.key === keep)) sel.value = keep;
  }

  function renderClassSelects() {
    const mine = allowedClasses();
    const sel = $('class-select');
    fillClassSelect(sel, mine, 'issue.chooseClass');
    fillClassSelect($('search-class'), state.classes, 'search.any');
    renderImportClasses();
    if (mine.length === 1 && !sel.value) {
      sel.value = mine[0].key; // the only class this token may issue
      renderIssueFields();
    }
  }

  function currentClass() { return state.classByKey.get($('class-select').value) || null; }

  function fieldHint(f) {
    const parts = [];
    if (I18N['hint.' + f.type]) parts.push(t('hint.' + f.type));
    if (f.max_len && (f.type === 'text' || f.type === 'longtext')) parts.push(t('issue.maxLen', f.max_len));
    return parts.join(' · ');
  }

  function control(f, prefix, errPrefix) {
    const id = (prefix || 'f-') + f.key;
    const common = { id, name: f.key, required: !!f.required, 'aria-describedby': (errPrefix || 'err-') + f.key };
    switch (f.type) {
      case 'date':
        return el('input', Object.assign({ type: 'date', min: '1800-01-01', max: '2199-12-31' }, common));
      case 'datetime':
        return el('input', Object.assign({ type: 'datetime-local' }, common));
      case 'enum': {
        const s = el('select', common, el('option', { value: '', text: t('issue.choose') }));
        for (const v of f.values || []) s.append(el('option', { value: v, text: v }));
        return s;
      }
      case 'longtext':
        return el('textarea', Object.assign({ rows: 4, maxLength: f.max_len || undefined }, common));
      default: {
        const attrs = Object.assign({ type: 'text', maxLength: f.max_len || undefined, placeholder: I18N['hint.' + f.type] && !HINT_BELOW.has(f.type) ? t('hint.' + f.type) : '' }, common);
        switch (f.type) {
          case 'uscc': case 'resident_id': case 'uscc_or_resident_id':
            attrs.maxLength = 18; attrs.class = 'mono'; attrs.autocapitalize = 'characters'; break;
          case 'vin':
            attrs.maxLength = 17; attrs.class = 'mono'; attrs.autocapitalize = 'characters'; break;
          case 'org_code': case 'licence_no': case 'plate_no':
            attrs.class = 'mono'; break;
          case 'phone':
            attrs.type = 'tel'; break;
          case 'int': case 'area':
            attrs.inputMode = 'decimal'; break;
        }
        return el('input', attrs);
      }
    }
  }

  // collectValues reads the form as field key → raw control value.
  function collectValues() {
    const out = {};
    for (const c of $('issue-fields').querySelectorAll('[name]')) out[c.name] = c.value;
    return out;
  }

  function renderIssueFields(values) {
    const cl = currentClass();
    const box = $('issue-fields');
    box.replaceChildren();
    $('issue-submit').disabled = !cl;
    show($('issue-extra'), !!cl);
    $('class-info').textContent = cl ? t('issue.classInfo', cl.type_code, t('holder.' + cl.holder_kind)) : '';
    if (!cl) return;
    for (const f of cl.fields || []) {
      const label = el('label', { class: 'label', for: 'f-' + f.key },
        el('span', { text: f.label }),
        f.required ? el('span', { class: 'req', text: '*', title: t('issue.required') }) : null,
        el('span', { class: 'key', text: f.key }));
      const c = control(f);
      if (values && values[f.key] !== undefined) c.value = values[f.key];
      const hint = fieldHint(f);
      const wide = f.type === 'longtext' || (f.max_len || 0) > 100;
      box.append(el('div', { class: 'field' + (wide ? ' field-wide' : ''), 'data-field': f.key, 'data-type': f.type },
        label, c,
        hint && HINT_BELOW.has(f.type) ? el('div', { class: 'hint', text: hint }) : null,
        el('div', { class: 'field-error', id: 'err-' + f.key, role: 'alert' })));
    }
  }

  function clearIssueErrors() {
    alertBox($('issue-error'), '');
    for (const n of document.querySelectorAll('#issue-form .field.invalid')) {
      n.classList.remove('invalid');
      const c = n.querySelector('input, select, textarea');
      if (c) c.removeAttribute('aria-invalid');
      const e = n.querySelector('.field-error');
      if (e) e.textContent = '';
    }
  }

  function fieldBox(key) {
    const sel = `.field[data-field="${CSS.escape(key)}"]`;
    return $('issue-fields').querySelector(sel) || $('issue-form').querySelector(sel);
  }

  function markField(key, msg) {
    const box = fieldBox(key);
    if (!box) return false;
    box.classList.add('invalid');
    const c = box.querySelector('input, select, textarea');
    if (c) c.setAttribute('aria-invalid', 'true');
    box.querySelector('.field-error').textContent = msg;
    if (box.closest('details')) box.closest('details').open = true;
    return true;
  }

  // fieldMessages splits a validation message into the part about each
  // field: …field "uscc" (统一社会信用代码): reason; field "name" (名称): required
  // A field's own part has its label in brackets; "bad field "uscc": …"
  // around it is the whole message again.
  function fieldMessages(msg) {
    const out = new Map();
    const re = /\bfield "([^"]+)" \([^)]*\): ([\s\S]*?)(?=; field "|$)/g;
    let m;
    while ((m = re.exec(msg)) !== null) {
      if (!out.has(m[1])) out.set(m[1], m[2].trim());
    }
    return out;
  }

  async function submitIssue(ev) {
    ev.preventDefault();
    const cl = currentClass();
    if (!cl) return;
    clearIssueErrors();
    show($('issue-result'), false);
    const raw = collectValues();
    const fields = {};
    const missing = [];
    for (const f of cl.fields || []) {
      let v = raw[f.key] || '';
      if (f.type === 'longtext') v = v.replace(/\r\n?/g, '\n').trim();
      else v = v.trim();
      if (f.type === 'datetime') v = v.replace('T', ' ');
      if (['uscc', 'resident_id', 'uscc_or_resident_id', 'vin'].includes(f.type)) v = v.toUpperCase();
      if (v === '') {
        if (f.required) missing.push(f.key);
        continue;
      }
      fields[f.key] = v;
    }
    const agency = $('f--agency').value.trim().toUpperCase();
    if (isAdmin() && !agency) missing.unshift('agency');
    if (missing.length) {
      for (const k of missing) markField(k, t('issue.required'));
      alertBox($('issue-error'), t('issue.fixFields', missing.length));
      fieldBox(missing[0]).querySelector('input, select, textarea').focus();
      return;
    }
    const body = { class: cl.key, fields };
    if (agency) body.agency = agency;
    const number = $('f--number').value.trim();
    const issuedOn = $('f--issued_on').value;
    if (number) body.number = number;
    if (issuedOn) body.issued_on = issuedOn;

    const btn = $('issue-submit');
    btn.disabled = true;
    btn.textContent = t('issue.submitting');
    let lic;
    try {
      lic = await api('POST', 'v1/licences', body);
    } catch (e) {
      showIssueError(e);
      return;
    } finally {
      btn.disabled = false;
      btn.textContent = t('issue.submit');
    }
    showIssued(lic, cl);
    $('issue-form').reset();
    $('class-select').value = cl.key;
    $('f--agency').value = agency;
    renderIssueFields();
    refreshCheckpointSoon();
    toast(t('issue.toast', lic.id), 'ok');
  }

  function showIssueError(e) {
    if (e.status === 401) return; // back at the login page already
    if (e.status === 403) {
      alertBox($('issue-error'), t('issue.forbidden'), t('err.server', e.message));
      return;
    }
    const per = fieldMessages(e.message);
    let marked = 0;
    if (e.field) {
      // The server names one field; its message goes next to it.
      if (markField(e.field, per.get(e.field) || e.message)) marked++;
    }
    for (const [k, m] of per) {
      if (k !== e.field && markField(k, m)) marked++;
    }
    alertBox($('issue-error'), marked ? t('issue.fixFields', marked) : errText(e), t('issue.serverSays') + e.message);
    const first = document.querySelector('#issue-form .field.invalid input, #issue-form .field.invalid select, #issue-form .field.invalid textarea');
    if (first) first.focus();
  }

  function showIssued(lic, cl) {
    $('result-id').textContent = lic.id;
    $('result-class').textContent = cl ? className(cl) : lic.class;
    $('result-holder').textContent = `${lic.holder_name || ''}（${lic.holder_code || ''}）`;
    $('result-ledger').textContent = String(lic.ledger_index) + (lic.pending ? ' ' + t('lic.pending') : '');
    $('result-claim').textContent = lic.claim_code || '—';
    $('result-claim-exp').textContent = lic.claim_code_expires ? t('issue.claimExpires', fmtTime(lic.claim_code_expires)) : '';
    $('issue-result').dataset.id = lic.id;
    $('issue-result').dataset.holder = lic.holder_code || '';
    show($('issue-result'), true);
    $('issue-result').scrollIntoView({ block: 'nearest' });
    loadQR($('result-qr'), lic.id);
  }

  // ---- search ------------------------------------------------------

  function statusLabel(lic) {
    const s = lic.status;
    if (s === 'revoked' && lic.reason) {
      if (lang === 'en') return t('status.revoked') + ' · ' + lic.reason;
      if (['注销', '吊销', '撤销', '变更'].includes(lic.reason)) return '已' + lic.reason;
      return t('status.revoked') + '（' + lic.reason + '）';
    }
    if (s === 'suspended' && lic.reason) return t('status.suspended') + (lang === 'en' ? ' · ' : '（') + lic.reason + (lang === 'en' ? '' : '）');
    return I18N['status.' + s] ? t('status.' + s) : s;
  }

  function statusBadge(lic) {
    return el('span', { class: 'status status-' + lic.status, 'data-status': lic.status, title: lic.status, text: statusLabel(lic) });
  }

  function canChange() { return state.claims && state.claims.role !== 'auditor'; }
  function isAdmin() { return !!state.claims && state.claims.role === 'admin'; }

  function actionButtons(lic, small) {
    const out = [];
    const b = (action, cls) => el('button', { type: 'button', class: 'btn ' + (small ? 'btn-sm ' : '') + cls, 'data-action': action, 'data-id': lic.id, text: t('act.' + action) });
    if (!lic.copy_of && canChange()) {
      if (lic.status === 'valid') out.push(b('suspend', 'btn-warn'));
      if (lic.status === 'suspended') out.push(b('reinstate', ''));
      if (lic.status === 'valid' || lic.status === 'suspended') out.push(b('revoke', 'btn-danger'));
    }
    return out;
  }

  // shortID keeps the distinctive end of a licence identifier (serial,
  // version, check character); the whole one is in the title and the
  // detail view.
  function shortID(id) {
    const parts = id.split('.');
    return parts.length > 4 ? '…' + parts.slice(-3).join('.') : id;
  }

  function resultRow(lic) {
    const cl = state.classByKey.get(lic.class);
    const open = el('button', { type: 'button', class: 'btn btn-sm', 'data-action': 'open', 'data-id': lic.id, text: t('act.open') });
    return el('tr', { 'data-id': lic.id },
      el('td', {}, el('code', { class: 'id', text: shortID(lic.id), title: lic.id })),
      el('td', { text: cl ? (lang === 'en' ? cl.name_en : cl.name_zh) : lic.class }),
      el('td', {}, el('div', { text: lic.holder_name || '' }), el('div', { class: 'muted small mono', text: lic.holder_code || '' })),
      el('td', { class: 'status-cell' }, statusBadge(lic)),
      el('td', { class: 'nowrap', text: fmtTime(lic.issued_at) }),
      el('td', { class: 'row-actions' }, open, ...actionButtons(lic, true)));
  }

  function renderResults() {
    const body = $('results-body');
    body.replaceChildren(...state.results.map(resultRow));
    const empty = $('results-empty');
    if (!state.results.length) {
      empty.textContent = state.query ? t('search.none') : t('search.empty');
      show(empty, true);
    } else {
      show(empty, false);
    }
    show($('search-more'), !!state.next);
  }

  async function search(more) {
    const q = more && state.query ? state.query : {
      holder: $('search-holder').value.trim().toUpperCase(),
      class: $('search-class').value,
      status: $('search-status').value,
    };
    const p = new URLSearchParams();
    for (const k of ['holder', 'class', 'status']) if (q[k]) p.set(k, q[k]);
    p.set('limit', String(PAGE));
    if (more && state.next) p.set('after', state.next);
    alertBox($('search-error'), '');
    const btn = $('search-btn');
    btn.disabled = true;
    try {
      const data = await api('GET', 'v1/licences?' + p.toString());
      state.query = q;
      state.results = more ? state.results.concat(data.licences || []) : (data.licences || []);
      state.next = data.next || '';
      renderResults();
    } catch (e) {
      showError($('search-error'), e);
    } finally {
      btn.disabled = false;
    }
  }

  function updateLicence(lic) {
    const i = state.results.findIndex((r) => r.id === lic.id);
    if (i >= 0) {
      const cred = state.results[i].credential;
      state.results[i] = Object.assign({}, lic, { credential: cred });
      const row = $('results-body').querySelector(`tr[data-id="${CSS.escape(lic.id)}"]`);
      if (row) row.replaceWith(resultRow(state.results[i]));
    }
    if (state.detailID === lic.id && $('detail-dialog').open) renderDetail(lic);
  }

  // ---- detail ------------------------------------------------------

  async function openDetail(id) {
    try {
      const lic = await api('GET', licPath(id));
      state.detailID = id;
      renderDetail(lic);
      const d = $('detail-dialog');
      if (!d.open) d.showModal();
      loadQR($('detail-qr'), id);
    } catch (e) {
      if (e.status !== 401) toast(errText(e), 'error');
    }
  }

  function kv(dl, label, value) {
    if (value === undefined || value === null || value === '') return;
    dl.append(el('dt', { text: label }), el('dd', {}, value));
  }

  function renderDetail(lic) {
    const cl = state.classByKey.get(lic.class);
    const meta = $('detail-meta');
    meta.replaceChildren();
    kv(meta, t('lic.id'), el('code', { class: 'wrap', text: lic.id }));
    kv(meta, t('lic.class'), cl ? className(cl) : lic.class);
    kv(meta, t('lic.holder'), `${lic.holder_name || ''}（${lic.holder_code || ''}）`);
    kv(meta, t('lic.status'), statusBadge(lic));
    kv(meta, t('lic.agency'), el('span', { id: 'detail-agency' }, el('span', { text: agencyName(lic.agency) || '' }), ' ', el('code', { class: 'muted', text: agencyName(lic.agency) ? '（' + lic.agency + '）' : lic.agency })));
    kv(meta, t('lic.issuedAt'), fmtTime(lic.issued_at));
    kv(meta, t('lic.updatedAt'), fmtTime(lic.updated_at));
    kv(meta, t('lic.ledger'), el('code', { text: String(lic.ledger_index) }));
    kv(meta, t('lic.statusRef'), el('code', { text: `${lic.status_list} #${lic.status_index}` }));
    kv(meta, t('lic.supersedes'), lic.supersedes ? el('code', { class: 'wrap', text: lic.supersedes }) : '');
    kv(meta, t('lic.supersededBy'), lic.superseded_by ? el('code', { class: 'wrap', text: lic.superseded_by }) : '');
    kv(meta, t('lic.copyOf'), lic.copy_of ? el('code', { class: 'wrap', text: lic.copy_of }) : '');

    const fields = $('detail-fields');
    fields.replaceChildren();
    const vals = lic.fields || {};
    const seen = new Set();
    for (const f of (cl && cl.fields) || []) {
      seen.add(f.key);
      kv(fields, f.label, vals[f.key]);
    }
    for (const k of Object.keys(vals).sort()) if (!seen.has(k)) kv(fields, k, vals[k]);
    $('detail-credential').textContent = lic.credential || '';
    $('detail-actions').replaceChildren(...detailButtons(lic), ...actionButtons(lic, false),
      el('button', { type: 'button', class: 'btn', 'data-action': 'close-detail', text: t('common.close') }));
    if (!state.detailLic || state.detailLic.id !== lic.id) resetDetailPanels();
    state.detailLic = lic;
    $('detail-dialog').dataset.id = lic.id;
    renderCopies(lic);
  }

  // ---- status changes ----------------------------------------------

  function openConfirm(action, id) {
    state.confirm = { action, id };
    $('confirm-title').textContent = t(`confirm.${action}.title`);
    $('confirm-text').textContent = t(`confirm.${action}.text`);
    $('confirm-id').textContent = id;
    $('confirm-ok').textContent = t(`confirm.${action}.ok`);
    $('confirm-ok').className = 'btn ' + (action === 'revoke' ? 'btn-danger' : action === 'suspend' ? 'btn-warn' : 'btn-primary');
    $('confirm-ok').disabled = false;
    const reasons = action === 'revoke' ? REVOKE_REASONS : action === 'suspend' ? SUSPEND_REASONS : [];
    const sel = $('confirm-reason');
    sel.replaceChildren(el('option', { value: '', text: t('confirm.choose') }),
      ...reasons.map((r) => el('option', { value: r, text: `${r} — ${t('reason.' + r)}` })));
    $('confirm-reason-hint').textContent = '';
    show($('confirm-reason-row'), reasons.length > 0);
    alertBox($('confirm-error'), '');
    $('confirm-dialog').showModal();
    (reasons.length ? sel : $('confirm-cancel')).focus();
  }

  async function submitConfirm(ev) {
    ev.preventDefault();
    const c = state.confirm;
    if (!c) return;
    const needsReason = c.action !== 'reinstate';
    const reason = $('confirm-reason').value;
    if (needsReason && !reason) {
      alertBox($('confirm-error'), t('confirm.needReason'));
      $('confirm-reason').focus();
      return;
    }
    const ok = $('confirm-ok');
    ok.disabled = true;
    try {
      const lic = await api('POST', licPath(c.id) + '/' + c.action, needsReason ? { reason } : {});
      $('confirm-dialog').close();
      state.confirm = null;
      updateLicence(lic);
      refreshCheckpointSoon();
      toast(t('confirm.done', statusLabel(lic), lic.id), 'ok');
    } catch (e) {
      showError($('confirm-error'), e);
    } finally {
      ok.disabled = false;
    }
  }

  // ---- relying parties (用证方) ------------------------------------

  // Suggested reasons; the reason is free text (docs/consent.md §2).
  const RP_REASONS = {
    suspend: ['超范围调取', '安全核查', '密钥疑似泄露', '用证方申请'],
    resume: ['核查完毕', '密钥已更换'],
    remove: ['系统下线', '违规使用', '用证方申请'],
  };
  const RP_STATE_CLASS = { active: 'valid', suspended: 'suspended', removed: 'revoked' };

  const rpPath = (id) => 'v1/relying-parties' + (id === undefined ? '' : '/' + encodeURIComponent(id));

  // sm3 is the SM3 hash (GB/T 32905-2016) of bytes, as lower-case hex:
  // the key fingerprint the ledger's rp-registered event commits to.
  // WebCrypto has no SM3.
  function sm3(bytes) {
    const rotl = (x, n) => ((x << n) | (x >>> (32 - n))) >>> 0;
    const p0 = (x) => (x ^ rotl(x, 9) ^ rotl(x, 17)) >>> 0;
    const p1 = (x) => (x ^ rotl(x, 15) ^ rotl(x, 23)) >>> 0;
    const n = bytes.length;
    const size = (((n + 8) >> 6) + 1) << 6;
    const m = new Uint8Array(size);
    m.set(bytes);
    m[n] = 0x80;
    const dv = new DataView(m.buffer);
    dv.setUint32(size - 8, Math.floor(n / 0x20000000));
    dv.setUint32(size - 4, (n * 8) >>> 0);
    const v = [0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e];
    const w = new Uint32Array(68);
    for (let off = 0; off < size; off += 64) {
      for (let j = 0; j < 16; j++) w[j] = dv.getUint32(off + 4 * j);
      for (let j = 16; j < 68; j++) w[j] = p1(w[j - 16] ^ w[j - 9] ^ rotl(w[j - 3], 15)) ^ rotl(w[j - 13], 7) ^ w[j - 6];
      let [a, b, c, d, e, f, g, h] = v;
      for (let j = 0; j < 64; j++) {
        const a12 = rotl(a, 12);
        const ss1 = rotl((a12 + e + rotl(j < 16 ? 0x79cc4519 : 0x7a879d8a, j % 32)) >>> 0, 7);
        const ss2 = (ss1 ^ a12) >>> 0;
        const ff = j < 16 ? a ^ b ^ c : (a & b) | (a & c) | (b & c);
        const gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g);
        const tt1 = (ff + d + ss2 + (w[j] ^ w[j + 4])) >>> 0;
        const tt2 = (gg + h + ss1 + w[j]) >>> 0;
        d = c; c = rotl(b, 9); b = a; a = tt1;
        h = g; g = rotl(f, 19); f = e; e = p0(tt2);
      }
      [a, b, c, d, e, f, g, h].forEach((x, i) => { v[i] = (v[i] ^ x) >>> 0; });
    }
    return v.map((x) => x.toString(16).padStart(8, '0')).join('');
  }

  function base64Bytes(b64) {
    try {
      return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    } catch (e) {
      return null;
    }
  }

  function keyFingerprint(b64) {
    const der = base64Bytes(b64 || '');
    return der && der.length ? sm3(der) : '';
  }

  function rpStateLabel(st) { return I18N['rp.state.' + st] ? t('rp.state.' + st) : st; }

  function rpStateBadge(rp) {
    return el('span', { class: 'status status-' + (RP_STATE_CLASS[rp.state] || 'superseded'), 'data-state': rp.state, title: rp.state, text: rpStateLabel(rp.state) });
  }

  function rpButtons(rp, small) {
    const out = [];
    const b = (action, cls) => el('button', { type: 'button', class: 'btn ' + (small ? 'btn-sm ' : '') + cls, 'data-rp-action': action, 'data-id': rp.id, text: t('rp.act.' + action) });
    if (isAdmin() && rp.state !== 'removed') {
      out.push(b('edit', ''));
      if (rp.state === 'active') out.push(b('suspend', 'btn-warn'));
      if (rp.state === 'suspended') out.push(b('resume', ''));
      out.push(b('remove', 'btn-danger'));
    }
    return out;
  }

  function rpRow(rp) {
    return el('tr', { 'data-id': rp.id },
      el('td', {}, el('code', { text: rp.id })),
      el('td', { text: rp.name }),
      el('td', {}, el('div', { text: rp.org_name }), el('div', { class: 'muted small mono', text: rp.org_code })),
      el('td', { title: (rp.matters || []).map((m) => `${m.code} ${m.name}`).join('\n'), text: t('rp.matterCount', (rp.matters || []).length) }),
      el('td', { class: 'status-cell' }, rpStateBadge(rp)),
      el('td', {}, el('code', { text: String(rp.ledger_index) })),
      el('td', { class: 'row-actions' },
        el('button', { type: 'button', class: 'btn btn-sm', 'data-rp-action': 'open', 'data-id': rp.id, text: t('rp.act.open') }),
        ...rpButtons(rp, true)));
  }

  function renderParties() {
    $('rp-body').replaceChildren(...state.parties.map(rpRow));
    show($('rp-empty'), state.parties.length === 0);
    $('rp-empty').textContent = state.partiesLoaded ? t('rp.empty') : t('rp.loading');
    show($('rp-new'), isAdmin());
  }

  async function loadParties() {
    alertBox($('rp-error'), '');
    try {
      const data = await api('GET', rpPath());
      state.parties = data.relying_parties || [];
      state.partiesLoaded = true;
      renderParties();
    } catch (e) {
      if (e.status !== 401) alertBox($('rp-error'), rpErrorText(e), e.message);
    }
  }

  function updateParty(rp) {
    const i = state.parties.findIndex((p) => p.id === rp.id);
    if (i >= 0) state.parties[i] = rp;
    else state.parties.push(rp);
    renderParties();
    if (state.rpDetail === rp.id && $('rp-dialog').open) renderPartyDetail(rp);
  }

  async function openParty(id) {
    try {
      const rp = await api('GET', rpPath(id));
      state.rpDetail = id;
      renderPartyDetail(rp);
      if (!$('rp-dialog').open) $('rp-dialog').showModal();
    } catch (e) {
      if (e.status !== 401) toast(rpErrorText(e), 'error');
    }
  }

  function classLabel(key) {
    const cl = state.classByKey.get(key);
    return cl ? className(cl) : key;
  }

  function fieldLabel(classKey, key) {
    const cl = state.classByKey.get(classKey);
    const f = cl && (cl.fields || []).find((x) => x.key === key);
    return f ? f.label : key;
  }

  function renderPartyDetail(rp) {
    const meta = $('rp-meta');
    meta.replaceChildren();
    kv(meta, t('rp.id'), el('code', { text: rp.id }));
    kv(meta, t('rp.sysName'), rp.name);
    kv(meta, t('rp.org'), `${rp.org_name}（${rp.org_code}）`);
    kv(meta, t('rp.state'), rpStateBadge(rp));
    kv(meta, t('rp.fingerprint'), el('code', { id: 'rp-fingerprint', class: 'hash', text: keyFingerprint(rp.key) }));
    kv(meta, t('rp.callback'), rp.callback ? el('code', { class: 'wrap', text: rp.callback }) : t('rp.noCallback'));
    kv(meta, t('rp.lastChange'), el('code', { id: 'rp-ledger-index', text: String(rp.ledger_index) }));
    kv(meta, t('rp.voidBefore'), rp.void_before ? fmtTime(rp.void_before) : '');

    const box = $('rp-detail-matters');
    box.replaceChildren(...(rp.matters || []).map((m) => el('section', { class: 'rp-matter', 'data-code': m.code },
      el('h4', {}, el('code', { text: m.code }), ' ', el('span', { text: m.name })),
      ...(m.classes || []).map((c) => el('div', { class: 'rp-class', 'data-class': c.class },
        el('div', { class: 'rp-class-name', text: classLabel(c.class) }),
        el('table', { class: 'table table-compact' },
          el('tbody', {}, ...(c.fields || []).map((f) => el('tr', { 'data-key': f.key },
            el('td', { class: 'nowrap' }, el('span', { text: fieldLabel(c.class, f.key) }), ' ', el('span', { class: 'key', text: f.key })),
            el('td', { class: 'purpose', text: f.purpose }))))))))));
    $('rp-actions').replaceChildren(...rpButtons(rp, false),
      el('button', { type: 'button', class: 'btn', 'data-rp-action': 'close', text: t('common.close') }));
    $('rp-dialog').dataset.id = rp.id;
  }

  // ---- the registration form

  function rpClassOptions(sel, keep) {
    sel.replaceChildren(el('option', { value: '', text: t('rp.chooseClass') }),
      ...state.classes.map((c) => el('option', { value: c.key, text: className(c) })));
    if (keep && state.classByKey.has(keep)) sel.value = keep;
  }

  // classBlock is one licence class of a matter: the class and, for each
  // of its fields, a tick and a purpose.
  function classBlock(mc) {
    const sel = el('select', { class: 'mc-class' });
    rpClassOptions(sel, mc && mc.class);
    const fields = el('div', { class: 'mc-fields' });
    const block = el('div', { class: 'mclass' },
      el('div', { class: 'mclass-head' }, sel,
        el('button', { type: 'button', class: 'btn btn-sm btn-link', 'data-rp-form': 'remove-class', 'data-i18n': 'rp.removeClass', text: t('rp.removeClass') })),
      fields);
    const fill = (given) => {
      const cl = state.classByKey.get(sel.value);
      const purposes = new Map((given || []).map((f) => [f.key, f.purpose]));
      fields.replaceChildren();
      if (!cl) return;
      fields.append(el('div', { class: 'hint', 'data-i18n': 'rp.fieldsHint', text: t('rp.fieldsHint') }));
      for (const f of cl.fields || []) {
        const on = purposes.has(f.key);
        const tick = el('input', { type: 'checkbox', class: 'mc-tick', value: f.key, checked: on });
        const purpose = el('input', { type: 'text', class: 'mc-purpose', maxLength: 256, disabled: !on, value: purposes.get(f.key) || '', placeholder: t('rp.purposeHint') });
        purpose.dataset.i18nPlaceholder = 'rp.purposeHint';
        purpose.setAttribute('aria-label', t('rp.purpose') + ' · ' + f.label);
        fields.append(el('div', { class: 'mc-field', 'data-key': f.key },
          el('label', {}, tick, ' ', el('span', { text: f.label }), el('span', { class: 'key', text: f.key })),
          purpose));
      }
    };
    sel.addEventListener('change', () => fill());
    fields.addEventListener('change', (ev) => {
      if (!ev.target.classList.contains('mc-tick')) return;
      const p = ev.target.closest('.mc-field').querySelector('.mc-purpose');
      p.disabled = !ev.target.checked;
      if (ev.target.checked) p.focus();
    });
    fill(mc && mc.fields);
    return block;
  }

  function matterBlock(m) {
    const input = (cls, key, hint, value) => {
      const i = el('input', { type: 'text', class: cls, value: value || '', placeholder: t(hint) });
      i.dataset.i18nPlaceholder = hint;
      i.setAttribute('aria-label', t(key));
      return el('div', { class: 'matter-cell' }, el('div', { class: 'label small', 'data-i18n': key, text: t(key) }), i);
    };
    const classes = el('div', { class: 'm-classes' }, ...((m && m.classes) || [null]).map(classBlock));
    return el('div', { class: 'matter' },
      el('div', { class: 'matter-head' },
        input('m-code mono', 'rp.matterCode', 'rp.matterCodeHint', m && m.code),
        input('m-name', 'rp.matterName', 'rp.matterNameHint', m && m.name),
        el('button', { type: 'button', class: 'btn btn-sm btn-danger', 'data-rp-form': 'remove-matter', 'data-i18n': 'rp.removeMatter', text: t('rp.removeMatter') })),
      classes,
      el('button', { type: 'button', class: 'btn btn-sm btn-link', 'data-rp-form': 'add-class', 'data-i18n': 'rp.addClass', text: t('rp.addClass') }));
  }

  function onMatterClick(ev) {
    const b = ev.target.closest('button[data-rp-form]');
    if (!b) return;
    const what = b.dataset.rpForm;
    if (what === 'remove-matter') b.closest('.matter').remove();
    else if (what === 'remove-class') b.closest('.mclass').remove();
    else if (what === 'add-class') b.closest('.matter').querySelector('.m-classes').append(classBlock(null));
    clearRPErrors();
  }

  // openPartyForm shows the form, empty to register or filled with rp to
  // replace its registration.
  async function openPartyForm(rp) {
    try {
      await loadClasses();
    } catch (e) {
      alertBox($('rp-error'), errText(e), t('err.server', e.message));
      return;
    }
    if ($('rp-dialog').open) $('rp-dialog').close();
    state.rpEditing = rp ? rp.id : null;
    const form = $('rp-form');
    form.reset();
    clearRPErrors();
    const title = rp ? 'rp.editTitle' : 'rp.newTitle';
    $('rp-form-title').dataset.i18n = title;
    $('rp-form-title').textContent = t(title);
    const submit = rp ? 'rp.submitEdit' : 'rp.submitNew';
    $('rp-submit').dataset.i18n = submit;
    $('rp-submit').textContent = t(submit);
    const id = $('rp-f-id');
    id.readOnly = !!rp;
    for (const k of ['id', 'name', 'org_code', 'org_name', 'key', 'callback']) $('rp-f-' + k).value = (rp && rp[k]) || '';
    $('rp-matters').replaceChildren(...((rp && rp.matters) || [null]).map(matterBlock));
    show($('rp-list-view'), false);
    show(form, true);
    (rp ? $('rp-f-name') : id).focus();
  }

  function closePartyForm() {
    state.rpEditing = null;
    show($('rp-form'), false);
    show($('rp-list-view'), true);
  }

  async function readKeyFile(ev) {
    const file = ev.target.files && ev.target.files[0];
    if (!file) return;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
      // PEM as it is; anything else is DER, sent as base64.
      $('rp-f-key').value = text.includes('-----BEGIN') ? text.trim() : btoa(String.fromCharCode(...bytes));
      clearRPField('key');
    } catch (e) {
      markRPField('key', t('rp.keyFileBad', e.message));
    }
  }

  // collectRegistration reads the form as the API's registration, and the
  // problems to fix before sending it.
  function collectRegistration() {
    const v = (k) => $('rp-f-' + k).value.trim();
    const reg = { id: v('id'), name: v('name'), org_code: v('org_code').toUpperCase(), org_name: v('org_name'), key: v('key'), matters: [] };
    const cb = v('callback');
    if (cb) reg.callback = cb;
    const problems = [];
    for (const k of ['id', 'name', 'org_code', 'org_name', 'key']) if (!reg[k]) problems.push([k, t('rperr.required')]);
    for (const mb of $('rp-matters').querySelectorAll('.matter')) {
      const m = { code: mb.querySelector('.m-code').value.trim(), name: mb.querySelector('.m-name').value.trim(), classes: [] };
      const label = m.code || m.name || String(reg.matters.length + 1);
      if (!m.code || !m.name) problems.push(['matters', t('rp.needMatterText')]);
      for (const cb2 of mb.querySelectorAll('.mclass')) {
        const cls = cb2.querySelector('.mc-class').value;
        if (!cls) continue;
        const fields = [];
        for (const fr of cb2.querySelectorAll('.mc-field')) {
          if (!fr.querySelector('.mc-tick').checked) continue;
          const purpose = fr.querySelector('.mc-purpose').value.trim();
          if (!purpose) problems.push(['matters', t('rp.needPurpose', label)]);
          fields.push({ key: fr.dataset.key, purpose });
        }
        if (!fields.length) problems.push(['matters', t('rp.needField', label)]);
        m.classes.push({ class: cls, fields });
      }
      if (!m.classes.length) problems.push(['matters', t('rp.needClass', label)]);
      reg.matters.push(m);
    }
    if (!reg.matters.length) problems.push(['matters', t('rp.needMatter')]);
    return { reg, problems };
  }

  function rpFieldBox(key) {
    const scope = key === 'reason' ? $('rp-confirm-form') : $('rp-form');
    return scope.querySelector(`.field[data-field="${CSS.escape(key)}"]`);
  }

  function markRPField(key, msg, detail) {
    const box = rpFieldBox(key);
    if (!box) return false;
    box.classList.add('invalid');
    const err = box.querySelector('.field-error');
    if (err.textContent) return true; // the first problem stands
    err.replaceChildren(el('span', { class: 'field-error-text', text: msg }));
    if (detail) err.append(el('div', { class: 'field-error-detail', text: detail }));
    const c = box.querySelector('input, select, textarea');
    if (c) c.setAttribute('aria-invalid', 'true');
    return true;
  }

  function clearRPField(key) {
    const box = rpFieldBox(key);
    if (!box) return;
    box.classList.remove('invalid');
    box.querySelector('.field-error').replaceChildren();
    for (const c of box.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  }

  function clearRPErrors() {
    alertBox($('rp-form-error'), '');
    for (const k of ['id', 'name', 'org_code', 'org_name', 'key', 'callback', 'matters']) clearRPField(k);
  }

  // rpErrorText says in the page's language what the API's error means;
  // the API's own message is shown with it.
  function rpErrorText(e) {
    const m = e.message || '';
    let g;
    if (e.status === 403) return t('rperr.forbidden');
    if (e.status === 404) return t('rperr.notFound');
    if (e.status === 409) return e.field === 'state' ? t('rperr.state') : /removed/.test(m) ? t('rperr.removedParty') : t('rperr.taken');
    if (e.status !== 422) return e.status ? m : t('err.network');
    switch (e.field) {
      case 'id': return t('rperr.id');
      case 'org_code': return t('rperr.orgCode');
      case 'key': return t('rperr.key');
      case 'callback': return (g = /longer than (\d+)/.exec(m)) ? t('rperr.tooLong', g[1]) : t('rperr.callback');
      case 'name': case 'org_name': case 'reason':
        if (/is required/.test(m)) return t('rperr.required');
        if ((g = /longer than (\d+)/.exec(m))) return t('rperr.tooLong', g[1]);
        return t('rperr.oneLine');
      case 'matters': {
        const pats = [
          [/registers 1–(\d+) matters/, 'rperr.matterCount'],
          [/matter (\d+): a code is/, 'rperr.matterCode', (x) => [Number(x[1]) + 1]],
          [/matter (\S+) twice/, 'rperr.matterTwice'],
          [/matter (\S+): a name of/, 'rperr.matterName'],
          [/matter (\S+) asks for no class/, 'rperr.noClass'],
          [/matter (\S+): unknown licence class "([^"]*)"/, 'rperr.unknownClass'],
          [/matter (\S+): class (\S+) twice/, 'rperr.classTwice'],
          [/matter (\S+), class (\S+): no field/, 'rperr.noField'],
          [/matter (\S+): "([^"]*)" is not a field of class (\S+)/, 'rperr.notField'],
          [/matter (\S+), class (\S+): field (\S+) twice/, 'rperr.fieldTwice'],
          [/matter (\S+), field (\S+): a purpose/, 'rperr.purpose'],
        ];
        for (const [re, key, args] of pats) {
          if ((g = re.exec(m))) return t(key, ...(args ? args(g) : g.slice(1)));
        }
        return t('rperr.matters');
      }
    }
    return t('rperr.other');
  }

  async function submitParty(ev) {
    ev.preventDefault();
    clearRPErrors();
    const { reg, problems } = collectRegistration();
    if (problems.length) {
      for (const [k, msg] of problems) markRPField(k, msg);
      alertBox($('rp-form-error'), t('rp.fixFields'));
      const first = $('rp-form').querySelector('.field.invalid input, .field.invalid textarea, .field.invalid select');
      if (first) first.focus();
      return;
    }
    const editing = state.rpEditing;
    const btn = $('rp-submit');
    btn.disabled = true;
    btn.textContent = t('rp.submitting');
    let rp;
    try {
      rp = await api(editing ? 'PUT' : 'POST', rpPath(editing || undefined), reg);
    } catch (e) {
      if (e.status === 401) return;
      const text = rpErrorText(e);
      const detail = t('rp.fromServer', e.message);
      const marked = e.field && markRPField(e.field, text, detail);
      alertBox($('rp-form-error'), marked ? t('rp.fixFields') : text, detail);
      const first = $('rp-form').querySelector('.field.invalid input, .field.invalid textarea');
      if (first) first.focus();
      return;
    } finally {
      btn.disabled = false;
      btn.textContent = t(editing ? 'rp.submitEdit' : 'rp.submitNew');
    }
    closePartyForm();
    updateParty(rp);
    refreshCheckpointSoon();
    toast(t(editing ? 'rp.replaced' : 'rp.registered', rp.id, rp.ledger_index), 'ok');
  }

  // ---- suspend, resume, remove

  function openPartyConfirm(action, id) {
    state.rpConfirm = { action, id };
    $('rp-confirm-title').textContent = t(`rp.confirm.${action}.title`);
    $('rp-confirm-text').textContent = t(`rp.confirm.${action}.text`);
    $('rp-confirm-id').textContent = id;
    const ok = $('rp-confirm-ok');
    ok.textContent = t(`rp.confirm.${action}.ok`);
    ok.className = 'btn ' + (action === 'remove' ? 'btn-danger' : action === 'suspend' ? 'btn-warn' : 'btn-primary');
    ok.disabled = false;
    $('rp-reason').value = '';
    $('rp-reasons').replaceChildren(...RP_REASONS[action].map((r) => el('option', { value: r })));
    show($('rp-reason-req'), action !== 'resume');
    clearRPField('reason');
    alertBox($('rp-confirm-error'), '');
    $('rp-confirm-dialog').showModal();
    $('rp-reason').focus();
  }

  async function submitPartyConfirm(ev) {
    ev.preventDefault();
    const c = state.rpConfirm;
    if (!c) return;
    clearRPField('reason');
    alertBox($('rp-confirm-error'), '');
    const reason = $('rp-reason').value.trim();
    if (!reason && c.action !== 'resume') {
      markRPField('reason', t('rp.needReason'));
      $('rp-reason').focus();
      return;
    }
    const ok = $('rp-confirm-ok');
    ok.disabled = true;
    try {
      const path = c.action === 'remove' ? rpPath(c.id) : rpPath(c.id) + '/' + c.action;
      const rp = await api(c.action === 'remove' ? 'DELETE' : 'POST', path, reason ? { reason } : {});
      $('rp-confirm-dialog').close();
      state.rpConfirm = null;
      updateParty(rp);
      refreshCheckpointSoon();
      toast(t('rp.done', rpStateLabel(rp.state), rp.id), 'ok');
    } catch (e) {
      if (e.status === 401) return;
      const text = rpErrorText(e);
      const detail = t('rp.fromServer', e.message);
      if (!(e.field === 'reason' && markRPField('reason', text, detail))) alertBox($('rp-confirm-error'), text, detail);
    } finally {
      ok.disabled = false;
    }
  }

  function onPartyAction(ev) {
    const b = ev.target.closest('button[data-rp-action]');
    if (!b) return;
    const { rpAction, id } = b.dataset;
    if (rpAction === 'open') openParty(id);
    else if (rpAction === 'close') $('rp-dialog').close();
    else if (rpAction === 'edit') {
      api('GET', rpPath(id)).then(openPartyForm, (e) => { if (e.status !== 401) toast(rpErrorText(e), 'error'); });
    } else if (['suspend', 'resume', 'remove'].includes(rpAction)) openPartyConfirm(rpAction, id);
  }

  // ---- ledger ------------------------------------------------------

  function parseCheckpoint(text) {
    const sep = text.indexOf('\n\n');
    const body = sep >= 0 ? text.slice(0, sep) : text;
    const sigs = sep >= 0 ? text.slice(sep + 2) : '';
    const lines = body.split('\n');
    const signers = sigs.split('\n').filter((l) => l.startsWith('— ')).map((l) => l.slice(2).split(' ')[0]);
    return { origin: lines[0] || '', size: lines[1] || '', root: lines[2] || '', signers };
  }

  async function refreshCheckpoint() {
    try {
      const resp = await api('GET', 'v1/ledger/checkpoint', undefined, { auth: false, raw: true });
      const text = await resp.text();
      alertBox($('cp-error'), '');
      if (!text.trim()) {
        $('cp-origin').textContent = t('ledger.empty');
        return;
      }
      const cp = parseCheckpoint(text);
      $('cp-origin').textContent = cp.origin;
      const size = $('cp-size');
      if (state.cpSize !== null && cp.size !== state.cpSize) {
        size.classList.remove('flash');
        void size.offsetWidth; // restart the animation
        size.classList.add('flash');
      }
      state.cpSize = cp.size;
      size.textContent = cp.size;
      $('cp-root').textContent = cp.root;
      $('cp-signers').textContent = cp.signers.join(', ') || '—';
      $('cp-time').textContent = new Date().toLocaleTimeString(lang === 'en' ? 'en-GB' : 'zh-CN', { hour12: false });
    } catch (e) {
      alertBox($('cp-error'), t('ledger.error', errText(e)), e.status ? t('err.server', e.message) : '');
    }
  }

  // refreshCheckpointSoon re-reads the checkpoint now and once the ledger
  // has signed one covering the latest write (it signs at least every
  // second).
  function refreshCheckpointSoon() {
    refreshCheckpoint();
    setTimeout(refreshCheckpoint, 1300);
  }

  // ---- agencies, errors, downloads ---------------------------------

  async function loadAgencies() {
    try {
      const data = await api('GET', 'v1/agencies');
      state.agencies = new Map((data.agencies || []).map((a) => [a.code, a]));
    } catch (e) {
      state.agencies = new Map(); // codes are shown instead of names
    }
    renderAgencySelects();
    renderWho();
    if (state.detailLic && $('detail-dialog').open) renderDetail(state.detailLic);
  }

  function agencyName(code) {
    const a = state.agencies.get(code);
    return a ? a.name : '';
  }

  function agencyLabel(code) {
    const n = agencyName(code);
    return n ? `${n}（${code}）` : code;
  }

  function classShort(key) {
    const cl = state.classByKey.get(key);
    return cl ? (lang === 'en' ? cl.name_en : cl.name_zh) : key;
  }

  function renderAgencySelects() {
    for (const sel of document.querySelectorAll('select.agency-select')) {
      const keep = sel.value;
      const empty = el('option', { value: '', text: t('agency.choose') });
      sel.replaceChildren(empty, ...[...state.agencies.values()].map((a) => el('option', { value: a.code, text: `${a.name}（${a.code}）` })));
      if (keep && state.agencies.has(keep)) sel.value = keep;
      else if (state.agencies.size === 1) sel.value = state.agencies.keys().next().value;
    }
  }

  // errText says in the page's language what an API error means and what
  // to do; the API's own message goes with it as the detail.
  function errText(e) {
    switch (e.status) {
      case 0: return t('err.network');
      case 403: return t('err.forbidden');
      case 404: return t('err.notFound');
      case 409: return t('err.conflict');
      case 400: case 413: case 415: case 422: return t('err.invalid');
      case 429: return t('err.busy');
      case 503: return t('err.unavailable');
    }
    return t('err.other', e.status);
  }

  function showError(node, e, text) {
    if (e.status === 401) return; // back at the login page already
    alertBox(node, text || errText(e), e.status ? t('err.server', e.message) : '');
  }

  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  function saveText(text, name, type) {
    saveBlob(new Blob([text], { type: type || 'text/csv;charset=utf-8' }), name);
  }

  async function download(path, name) {
    try {
      const resp = await api('GET', path, undefined, { raw: true });
      saveBlob(await resp.blob(), name);
      toast(t('dl.done', name), 'ok');
    } catch (e) {
      if (e.status !== 401) toast(t('dl.failed', errText(e) + ' ' + e.message), 'error');
    }
  }

  async function copyText(text, node) {
    try {
      await navigator.clipboard.writeText(text);
      toast(t('common.copied'), 'ok');
    } catch (e) {
      if (node.select) node.select();
      else {
        const r = document.createRange();
        r.selectNodeContents(node);
        const s = getSelection();
        s.removeAllRanges();
        s.addRange(r);
      }
      toast(t('tok.copyFallback'));
    }
  }

  // ---- the ask dialog: a confirmation, with a reason when one is asked

  function ask(o) {
    state.ask = o;
    $('ask-title').textContent = o.title;
    $('ask-text').textContent = o.text;
    $('ask-id').textContent = o.id;
    $('ask-ok').textContent = o.ok;
    $('ask-ok').disabled = false;
    $('ask-reason').value = '';
    $('ask-reasons').replaceChildren(...(o.reasons || []).map((r) => el('option', { value: r })));
    show($('ask-reason-row'), !!o.reasons);
    $('ask-reason-row').classList.remove('invalid');
    $('ask-err-reason').textContent = '';
    alertBox($('ask-error'), '');
    $('ask-dialog').showModal();
    (o.reasons ? $('ask-reason') : $('ask-cancel')).focus();
  }

  async function submitAsk(ev) {
    ev.preventDefault();
    const o = state.ask;
    if (!o) return;
    const reason = $('ask-reason').value.trim();
    if (o.reasons && !reason) {
      $('ask-reason-row').classList.add('invalid');
      $('ask-err-reason').textContent = t('rp.needReason');
      $('ask-reason').focus();
      return;
    }
    $('ask-ok').disabled = true;
    try {
      await o.run(reason);
      $('ask-dialog').close();
      state.ask = null;
    } catch (e) {
      showError($('ask-error'), e, o.errText ? o.errText(e) : '');
    } finally {
      $('ask-ok').disabled = false;
    }
  }

  // ---- the licence detail: operations -------------------------------

  function detailButtons(lic) {
    const b = (action, cls) => el('button', { type: 'button', class: 'btn ' + (cls || ''), 'data-action': action, 'data-id': lic.id, text: t('act.' + action) });
    const out = [];
    if (!lic.copy_of) {
      out.push(b('face'), b('ofd'), b('qrPng'));
    }
    out.push(b('history'));
    if (!lic.copy_of && canChange()) {
      if (lic.status === 'valid') out.push(b('claimCode'));
      if (lic.status === 'valid' || lic.status === 'suspended') out.push(b('reissue'));
    }
    return out;
  }

  function resetDetailPanels() {
    show($('claim-box'), false);
    $('claim-code').textContent = '';
    show($('reissue-form'), false);
    show($('history-box'), false);
    $('history-body').replaceChildren();
    state.history = null;
    alertBox($('detail-error'), '');
  }

  function onOperation(action, id) {
    const lic = state.detailLic;
    const name = (lic && lic.id === id && lic.id) || id;
    switch (action) {
      case 'face': openFace(id); break;
      case 'ofd': download(licPath(id) + '/ofd', name + '.ofd'); break;
      case 'qrPng': download(licPath(id) + '/qr?format=png&scale=8', name + '.png'); break;
      case 'history': loadHistory(id); break;
      case 'claimCode': newClaimCode(id); break;
      case 'reissue': openReissue(); break;
      case 'unbind': askUnbind(id); break;
    }
  }

  async function newClaimCode(id) {
    alertBox($('detail-error'), '');
    try {
      const r = await api('POST', licPath(id) + '/claim-codes');
      $('claim-code').textContent = r.code;
      $('claim-exp').textContent = t('issue.claimExpires', fmtTime(r.expires));
      show($('claim-box'), true);
      $('claim-box').scrollIntoView({ block: 'nearest' });
      toast(t('claim.toast'), 'ok');
    } catch (e) {
      showError($('detail-error'), e, e.status === 409 ? t('claim.notValid') : '');
    }
  }

  // renderCopies lists the licence's device copies with their status, and
  // unbinding for those still valid.
  async function renderCopies(lic) {
    const ids = lic.copies || [];
    show($('copies-box'), ids.length > 0 && !lic.copy_of);
    if (!ids.length || lic.copy_of) { $('copies-body').replaceChildren(); return; }
    const copies = await Promise.all(ids.map((id) => api('GET', licPath(id)).catch(() => ({ id, status: '' }))));
    if (!state.detailLic || state.detailLic.id !== lic.id) return;
    $('copies-body').replaceChildren(...copies.map((cp) => {
      const tag = cp.id.split('#')[1] || cp.id;
      const live = cp.status === 'valid' || cp.status === 'suspended';
      return el('tr', { 'data-id': cp.id },
        el('td', {}, el('code', { title: cp.id, text: t('copies.device', tag) })),
        el('td', { class: 'status-cell' }, cp.status ? statusBadge(cp) : ''),
        el('td', { class: 'small muted', text: cp.status === 'revoked' && cp.reason === '遗失' ? t('copies.unbound') : fmtTime(cp.issued_at) }),
        el('td', { class: 'row-actions' }, live && canChange()
          ? el('button', { type: 'button', class: 'btn btn-sm btn-danger', 'data-action': 'unbind', 'data-id': cp.id, text: t('act.unbind') }) : ''));
    }));
  }

  function askUnbind(copyID) {
    ask({
      title: t('unbind.title'), text: t('unbind.text'), id: copyID, ok: t('unbind.ok'),
      run: async () => {
        await api('POST', licPath(copyID) + '/unbind');
        toast(t('unbind.done', copyID), 'ok');
        refreshCheckpointSoon();
        if (state.detailLic) openDetail(state.detailLic.id);
      },
    });
  }

  // ---- re-issue

  function normValue(f, raw) {
    let v = raw || '';
    v = f.type === 'longtext' ? v.replace(/\r\n?/g, '\n').trim() : v.trim();
    if (f.type === 'datetime') v = v.replace('T', ' ');
    if (['uscc', 'resident_id', 'uscc_or_resident_id', 'vin'].includes(f.type)) v = v.toUpperCase();
    return v;
  }

  function openReissue() {
    const lic = state.detailLic;
    const cl = lic && state.classByKey.get(lic.class);
    if (!cl) return;
    const box = $('reissue-fields');
    box.replaceChildren();
    for (const f of cl.fields || []) {
      const c = control(f, 'r-', 'rerr-');
      let v = (lic.fields || {})[f.key] || '';
      if (f.type === 'datetime') v = v.replace(' ', 'T');
      c.value = v;
      const wide = f.type === 'longtext' || (f.max_len || 0) > 100;
      box.append(el('div', { class: 'field' + (wide ? ' field-wide' : ''), 'data-field': f.key },
        el('label', { class: 'label', for: 'r-' + f.key }, el('span', { text: f.label }), el('span', { class: 'key', text: f.key })),
        c, el('div', { class: 'field-error', id: 'rerr-' + f.key, role: 'alert' })));
    }
    $('reissue-number').value = '';
    clearReissueErrors();
    show($('reissue-form'), true);
    $('reissue-form').scrollIntoView({ block: 'nearest' });
  }

  function clearReissueErrors() {
    alertBox($('reissue-error'), '');
    for (const n of $('reissue-form').querySelectorAll('.field.invalid')) {
      n.classList.remove('invalid');
      n.querySelector('.field-error').textContent = '';
    }
  }

  function markReissue(key, msg) {
    const box = $('reissue-form').querySelector(`.field[data-field="${CSS.escape(key)}"]`);
    if (!box) return false;
    box.classList.add('invalid');
    box.querySelector('.field-error').textContent = msg;
    return true;
  }

  async function submitReissue(ev) {
    ev.preventDefault();
    const lic = state.detailLic;
    const cl = lic && state.classByKey.get(lic.class);
    if (!cl) return;
    clearReissueErrors();
    const fields = {};
    for (const f of cl.fields || []) {
      const v = normValue(f, $('r-' + f.key).value);
      if (v !== ((lic.fields || {})[f.key] || '')) fields[f.key] = v;
    }
    const body = { fields };
    const number = $('reissue-number').value.trim();
    if (number) body.number = number;
    if (!Object.keys(fields).length && !number) {
      alertBox($('reissue-error'), t('reissue.nothing'));
      return;
    }
    const btn = $('reissue-submit');
    btn.disabled = true;
    btn.textContent = t('reissue.submitting');
    try {
      const next = await api('POST', licPath(lic.id) + '/reissue', body);
      show($('reissue-form'), false);
      toast(t('reissue.done', next.id), 'ok');
      refreshCheckpointSoon();
      api('GET', licPath(lic.id)).then(updateLicence, () => {});
      await openDetail(next.id);
    } catch (e) {
      if (e.status === 401) return;
      const per = fieldMessages(e.message);
      let marked = e.field && markReissue(e.field, per.get(e.field) || e.message) ? 1 : 0;
      for (const [k, m] of per) if (k !== e.field && markReissue(k, m)) marked++;
      const text = e.status === 409 ? t('reissue.state') : marked ? t('issue.fixFields', marked) : errText(e);
      alertBox($('reissue-error'), text, t('err.server', e.message));
    } finally {
      btn.disabled = false;
      btn.textContent = t('reissue.submit');
    }
  }

  // ---- the licence face

  // base64Blob turns a data: URI's base64 into a Blob (the page's policy
  // allows blob: images, not data:).
  function dataURIBlob(uri) {
    const m = /^data:([^;,]+);base64,(.*)$/.exec(uri);
    if (!m) return null;
    const bytes = base64Bytes(m[2]);
    return bytes ? new Blob([bytes], { type: m[1] }) : null;
  }

  // openFace shows the face the API renders (GET …/face): its content is
  // taken into the page (the console's policy forbids the face's inline
  // style and data: images), images through blob: URLs.
  async function openFace(id) {
    try {
      const resp = await api('GET', licPath(id) + '/face', undefined, { raw: true });
      const html = await resp.text();
      // The face's own style sheet is the page's here (app.css): parsed,
      // it would be reported as a policy violation.
      const doc = new DOMParser().parseFromString(html.replace(/<style[\s\S]*?<\/style>/gi, ''), 'text/html');
      const face = doc.querySelector('.face');
      if (!face) throw new Error('no face');
      const node = document.importNode(face, true);
      for (const img of node.querySelectorAll('img')) {
        const src = img.getAttribute('src') || '';
        img.removeAttribute('src');
        const blob = dataURIBlob(src);
        if (blob) {
          const url = URL.createObjectURL(blob);
          state.blobs.set('face-' + state.blobs.size, url);
          img.src = url;
        }
      }
      state.faceHTML = html;
      $('face-dialog').dataset.id = id;
      $('face-view').replaceChildren(node);
      if (!$('face-dialog').open) $('face-dialog').showModal();
    } catch (e) {
      if (e.status !== 401) toast(t('face.failed', e.status ? errText(e) : e.message), 'error');
    }
  }

  // ---- the ledger history, with inclusion proofs checked here

  function sm3Bytes(bytes) {
    const hex = sm3(bytes);
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    return out;
  }

  function leafHash(entry) {
    const m = new Uint8Array(entry.length + 1);
    m.set(entry, 1);
    return sm3Bytes(m);
  }

  function nodeHash(l, r) {
    const m = new Uint8Array(65);
    m[0] = 1;
    m.set(l, 1);
    m.set(r, 33);
    return sm3Bytes(m);
  }

  function sameBytes(a, b) {
    return !!a && !!b && a.length === b.length && a.every((x, i) => x === b[i]);
  }

  // rootFromProof is RFC 9162 §2.1.3.2: the root an inclusion proof leads
  // to from leaf index of a tree of size leaves, or null.
  function rootFromProof(leaf, index, size, proof) {
    if (index >= size) return null;
    let fn = index;
    let sn = size - 1;
    let r = leaf;
    for (const p of proof) {
      if (sn === 0 || !p || p.length !== 32) return null;
      if (fn % 2 === 1 || fn === sn) {
        r = nodeHash(p, r);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = nodeHash(r, p);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 ? r : null;
  }

  // verifyEvent checks one event's proof in the page: the leaf is SM3 of
  // the entry, and the proof leads to the checkpoint's root.
  function verifyEvent(ev, cp) {
    if (ev.pending) return 'pending';
    const raw = base64Bytes(ev.raw);
    const root = base64Bytes(cp.root);
    if (!raw || !root) return 'failed';
    const leaf = leafHash(raw);
    if (!sameBytes(leaf, base64Bytes(ev.leaf_hash))) return 'failed';
    const got = rootFromProof(leaf, ev.index, cp.size, (ev.proof || []).map(base64Bytes));
    return sameBytes(got, root) && ev.verified ? 'verified' : 'failed';
  }

  function eventLabel(ev) {
    if (ev.kind === 'status') return t('ev.status.' + ((ev.event && ev.event.to) || 'valid'));
    return I18N['ev.' + ev.kind] ? t('ev.' + ev.kind) : ev.kind;
  }

  function eventNote(ev, id) {
    const e = ev.event || {};
    const parts = [];
    if (ev.kind === 'reissue') parts.push(e.supersedes === id ? t('ev.supersededBy', e.id) : t('ev.supersedes', e.supersedes));
    if (e.reason) parts.push(t('ev.reason', e.reason));
    return parts.join(' · ');
  }

  function eventSubject(ev) {
    const [, tag] = ev.subject.split('#');
    return tag ? t('ev.copy', tag) : shortID(ev.subject);
  }

  async function loadHistory(id) {
    show($('history-box'), true);
    alertBox($('history-error'), '');
    $('history-cp').textContent = t('history.loading');
    $('history-body').replaceChildren();
    $('history-box').scrollIntoView({ block: 'nearest' });
    try {
      state.history = await api('GET', licPath(id) + '/history');
      renderHistory();
      $('history-box').scrollIntoView({ block: 'start' });
    } catch (e) {
      $('history-cp').textContent = '';
      showError($('history-error'), e);
    }
  }

  function renderHistory() {
    const h = state.history;
    if (!h) return;
    const cp = h.checkpoint;
    $('history-cp').textContent = t('history.cp', cp.size, cp.root) + (h.truncated ? ' ' + t('history.truncated', h.from, h.to - 1) : '');
    let failed = false;
    $('history-body').replaceChildren(...h.events.map((ev) => {
      const v = verifyEvent(ev, cp);
      failed = failed || v === 'failed';
      const proof = v === 'verified' ? el('span', { class: 'proof-ok', title: t('history.verifiedTitle'), text: t('history.verified') })
        : v === 'pending' ? el('span', { class: 'muted', text: t('history.pending') }) : el('span', { class: 'proof-bad', text: t('history.failed') });
      return el('tr', { 'data-index': String(ev.index), 'data-kind': ev.kind, 'data-verified': v },
        el('td', {}, el('code', { text: String(ev.index) })),
        el('td', { class: 'nowrap', text: eventLabel(ev) }),
        el('td', { class: 'nowrap', text: fmtTime(ev.time) }),
        el('td', {}, el('code', { class: 'id', title: ev.subject, text: eventSubject(ev) })),
        el('td', { class: 'small' }, eventNote(ev, h.id), isAdmin() && ev.event && ev.event.operator
          ? el('div', {}, el('button', { type: 'button', class: 'btn btn-link btn-sm', 'data-open-index': String(ev.index), text: t('open.operator') })) : ''),
        el('td', { class: 'nowrap' }, proof));
    }));
    if (!h.events.length) $('history-body').append(el('tr', {}, el('td', { colSpan: 6, class: 'muted', text: t('history.none') })));
    alertBox($('history-error'), failed ? t('history.failedNote') : '');
  }

  // ---- seals (电子印章) ---------------------------------------------

  function canManageSeals() {
    const c = state.claims;
    return !!c && (c.role === 'admin' || (c.role === 'operator' && !(c.classes && c.classes.length)));
  }

  async function loadSeals() {
    alertBox($('seal-error'), '');
    try {
      const data = await api('GET', 'v1/seals');
      state.seals = data.seals || [];
      state.sealsLoaded = true;
      $('seal-truncated').textContent = data.truncated ? t('seal.truncated', data.from) : '';
      show($('seal-truncated'), !!data.truncated);
      renderSeals();
    } catch (e) {
      showError($('seal-error'), e);
    }
  }

  function sealRow(s) {
    const revoked = !!s.revoked_at;
    const badge = el('span', { class: 'status status-' + (revoked ? 'revoked' : 'valid'), 'data-state': revoked ? 'revoked' : 'valid',
      text: revoked ? t('seal.revoked') + (s.reason ? (lang === 'en' ? ' · ' : '（') + s.reason + (lang === 'en' ? '' : '）') : '') : t('seal.valid') });
    return el('tr', { 'data-esid': s.esid },
      el('td', {}, el('code', { class: 'id', title: s.esid, text: s.esid })),
      el('td', { text: agencyName(s.agency) || s.agency, title: s.agency }),
      el('td', {}, el('code', { text: s.holder_code || '—' })),
      el('td', { class: 'nowrap', text: fmtTime(s.made_at) }),
      el('td', {}, el('code', { text: String(s.ledger_index) })),
      el('td', { class: 'status-cell' }, badge),
      el('td', { class: 'row-actions' }, !revoked && canManageSeals()
        ? el('button', { type: 'button', class: 'btn btn-sm btn-danger', 'data-seal-action': 'revoke', 'data-esid': s.esid, text: t('seal.revoke') }) : ''));
  }

  function renderSeals() {
    $('seal-body').replaceChildren(...state.seals.map(sealRow));
    show($('seal-empty'), state.seals.length === 0);
    $('seal-empty').textContent = state.sealsLoaded ? t('seal.empty') : t('rp.loading');
    show($('seal-new'), canManageSeals());
  }

  function openSealForm() {
    const f = $('seal-form');
    f.reset();
    clearFormErrors(f, 'seal-form-error');
    show($('seal-agency-row'), isAdmin());
    renderAgencySelects();
    show($('seal-list-view'), false);
    show(f, true);
    $('seal-f-holder_name').focus();
  }

  function closeSealForm() {
    show($('seal-form'), false);
    show($('seal-list-view'), true);
  }

  function clearFormErrors(form, alertID) {
    alertBox($(alertID), '');
    for (const n of form.querySelectorAll('.field.invalid')) {
      n.classList.remove('invalid');
      const e = n.querySelector('.field-error');
      if (e) e.replaceChildren();
    }
  }

  function markFormField(form, key, msg, detail) {
    const box = form.querySelector(`.field[data-field="${CSS.escape(key)}"]`);
    if (!box) return false;
    box.classList.add('invalid');
    const err = box.querySelector('.field-error');
    err.replaceChildren(el('span', { class: 'field-error-text', text: msg }));
    if (detail) err.append(el('div', { class: 'field-error-detail', text: detail }));
    return true;
  }

  // derBase64 reads a pasted PEM block (of the given type) or base64 DER as
  // base64 DER, or '' when it is neither.
  function derBase64(text) {
    let b64 = text.trim();
    const m = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/.exec(b64);
    if (m) b64 = m[2];
    b64 = b64.replace(/\s+/g, '');
    const bytes = base64Bytes(b64);
    return bytes && bytes.length > 16 && bytes[0] === 0x30 ? b64 : '';
  }

  async function readCertFile(ev) {
    const file = ev.target.files && ev.target.files[0];
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    $('seal-f-cert').value = text.includes('-----BEGIN') ? text.trim() : btoa(String.fromCharCode(...bytes));
  }

  async function submitSeal(ev) {
    ev.preventDefault();
    const form = $('seal-form');
    clearFormErrors(form, 'seal-form-error');
    const v = (id) => $(id).value.trim();
    const body = { holder_name: v('seal-f-holder_name'), holder_code: v('seal-f-holder_code').toUpperCase(), type: Number($('seal-f-type').value) };
    const problems = [];
    if (isAdmin()) {
      body.agency = $('seal-f-agency').value;
      if (!body.agency) problems.push(['agency', t('rperr.required')]);
    }
    if (!body.holder_name) problems.push(['holder_name', t('rperr.required')]);
    if (!body.holder_code) problems.push(['holder_code', t('rperr.required')]);
    const years = v('seal-f-years');
    if (!/^\d{1,2}$/.test(years) || Number(years) < 1 || Number(years) > 10) problems.push(['years', t('seal.badYears')]);
    else body.years = Number(years);
    const cert = v('seal-f-cert');
    body.signer_cert = derBase64(cert);
    if (!cert) problems.push(['signer_cert', t('rperr.required')]);
    else if (!body.signer_cert) problems.push(['signer_cert', t('seal.badCert')]);
    if (problems.length) {
      for (const [k, m] of problems) markFormField(form, k, m);
      alertBox($('seal-form-error'), t('rp.fixFields'));
      return;
    }
    const btn = $('seal-submit');
    btn.disabled = true;
    btn.textContent = t('seal.submitting');
    try {
      const m = await api('POST', 'v1/seals', body);
      closeSealForm();
      state.sealDER = m.seal;
      $('seal-made-esid').textContent = m.esid;
      $('seal-made-name').textContent = m.name;
      $('seal-made-ledger').textContent = String(m.ledger_index);
      show($('seal-made'), true);
      toast(t('seal.toast', m.esid), 'ok');
      refreshCheckpointSoon();
      loadSeals();
    } catch (e) {
      if (e.status === 401) return;
      const text = e.status === 403 ? t('seal.forbidden') : e.field === 'signer_cert' ? t('seal.badCert') : e.field === 'years' ? t('seal.badYears') : errText(e);
      const marked = e.field && markFormField(form, e.field, text, t('err.server', e.message));
      alertBox($('seal-form-error'), marked ? t('rp.fixFields') : text, t('err.server', e.message));
    } finally {
      btn.disabled = false;
      btn.textContent = t('seal.submit');
    }
  }

  function onSealAction(ev) {
    const b = ev.target.closest('button[data-seal-action]');
    if (!b) return;
    const esid = b.dataset.esid;
    ask({
      title: t('seal.revokeTitle'), text: t('seal.revokeText'), id: esid, ok: t('seal.revokeOk'), reasons: ['遗失', '停用', '单位注销'],
      errText: (e) => (e.status === 403 ? t('seal.forbidden') : ''),
      run: async (reason) => {
        await api('POST', 'v1/seals/' + encodeURIComponent(esid) + '/revoke', { reason });
        toast(t('seal.revoked.toast', esid), 'ok');
        refreshCheckpointSoon();
        await loadSeals();
      },
    });
  }

  // ---- tokens (访问令牌) --------------------------------------------

  const TOKENS_KEY = 'elicense.console.tokens';

  function mintedTokens() {
    try {
      const v = JSON.parse(localStorage.getItem(TOKENS_KEY) || '[]');
      return Array.isArray(v) ? v : [];
    } catch (e) {
      return [];
    }
  }

  function keepTokens(list) { localStorage.setItem(TOKENS_KEY, JSON.stringify(list.slice(-200))); }

  function renderTokenForm() {
    const role = $('tok-f-role').value;
    show($('tok-agency-row'), role !== 'admin');
    show($('tok-classes-row'), role === 'operator');
    const ag = state.agencies.get($('tok-f-agency').value);
    const keep = new Set([...$('tok-classes').querySelectorAll('input:checked')].map((c) => c.value));
    $('tok-classes').replaceChildren(...(ag ? ag.classes : []).map((k) => el('label', { class: 'tok-class' },
      el('input', { type: 'checkbox', value: k, checked: keep.has(k) }), ' ', el('span', { text: classShort(k) }))));
  }

  function tokenState(m) {
    if (m.revoked) return 'revoked';
    return new Date(m.expires) < new Date() ? 'expired' : 'active';
  }

  function renderTokens() {
    const list = mintedTokens().reverse();
    $('tok-body').replaceChildren(...list.map((m) => {
      const st = tokenState(m);
      const cls = { active: 'valid', revoked: 'revoked', expired: 'superseded' }[st];
      return el('tr', { 'data-jti': m.id },
        el('td', {}, el('code', { class: 'id', title: m.id, text: m.id })),
        el('td', { text: m.subject }),
        el('td', { text: roleLabel(m.role) }),
        el('td', { text: m.agency ? agencyName(m.agency) || m.agency : t('who.allAgencies'), title: m.agency || '' }),
        el('td', { class: 'nowrap', text: fmtTime(m.expires) }),
        el('td', { class: 'status-cell' }, el('span', { class: 'status status-' + cls, 'data-state': st, text: t(st === 'active' ? 'tok.active' : st === 'revoked' ? 'tok.revokedState' : 'tok.expired') })),
        el('td', { class: 'row-actions' }, st === 'active'
          ? el('button', { type: 'button', class: 'btn btn-sm btn-danger', 'data-tok-action': 'revoke', 'data-jti': m.id, text: t('tok.revoke') }) : ''));
    }));
    show($('tok-empty'), list.length === 0);
  }

  function tokErrorText(e) {
    if (e.status === 403) return t('tok.adminOnly');
    return errText(e);
  }

  async function submitToken(ev) {
    ev.preventDefault();
    const form = $('tok-form');
    clearFormErrors(form, 'tok-form-error');
    show($('tok-made'), false);
    $('tok-made-token').value = '';
    const body = { subject: $('tok-f-subject').value.trim(), role: $('tok-f-role').value, ttl: $('tok-f-ttl').value };
    const problems = [];
    if (!body.subject) problems.push(['subject', t('tok.needSubject')]);
    if (body.role !== 'admin') {
      body.agency = $('tok-f-agency').value;
      if (!body.agency) problems.push(['agency', t('rperr.required')]);
    }
    const classes = [...$('tok-classes').querySelectorAll('input:checked')].map((c) => c.value);
    if (body.role === 'operator' && classes.length) body.classes = classes;
    if (problems.length) {
      for (const [k, m] of problems) markFormField(form, k, m);
      alertBox($('tok-form-error'), t('rp.fixFields'));
      return;
    }
    const btn = $('tok-submit');
    btn.disabled = true;
    try {
      const m = await api('POST', 'v1/tokens', body);
      $('tok-made-token').value = m.token;
      $('tok-made-id').textContent = m.id;
      $('tok-made-exp').textContent = fmtTime(m.expires);
      show($('tok-made'), true);
      const list = mintedTokens();
      list.push({ id: m.id, subject: m.subject, role: m.role, agency: m.agency || '', expires: m.expires, revoked: false });
      keepTokens(list);
      renderTokens();
      $('tok-f-subject').value = '';
      toast(t('tok.toast', m.id), 'ok');
    } catch (e) {
      if (e.status === 401) return;
      const text = tokErrorText(e);
      const marked = e.field && markFormField(form, e.field, text, t('err.server', e.message));
      alertBox($('tok-form-error'), marked ? t('rp.fixFields') : text, t('err.server', e.message));
    } finally {
      btn.disabled = false;
    }
  }

  function askRevokeToken(jti) {
    ask({
      title: t('tok.revokeTitle'), text: t('tok.revokeText'), id: jti, ok: t('tok.revokeOk'), errText: tokErrorText,
      run: async () => {
        await api('DELETE', 'v1/tokens/' + encodeURIComponent(jti));
        const list = mintedTokens();
        for (const m of list) if (m.id === jti) m.revoked = true;
        keepTokens(list);
        renderTokens();
        $('tok-revoke-id').value = '';
        toast(t('tok.revoked', jti), 'ok');
      },
    });
  }

  function submitRevokeByID(ev) {
    ev.preventDefault();
    const form = $('tok-revoke-form');
    clearFormErrors(form, 'tok-form-error');
    const jti = $('tok-revoke-id').value.trim();
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(jti)) {
      markFormField(form, 'jti', t('tok.badJTI'));
      return;
    }
    askRevokeToken(jti);
  }

  // ---- CSV import (批量导入) ----------------------------------------

  const IMPORT_BATCH = 100;

  // parseCSV reads RFC 4180 CSV into records, each with the line it starts
  // on (as encoding/csv counts, so reports name the lines the CLI names);
  // blank lines are skipped.
  function parseCSV(text) {
    const out = [];
    let rec = [];
    let field = '';
    let quoted = false;
    let line = 1;
    let start = 1;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false;
        else { if (c === '\n') line++; field += c; }
        continue;
      }
      if (c === '"' && field === '') quoted = true;
      else if (c === ',') { rec.push(field); field = ''; }
      else if (c === '\n' || c === '\r') {
        if (c === '\r' && text[i + 1] === '\n') i++;
        rec.push(field);
        if (rec.length > 1 || rec[0] !== '') out.push({ line: start, fields: rec });
        rec = []; field = ''; line++; start = line;
      } else field += c;
    }
    if (quoted) throw new Error(t('imp.badQuote', start));
    if (field !== '' || rec.length) { rec.push(field); out.push({ line: start, fields: rec }); }
    return out;
  }

  // importColumns maps the header onto field keys, '@number' and
  // '@issued_on', as issuer/csvimport does.
  function importColumns(cl, header) {
    return header.map((h, i) => {
      h = h.replace(/^\ufeff/, '').trim();
      if (h === 'number' || h === '证照编号') return '@number';
      if (h === 'issued_on' || h === '颁证日期') return '@issued_on';
      const f = (cl.fields || []).find((x) => x.key === h || x.label === h);
      if (!f) throw new Error(t('imp.badColumn', i + 1, h, cl.name_zh));
      return f.key;
    });
  }

  // goJSON encodes as Go's encoding/json does (sorted keys, <>& and
  // U+2028/9 escaped), so a row's idempotency key is the CLI's.
  function goJSON(v) {
    if (v === null || v === undefined) return 'null';
    if (Array.isArray(v)) return '[' + v.map(goJSON).join(',') + ']';
    if (typeof v === 'object') return '{' + Object.keys(v).sort().map((k) => goJSON(k) + ':' + goJSON(v[k])).join(',') + '}';
    const esc = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };
    return '"' + String(v).replace(/["\\\u0000-\u001f<>&\u2028\u2029]/g, (c) => esc[c] || '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) + '"';
  }

  // importKey is issuer/csvimport.Key: the first 16 bytes of SM3 of the
  // class and the row, hex.
  function importKey(cls, req) {
    return sm3(new TextEncoder().encode(goJSON([cls, req.fields, req.number || '', req.issued_on || '']))).slice(0, 32);
  }

  function fieldLabelOf(cl, key) {
    if (!key) return t('imp.wholeRow');
    const f = (cl.fields || []).find((x) => x.key === key);
    return f ? `${f.label}（${key}）` : key;
  }

  // importRows turns records into issue requests and the rows refused
  // before sending (wrong column count, a required field empty).
  function importRows(cl, records, cols) {
    const reqs = [];
    const rejects = [];
    for (const r of records) {
      if (r.fields.length !== cols.length) {
        rejects.push({ line: r.line, field: '', reason: t('imp.fieldCount', r.fields.length, cols.length) });
        continue;
      }
      const req = { class: cl.key, fields: {} };
      r.fields.forEach((raw, i) => {
        const v = raw.trim();
        if (cols[i] === '@number') req.number = v;
        else if (cols[i] === '@issued_on') req.issued_on = v;
        else if (v !== '') req.fields[cols[i]] = v;
      });
      const missing = (cl.fields || []).filter((f) => f.required && !req.fields[f.key]);
      if (missing.length) {
        for (const f of missing) rejects.push({ line: r.line, field: f.key, reason: t('imp.required') });
        continue;
      }
      req.import_key = importKey(cl.key, req);
      if (!req.number) delete req.number;
      if (!req.issued_on) delete req.issued_on;
      reqs.push({ line: r.line, req });
    }
    return { reqs, rejects };
  }

  async function sendBatch(batch, agency) {
    const body = { licences: batch.map((r) => (agency ? Object.assign({ agency }, r.req) : r.req)) };
    for (let attempt = 0; ; attempt++) {
      try {
        return await api('POST', 'v1/licences', body);
      } catch (e) {
        // A restarting server or a dropped connection: the keys make a
        // retry safe.
        if (attempt >= 4 || (e.status !== 0 && e.status !== 503)) throw e;
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }

  function importProgress(done) {
    const im = state.imp;
    $('imp-progress').max = Math.max(im.rows, 1);
    $('imp-progress').value = done;
    $('imp-progress-text').textContent = t('imp.progress', done, im.rows, im.issued, im.existing, im.rejected);
  }

  function rejectReason(err) {
    const lead = { invalid: 'imp.rej.invalid', forbidden: 'imp.rej.forbidden', conflict: 'imp.rej.conflict' }[err.code] || 'imp.rej.other';
    return t(lead) + err.message;
  }

  async function runImport(ev) {
    ev.preventDefault();
    const form = $('imp-form');
    clearFormErrors(form, 'imp-error');
    const cl = state.classByKey.get($('imp-class').value);
    const file = $('imp-file').files && $('imp-file').files[0];
    const agency = isAdmin() ? $('imp-agency').value : '';
    const problems = [];
    if (isAdmin() && !agency) problems.push(['agency', t('rperr.required')]);
    if (!cl) problems.push(['class', t('imp.needClass')]);
    if (!file) problems.push(['file', t('imp.needFile')]);
    if (problems.length) {
      for (const [k, m] of problems) markFormField(form, k, m);
      return;
    }
    let records, cols;
    try {
      records = parseCSV(await file.text());
      if (records.length < 2) throw new Error(t('imp.empty'));
      cols = importColumns(cl, records[0].fields);
    } catch (e) {
      markFormField(form, 'file', e.message);
      return;
    }
    const { reqs, rejects } = importRows(cl, records.slice(1), cols);
    state.imp = { cls: cl.key, rows: records.length - 1, issued: 0, existing: 0, rejected: 0, rejects, results: [], done: false };
    const im = state.imp;
    const rejectedLines = new Set(rejects.map((r) => r.line));
    im.rejected = rejectedLines.size;
    show($('imp-summary'), false);
    show($('imp-progress-box'), true);
    renderRejects();
    const btn = $('imp-submit');
    btn.disabled = true;
    btn.textContent = t('imp.running');
    let done = im.rejected;
    importProgress(done);
    try {
      for (let i = 0; i < reqs.length; i += IMPORT_BATCH) {
        const batch = reqs.slice(i, i + IMPORT_BATCH);
        const out = await sendBatch(batch, agency);
        for (const r of out.results || []) {
          const row = batch[r.index];
          if (!row) continue;
          if (r.error) {
            im.rejects.push({ line: row.line, field: r.error.field || '', reason: rejectReason(r.error) });
            im.rejected++;
          } else if (r.licence) {
            if (r.licence.existing) im.existing++;
            else im.issued++;
            im.results.push({ line: row.line, id: r.licence.id, claim: r.licence.claim_code || '', expires: r.licence.claim_code_expires || '', existing: !!r.licence.existing });
          }
        }
        done += batch.length;
        importProgress(done);
        renderRejects();
      }
      im.done = true;
    } catch (e) {
      if (e.status !== 401) alertBox($('imp-error'), t('imp.stopped', errText(e)), t('err.server', e.message));
    } finally {
      btn.disabled = false;
      btn.textContent = t('imp.submit');
      refreshCheckpointSoon();
    }
    renderImportSummary();
  }

  function renderImportSummary() {
    const im = state.imp;
    if (!im) return;
    $('imp-rows').textContent = String(im.rows);
    $('imp-issued').textContent = String(im.issued);
    $('imp-existing').textContent = String(im.existing);
    $('imp-rejected').textContent = String(im.rejected);
    $('imp-summary-title').textContent = t(im.rejected ? 'imp.doneWithRejects' : 'imp.done');
    show($('imp-report-dl'), im.rejects.length > 0);
    show($('imp-results-dl'), im.results.length > 0);
    show($('imp-summary'), im.done);
  }

  function renderRejects() {
    const im = state.imp;
    const cl = im && state.classByKey.get(im.cls);
    const rows = im ? [...im.rejects].sort((a, b) => a.line - b.line) : [];
    $('imp-rejects-body').replaceChildren(...rows.map((r) => el('tr', { 'data-line': String(r.line), 'data-field': r.field },
      el('td', {}, el('code', { text: String(r.line) })),
      el('td', { text: cl ? fieldLabelOf(cl, r.field) : r.field }),
      el('td', { class: 'small', text: r.reason }))));
    show($('imp-rejects-box'), rows.length > 0);
  }

  function csvCell(v) {
    const s = String(v);
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function csvText(rows) { return '\ufeff' + rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n'; }

  function downloadReport() {
    const im = state.imp;
    const rows = [...im.rejects].sort((a, b) => a.line - b.line).map((r) => [r.line, r.field, r.reason]);
    saveText(csvText([['line', 'field', 'reason'], ...rows]), im.cls + '.rejected.csv');
  }

  function downloadResults() {
    const im = state.imp;
    const rows = [...im.results].sort((a, b) => a.line - b.line).map((r) => [r.line, r.id, r.claim, r.expires, r.existing ? t('imp.yes') : t('imp.no')]);
    saveText(csvText([['line', 'id', 'claim_code', 'claim_code_expires', 'existing'], ...rows]), im.cls + '.issued.csv');
  }

  function downloadTemplate() {
    const cl = state.classByKey.get($('imp-class').value);
    if (!cl) return;
    saveText(csvText([[...(cl.fields || []).map((f) => f.label), '证照编号', '颁证日期']]), cl.key + '.template.csv');
  }

  async function fileInfo() {
    const file = $('imp-file').files && $('imp-file').files[0];
    $('imp-file-info').textContent = '';
    clearFormErrors($('imp-form'), 'imp-error');
    if (!file) return;
    try {
      const n = parseCSV(await file.text()).length - 1;
      $('imp-file-info').textContent = t('imp.fileInfo', file.name, Math.max(n, 0));
    } catch (e) {
      markFormField($('imp-form'), 'file', e.message);
    }
  }

  function renderImportClasses() {
    fillClassSelect($('imp-class'), allowedClasses(), 'issue.chooseClass');
    $('imp-template').disabled = !$('imp-class').value;
    show($('imp-agency-row'), isAdmin());
  }


  // ---- administration (管理): archives, keys, openings ----------------

  async function exportArchive(ev) {
    ev.preventDefault();
    const form = $('arc-form');
    clearFormErrors(form, 'arc-error');
    const body = { agency: $('arc-agency').value, from: $('arc-from').value, to: $('arc-to').value };
    const problems = [];
    for (const k of ['agency', 'from', 'to']) if (!body[k]) problems.push([k, t('rperr.required')]);
    if (body.from && body.to && body.to <= body.from) problems.push(['to', t('arc.order')]);
    if (problems.length) {
      for (const [k, m] of problems) markFormField(form, k, m);
      return;
    }
    const btn = $('arc-submit');
    btn.disabled = true;
    btn.textContent = t('arc.running');
    // Only a period that has ended can be archived: one that ends later
    // than now is exported up to this moment.
    const name = `${body.agency}-${body.from.replace(/-/g, '')}-${body.to.replace(/-/g, '')}.zip`;
    if (new Date(body.to + 'T00:00:00+08:00').getTime() > Date.now()) body.to = new Date().toISOString();
    try {
      const resp = await api('POST', 'v1/archives', body, { raw: true });
      saveBlob(await resp.blob(), name);
      toast(t('dl.done', name), 'ok');
      refreshCheckpointSoon();
    } catch (e) {
      const marked = e.field && markFormField(form, e.field, errText(e), t('err.server', e.message));
      if (!marked) showError($('arc-error'), e);
    } finally {
      btn.disabled = false;
      btn.textContent = t('arc.submit');
    }
  }

  function rotateKey(ev) {
    ev.preventDefault();
    const form = $('key-form');
    clearFormErrors(form, 'key-error');
    const agency = $('key-agency').value;
    if (!agency) { markFormField(form, 'agency', t('rperr.required')); return; }
    const since = $('key-since').value;
    const body = since ? { compromised_since: new Date(since).toISOString().replace(/\.\d+Z$/, 'Z') } : {};
    ask({
      title: t('key.confirmTitle'), text: t('key.confirmText'), id: agencyLabel(agency), ok: t('key.confirmOk'),
      run: async () => {
        const ch = await api('POST', 'v1/agencies/' + encodeURIComponent(agency) + '/keys/rotate', body);
        $('key-done-agency').textContent = agencyLabel(ch.agency);
        $('key-done-new').textContent = ch.new_key ? ch.new_key.kid : '—';
        $('key-done-old').textContent = ch.old_key.kid;
        $('key-done-state').textContent = I18N['key.state.' + ch.old_key.state] ? t('key.state.' + ch.old_key.state) : ch.old_key.state;
        $('key-done-ledger').textContent = String(ch.ledger_index);
        show($('key-done'), true);
        toast(t('key.done', agencyLabel(ch.agency)), 'ok');
        refreshCheckpointSoon();
      },
    });
  }

  function declareCompromise(ev) {
    ev.preventDefault();
    const form = $('kc-form');
    clearFormErrors(form, 'kc-error');
    clearFormErrors($('key-form'), 'key-error');
    const agency = $('key-agency').value;
    const kid = $('kc-kid').value.trim();
    const since = $('kc-since').value;
    if (!agency) markFormField($('key-form'), 'agency', t('rperr.required'));
    if (!kid) markFormField(form, 'kid', t('rperr.required'));
    if (!since) markFormField(form, 'since', t('rperr.required'));
    if (!agency || !kid || !since) return;
    ask({
      title: t('kc.title'), text: t('kc.text'), id: `${agencyLabel(agency)} · ${kid}`, ok: t('kc.ok'),
      run: async () => {
        const ch = await api('POST', 'v1/agencies/' + encodeURIComponent(agency) + '/keys/' + encodeURIComponent(kid) + '/compromise',
          { since: new Date(since).toISOString().replace(/\.\d+Z$/, 'Z') });
        toast(t('kc.done', ch.old_key.kid, ch.ledger_index), 'ok');
        $('kc-form').dataset.ledger = String(ch.ledger_index);
        refreshCheckpointSoon();
      },
    });
  }

  function hexBytes(hex) {
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    return out;
  }

  // openOperator opens an event's operator commitment (admins) and checks
  // the opening in the page: SM3(salt ‖ value) is the entry's commitment.
  async function openOperator(btn) {
    const index = Number(btn.dataset.openIndex);
    const ev = state.history && state.history.events.find((e) => e.index === index);
    btn.disabled = true;
    try {
      const o = await api('POST', 'v1/ledger/entries/' + index + '/open', { field: 'operator' });
      const value = new TextEncoder().encode(o.value);
      const m = new Uint8Array(o.salt.length / 2 + value.length);
      m.set(hexBytes(o.salt));
      m.set(value, o.salt.length / 2);
      const ok = !!ev && ev.event && sm3(m) === ev.event.operator;
      btn.replaceWith(el('span', { class: ok ? 'proof-ok opened' : 'proof-bad opened', 'data-opened': o.value, text: ok ? t('open.done', o.value) : t('open.bad') }));
    } catch (e) {
      btn.disabled = false;
      showError($('history-error'), e);
    }
  }

  // ---- wiring of the operations ---------------------------------------

  function resetOps() {
    resetDetailPanels();
    state.detailLic = null;
    state.seals = [];
    state.sealsLoaded = false;
    state.sealDER = null;
    state.imp = null;
    state.agencies = new Map();
    state.faceHTML = '';
    $('face-view').replaceChildren();
    $('tok-made-token').value = ''; // a token is shown once, never kept
    show($('tok-made'), false);
    show($('seal-made'), false);
    show($('key-done'), false);
    $('arc-form').reset();
    $('key-form').reset();
    $('kc-form').reset();
    closeSealForm();
    $('seal-body').replaceChildren();
    $('imp-form').reset();
    for (const id of ['imp-progress-box', 'imp-summary', 'imp-rejects-box']) show($(id), false);
  }

  function applyLangOps() {
    renderAgencySelects();
    if (state.classes.length) renderImportClasses();
    renderSeals();
    renderTokens();
    renderTokenForm();
    renderRejects();
    renderImportSummary();
    if (state.imp && !$('imp-progress-box').hidden) importProgress(Number($('imp-progress').value));
    if (state.detailLic && $('detail-dialog').open) renderDetail(state.detailLic);
    renderHistory();
  }

  function initOps() {
    $('tab-import').addEventListener('click', () => { switchTab('import'); renderImportClasses(); });
    $('tab-seals').addEventListener('click', () => { switchTab('seals'); loadSeals(); });
    $('tab-tokens').addEventListener('click', () => { switchTab('tokens'); renderAgencySelects(); renderTokenForm(); renderTokens(); });
    $('detail-dialog').addEventListener('close', () => { resetDetailPanels(); state.detailLic = null; });
    $('copies-body').addEventListener('click', onAction);
    $('claim-copy').addEventListener('click', () => copyText($('claim-code').textContent, $('claim-code')));
    $('reissue-form').addEventListener('submit', submitReissue);
    $('reissue-cancel').addEventListener('click', () => show($('reissue-form'), false));
    $('face-close').addEventListener('click', () => $('face-dialog').close());
    $('face-download').addEventListener('click', () => saveText(state.faceHTML, ($('face-dialog').dataset.id || 'licence') + '.html', 'text/html;charset=utf-8'));
    $('ask-form').addEventListener('submit', submitAsk);
    $('ask-cancel').addEventListener('click', () => { state.ask = null; $('ask-dialog').close(); });
    $('seal-refresh').addEventListener('click', loadSeals);
    $('seal-new').addEventListener('click', openSealForm);
    $('seal-cancel').addEventListener('click', closeSealForm);
    $('seal-form').addEventListener('submit', submitSeal);
    $('seal-f-certfile').addEventListener('change', readCertFile);
    $('seal-body').addEventListener('click', onSealAction);
    $('seal-made-close').addEventListener('click', () => show($('seal-made'), false));
    $('seal-made-dl').addEventListener('click', () => {
      const der = base64Bytes(state.sealDER || '');
      if (der) saveBlob(new Blob([der], { type: 'application/octet-stream' }), $('seal-made-esid').textContent + '.seal');
    });
    $('tok-form').addEventListener('submit', submitToken);
    $('tok-f-role').addEventListener('change', renderTokenForm);
    $('tok-f-agency').addEventListener('change', renderTokenForm);
    $('tok-copy').addEventListener('click', () => copyText($('tok-made-token').value, $('tok-made-token')));
    $('tok-made-close').addEventListener('click', () => { $('tok-made-token').value = ''; show($('tok-made'), false); });
    $('tok-body').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-tok-action]');
      if (b) askRevokeToken(b.dataset.jti);
    });
    $('tok-revoke-form').addEventListener('submit', submitRevokeByID);
    $('imp-form').addEventListener('submit', runImport);
    $('tab-admin').addEventListener('click', () => { switchTab('admin'); renderAgencySelects(); });
    $('arc-form').addEventListener('submit', exportArchive);
    $('key-form').addEventListener('submit', rotateKey);
    $('kc-form').addEventListener('submit', declareCompromise);
    $('history-body').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-open-index]');
      if (b) openOperator(b);
    });
    $('imp-file').addEventListener('change', fileInfo);
    $('imp-class').addEventListener('change', () => { $('imp-template').disabled = !$('imp-class').value; });
    $('imp-template').addEventListener('click', downloadTemplate);
    $('imp-report-dl').addEventListener('click', downloadReport);
    $('imp-results-dl').addEventListener('click', downloadResults);
    for (const f of [$('seal-form'), $('tok-form'), $('imp-form'), $('arc-form'), $('key-form'), $('kc-form')]) {
      f.addEventListener('input', (ev) => {
        const box = ev.target.closest('.field.invalid');
        if (box) { box.classList.remove('invalid'); box.querySelector('.field-error').replaceChildren(); }
      });
    }
  }

  // ---- tabs, language, wiring --------------------------------------

  function switchTab(name) {
    for (const [tab, panel] of [['tab-issue', 'panel-issue'], ['tab-search', 'panel-search'], ['tab-import', 'panel-import'],
      ['tab-seals', 'panel-seals'], ['tab-tokens', 'panel-tokens'], ['tab-parties', 'panel-parties'], ['tab-admin', 'panel-admin']]) {
      const on = tab === 'tab-' + name;
      $(tab).classList.toggle('active', on);
      $(tab).setAttribute('aria-selected', on ? 'true' : 'false');
      show($(panel), on);
    }
  }

  function applyLang() {
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
    document.title = t('app.title');
    for (const n of document.querySelectorAll('[data-i18n]')) n.textContent = t(n.dataset.i18n);
    for (const n of document.querySelectorAll('[data-i18n-placeholder]')) n.placeholder = t(n.dataset.i18nPlaceholder);
    $('lang-btn').textContent = lang === 'en' ? '中文' : 'English';
    renderWho();
    previewToken();
    if (state.classes.length) {
      renderClassSelects();
      renderIssueFields(collectValues());
    }
    renderResults();
    if (state.confirm && $('confirm-dialog').open) openConfirmRefresh();
    renderParties();
    for (const sel of document.querySelectorAll('#rp-matters .mc-class')) rpClassOptions(sel, sel.value);
    if (state.rpDetail && $('rp-dialog').open) openParty(state.rpDetail);
    applyLangOps();
    const rc = state.rpConfirm;
    if (rc && $('rp-confirm-dialog').open) {
      $('rp-confirm-title').textContent = t(`rp.confirm.${rc.action}.title`);
      $('rp-confirm-text').textContent = t(`rp.confirm.${rc.action}.text`);
      $('rp-confirm-ok').textContent = t(`rp.confirm.${rc.action}.ok`);
    }
  }

  function openConfirmRefresh() {
    const c = state.confirm;
    const keep = $('confirm-reason').value;
    $('confirm-dialog').close();
    openConfirm(c.action, c.id);
    $('confirm-reason').value = keep;
  }

  function onAction(ev) {
    const b = ev.target.closest('button[data-action]');
    if (!b) return;
    const { action, id } = b.dataset;
    if (action === 'open') openDetail(id);
    else if (action === 'close-detail') $('detail-dialog').close();
    else if (['suspend', 'reinstate', 'revoke'].includes(action)) openConfirm(action, id);
    else onOperation(action, id);
  }

  function init() {
    $('lang-btn').addEventListener('click', () => {
      lang = lang === 'en' ? 'zh' : 'en';
      localStorage.setItem(LANG_KEY, lang);
      applyLang();
    });
    $('login-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      login(cleanToken($('token-input').value), false);
    });
    $('token-input').addEventListener('input', previewToken);
    $('logout-btn').addEventListener('click', logout);
    $('tab-issue').addEventListener('click', () => switchTab('issue'));
    $('tab-search').addEventListener('click', () => switchTab('search'));
    $('tab-parties').addEventListener('click', () => { switchTab('parties'); loadParties(); });
    $('rp-refresh').addEventListener('click', loadParties);
    $('rp-new').addEventListener('click', () => openPartyForm(null));
    $('rp-body').addEventListener('click', onPartyAction);
    $('rp-actions').addEventListener('click', onPartyAction);
    $('rp-dialog-close').addEventListener('click', () => $('rp-dialog').close());
    $('rp-dialog').addEventListener('close', () => { state.rpDetail = null; });
    $('rp-form').addEventListener('submit', submitParty);
    $('rp-cancel').addEventListener('click', closePartyForm);
    $('rp-add-matter').addEventListener('click', () => { $('rp-matters').append(matterBlock(null)); clearRPField('matters'); });
    $('rp-matters').addEventListener('click', onMatterClick);
    $('rp-f-keyfile').addEventListener('change', readKeyFile);
    $('rp-form').addEventListener('input', (ev) => {
      const box = ev.target.closest('.field.invalid');
      if (box) clearRPField(box.dataset.field);
    });
    $('rp-confirm-form').addEventListener('submit', submitPartyConfirm);
    $('rp-confirm-cancel').addEventListener('click', () => { state.rpConfirm = null; $('rp-confirm-dialog').close(); });
    $('class-select').addEventListener('change', () => {
      clearIssueErrors();
      renderIssueFields();
    });
    $('issue-form').addEventListener('submit', submitIssue);
    $('issue-form').addEventListener('input', (ev) => {
      const box = ev.target.closest('.field.invalid');
      if (box) {
        box.classList.remove('invalid');
        ev.target.removeAttribute('aria-invalid');
        box.querySelector('.field-error').textContent = '';
      }
    });
    $('issue-reset').addEventListener('click', () => {
      const keep = $('class-select').value;
      $('issue-form').reset();
      $('class-select').value = keep;
      clearIssueErrors();
      renderIssueFields();
    });
    $('result-close').addEventListener('click', () => show($('issue-result'), false));
    $('result-copy').addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText($('result-id').textContent);
        toast(t('common.copied'), 'ok');
      } catch (e) {
        const r = document.createRange();
        r.selectNodeContents($('result-id'));
        const s = getSelection();
        s.removeAllRanges();
        s.addRange(r);
      }
    });
    $('result-open').addEventListener('click', () => {
      const { id, holder } = $('issue-result').dataset;
      switchTab('search');
      $('search-holder').value = holder || '';
      $('search-class').value = '';
      $('search-status').value = '';
      search(false).then(() => openDetail(id));
    });
    $('search-form').addEventListener('submit', (ev) => { ev.preventDefault(); search(false); });
    $('search-more').addEventListener('click', () => search(true));
    $('results-body').addEventListener('click', onAction);
    $('detail-actions').addEventListener('click', onAction);
    $('detail-close').addEventListener('click', () => $('detail-dialog').close());
    $('detail-dialog').addEventListener('close', () => { state.detailID = null; });
    $('confirm-form').addEventListener('submit', submitConfirm);
    $('confirm-cancel').addEventListener('click', () => { state.confirm = null; $('confirm-dialog').close(); });
    $('confirm-reason').addEventListener('change', () => alertBox($('confirm-error'), ''));
    $('cp-refresh').addEventListener('click', refreshCheckpoint);
    initOps();
    document.addEventListener('visibilitychange', () => { if (!document.hidden && state.active) refreshCheckpoint(); });

    applyLang();
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) {
      login(saved, true).then(() => { if (!state.active) show($('login-view'), true); });
    } else {
      show($('login-view'), true);
      $('token-input').focus();
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
