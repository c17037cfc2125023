// The desk's web page: one script, no framework, talking to the desk's JSON API with
// the login cookie. Every text that comes from the API (crawled titles, snippets,
// sources, notes) is put into the page as text, never as markup; the one exception, a
// search snippet's <mark>, is rebuilt from the snippet's text by `marked`.
'use strict';

const view = document.getElementById('view');
const state = { me: null, poll: null, seenAlerts: null };

const RISK_ZH = { high: '高', medium: '中', low: '低' };
const STATE_ZH = { raised: '待处理', acknowledged: '处理中', closed: '已办结' };
const SENTIMENT_ZH = { negative: '负面', neutral: '中性', positive: '正面' };
const SOURCE_TYPE_ZH = { official: '官方媒体', commercial: '商业媒体', self_media: '自媒体', social: '社交平台' };
const EVENT_ZH = {
  raised: '预警', delivered: '已送达', 'delivery failed': '送达失败', acknowledged: '签收',
  closed: '处置', escalated: '升级', assigned: '指派',
};

/// Makes an element: `el('a', {href: '#/x', class: 'on'}, '文字', child…)`. Strings
/// become text nodes, so nothing given here is ever parsed as markup.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/// A snippet the server escaped, with its matches in <mark>: rebuilt from its text so
/// that only <mark> survives whatever the snippet holds.
function marked(snippet) {
  const parsed = new DOMParser().parseFromString(`<body>${snippet || ''}</body>`, 'text/html');
  const out = document.createDocumentFragment();
  for (const node of parsed.body.childNodes) {
    if (node.nodeName === 'MARK') out.append(el('mark', {}, node.textContent));
    else out.append(document.createTextNode(node.textContent));
  }
  return out;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const options = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 401 && path !== '/api/login') {
    showLogin('登录已过期，请重新登录。');
    throw new ApiError(401, '未登录');
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = new ApiError(response.status, (data && data.message) || `请求失败（${response.status}）`);
    if (data && typeof data.position === 'number') error.position = data.position;
    throw error;
  }
  return data;
}

function time(value) {
  if (!value) return '';
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) return value;
  return at.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
}

function setPage(page) {
  for (const link of document.querySelectorAll('nav a')) {
    link.classList.toggle('on', link.dataset.page === page);
  }
}

// ---- login ----

function showLogin(message) {
  stopPolling();
  state.me = null;
  document.getElementById('nav').hidden = true;
  document.getElementById('who').replaceChildren();
  const error = el('p', { class: 'error', role: 'alert' }, message || '');
  const name = el('input', { type: 'text', id: 'login-name', autocomplete: 'username', required: true });
  const password = el('input', { type: 'password', id: 'login-password', autocomplete: 'current-password', required: true });
  const form = el('form', { class: 'card login', onsubmit: async (event) => {
    event.preventDefault();
    error.textContent = '';
    try {
      await api('POST', '/api/login', { name: name.value, password: password.value });
      await start();
    } catch (e) {
      error.textContent = e.status === 401 ? '用户名或密码错误。' : e.message;
    }
  } },
  el('h2', {}, '登录'),
  el('label', { for: 'login-name' }, '用户名'), name,
  el('label', { for: 'login-password' }, '密码'), password,
  error,
  el('button', { type: 'submit' }, '登录'));
  view.replaceChildren(form);
  name.focus();
}

async function logout() {
  try { await api('POST', '/api/logout'); } catch (_) { /* the login page follows either way */ }
  location.hash = '#/duty';
  showLogin('已退出登录。');
}

// ---- 值班台: the alert queue ----

function stopPolling() {
  if (state.poll) clearInterval(state.poll);
  state.poll = null;
}

function riskTag(level) {
  if (!level) return null;
  return el('span', { class: `tag risk-${level}` }, `${RISK_ZH[level] || level}风险`);
}

function caseCard(c, open) {
  const actions = el('div', { class: 'row' });
  if (c.state === 'raised') {
    actions.append(el('button', { class: 'ack', onclick: async (event) => {
      event.target.disabled = true;
      try { await api('POST', `/api/alerts/${encodeURIComponent(c.alert_id)}/ack`); } catch (e) { alert(e.message); }
      await refreshDuty();
    } }, '签收'));
  }
  if (c.state !== 'closed') {
    const note = el('input', { type: 'text', class: 'grow note', placeholder: '处置说明（误报请写明原因）', 'aria-label': '处置说明' });
    const problem = el('span', { class: 'error', role: 'alert' });
    const close = (falseAlarm) => async () => {
      if (falseAlarm && !note.value.trim()) {
        problem.textContent = '误报须写明原因。';
        return;
      }
      try {
        await api('POST', `/api/alerts/${encodeURIComponent(c.alert_id)}/close`, { note: note.value, false_alarm: falseAlarm });
      } catch (e) { problem.textContent = e.message; return; }
      await refreshDuty();
    };
    const assignee = el('input', { type: 'text', class: 'assignee', placeholder: '指派给（用户名）', 'aria-label': '指派给' });
    const assign = async () => {
      if (!assignee.value.trim()) { problem.textContent = '请填写要指派的用户名。'; return; }
      try {
        await api('POST', `/api/alerts/${encodeURIComponent(c.alert_id)}/assign`, { to: assignee.value.trim() });
      } catch (e) {
        problem.textContent = e.status === 400 ? `没有名为“${assignee.value.trim()}”的可用账号。` : e.message;
        return;
      }
      await refreshDuty();
    };
    actions.append(assignee, el('button', { class: 'plain assign', onclick: assign }, '指派'), note,
      el('button', { class: 'plain', onclick: close(false) }, '办结'),
      el('button', { class: 'plain false-alarm', onclick: close(true) }, '误报'),
      problem);
  }
  const details = el('details', { open: open || false },
    el('summary', { class: 'muted' }, '台账'),
    el('ol', { class: 'events' }, (c.events || []).map((e) =>
      el('li', {}, `${time(e.at)} ${EVENT_ZH[e.event] || e.event}${e.detail ? '：' + e.detail : ''}`))));
  return el('article', { class: 'card alert', 'data-alert': c.alert_id },
    el('div', { class: 'row' },
      riskTag(c.severity),
      el('span', { class: `state-${c.state}` },
        c.outcome === 'false_alarm' ? '误报' : (STATE_ZH[c.state] || c.state)),
      el('span', { class: 'muted' }, `${c.rule} · ${time(c.raised_at)}`)),
    el('h3', {}, c.doc_id
      ? el('a', { href: `#/doc/${encodeURIComponent(c.doc_id)}` }, c.title)
      : c.title),
    el('div', { class: 'muted' },
      [c.source, (c.districts || []).join('、'), (c.schools || []).join('、'), (c.topics || []).join('、'),
        c.cluster_size > 1 ? `已有 ${c.cluster_size} 篇相同报道` : null].filter(Boolean).join(' · ')),
    c.acknowledged_by ? el('div', { class: 'muted' }, `签收：${c.acknowledged_by} ${time(c.acknowledged_at)}`) : null,
    c.assignee ? el('div', { class: 'muted assigned' }, `承办：${c.assignee}`) : null,
    c.closed_by ? el('div', { class: 'muted' }, `处置：${c.closed_by} ${time(c.closed_at)}`) : null,
    c.note ? el('div', { class: 'muted' }, `处置说明：${c.note}`) : null,
    actions, details);
}

const SEVERITY_ORDER = { high: 0, medium: 1, low: 2 };

async function refreshDuty() {
  const list = document.getElementById('queue');
  if (!list) return;
  let cases;
  try { cases = await api('GET', '/api/alerts?limit=200'); } catch (e) {
    if (e.status !== 401) list.replaceChildren(el('p', { class: 'error' }, e.message));
    return;
  }
  // Open ones first, gravest first, then newest.
  cases.sort((a, b) => (a.state === 'closed') - (b.state === 'closed')
    || (SEVERITY_ORDER[a.severity] ?? 3) - (SEVERITY_ORDER[b.severity] ?? 3)
    || String(b.raised_at).localeCompare(String(a.raised_at)));
  const open = new Set([...list.querySelectorAll('details[open]')].map((d) => d.closest('[data-alert]').dataset.alert));
  list.replaceChildren(...(cases.length ? cases.map((c) => caseCard(c, open.has(c.alert_id)))
    : [el('p', { class: 'muted' }, '暂无预警。')]));
  const waiting = cases.filter((c) => c.state === 'raised');
  const badge = document.getElementById('badge');
  badge.hidden = waiting.length === 0;
  badge.textContent = String(waiting.length);
  const highs = new Set(waiting.filter((c) => c.severity === 'high').map((c) => c.alert_id));
  if (state.seenAlerts && [...highs].some((id) => !state.seenAlerts.has(id))) chime();
  state.seenAlerts = new Set(cases.map((c) => c.alert_id));
  document.title = waiting.length ? `（${waiting.length}）舆情监测 · 值班台` : '舆情监测 · 值班台';
}

/// A short tone for a new 高 alert (browsers allow it once the page has been used).
function chime() {
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    tone.frequency.value = 880;
    tone.connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.3);
  } catch (_) { /* no sound: the badge and title say it */ }
}

function showDuty() {
  setPage('duty');
  view.replaceChildren(el('h2', {}, '值班台'),
    el('p', { class: 'muted' }, '预警每 5 秒自动刷新；高风险新预警会响铃。'),
    el('section', { id: 'queue' }, el('p', { class: 'muted' }, '正在载入…')));
  refreshDuty();
  state.poll = setInterval(refreshDuty, 5000);
}

// ---- 信息列表: search ----

const PRESETS = [['', '全部'], ['24h', '24小时'], ['1d', '今天'], ['7d', '7天'], ['30d', '30天'], ['custom', '自定义']];
const FACETS = [['topic', '话题'], ['sentiment', '情感'], ['risk', '风险'], ['district', '属地'], ['source_type', '来源类型'], ['source', '来源']];

function searchParams() {
  const query = location.hash.split('?')[1] || '';
  return new URLSearchParams(query);
}

function searchHref(params) {
  return `#/search?${params.toString()}`;
}

/// The query the API gets: the words typed, the time preset and the facet filters.
function fullQuery(params) {
  const parts = [];
  if (params.get('q')) parts.push(params.get('q'));
  const since = params.get('since');
  if (since === '1d') parts.push(`from:${beijingDate(new Date())}`);
  else if (since === 'custom') {
    if (/^\d{4}-\d{2}-\d{2}$/.test(params.get('from') || '')) parts.push(`from:${params.get('from')}`);
    if (/^\d{4}-\d{2}-\d{2}$/.test(params.get('to') || '')) parts.push(`to:${params.get('to')}`);
  } else if (since) parts.push(`since:${since}`);
  for (const [field] of FACETS) {
    for (const value of params.getAll(field)) parts.push(`${field}:"${value.replaceAll('"', '')}"`);
  }
  return parts.join(' ');
}

/// The date in Beijing, as the query language writes it (2026-12-08).
function beijingDate(at) {
  return at.toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });
}

function facetLabel(field, value) {
  if (field === 'sentiment') return SENTIMENT_ZH[value] || value;
  if (field === 'risk') return RISK_ZH[value] || value;
  if (field === 'source_type') return SOURCE_TYPE_ZH[value] || value;
  return value;
}

function hitCard(hit) {
  return el('article', { class: 'card hit' },
    el('h3', {}, el('a', { href: `#/doc/${encodeURIComponent(hit.id)}` }, hit.title)),
    el('div', { class: 'row muted' },
      riskTag(hit.risk),
      el('span', {}, SENTIMENT_ZH[hit.sentiment] || hit.sentiment),
      el('span', {}, hit.source),
      el('span', {}, time(hit.published_at)),
      hit.cluster_size > 1 ? el('span', {}, `相同报道 ${hit.cluster_size} 篇`) : null),
    el('p', {}, marked(hit.snippet)),
    el('div', {}, (hit.topics || []).map((t) => el('span', { class: 'tag' }, t)),
      (hit.districts || []).map((d) => el('span', { class: 'tag' }, d))));
}

async function showSearch() {
  setPage('search');
  const params = searchParams();
  const input = el('input', { type: 'search', class: 'grow', id: 'q', value: params.get('q') || '', placeholder: '例如：溺水 OR 食堂　topic:防溺水　-演练', 'aria-label': '检索词' });
  const sort = el('select', { id: 'sort', 'aria-label': '排序' },
    [['relevance', '相关度'], ['time', '时间'], ['risk', '风险'], ['spread', '传播']].map(([v, l]) =>
      el('option', { value: v, selected: (params.get('sort') || 'relevance') === v }, l)));
  const collapse = el('input', { type: 'checkbox', id: 'collapse', checked: params.get('collapse') === 'true' });
  const from = el('input', { type: 'date', id: 'from', value: params.get('from') || '' });
  const to = el('input', { type: 'date', id: 'to', value: params.get('to') || '' });
  const form = el('form', { class: 'card', onsubmit: (event) => {
    event.preventDefault();
    const next = searchParams();
    next.set('q', input.value);
    next.set('sort', sort.value);
    next.set('collapse', collapse.checked ? 'true' : 'false');
    location.hash = searchHref(next);
  } },
  el('div', { class: 'row' }, input, sort,
    el('label', {}, collapse, '相似文章合并'),
    el('button', { type: 'submit' }, '检索')),
  el('div', { class: 'presets' }, PRESETS.map(([value, label]) => {
    const next = searchParams();
    if (value) next.set('since', value); else next.delete('since');
    return el('a', { href: searchHref(next), class: (params.get('since') || '') === value ? 'on' : null, 'data-preset': value || 'all' }, label);
  })),
  params.get('since') === 'custom' ? el('div', { class: 'row custom-range' },
    el('label', {}, '从 ', from), el('label', {}, '到 ', to),
    el('button', { type: 'button', class: 'plain', onclick: () => {
      const next = searchParams();
      next.set('from', from.value);
      next.set('to', to.value);
      location.hash = searchHref(next);
    } }, '应用')) : null);
  const facets = el('aside', { class: 'card facets', id: 'facets' });
  const results = el('section', { class: 'results', id: 'results' }, el('p', { class: 'muted' }, '正在检索…'));
  view.replaceChildren(el('h2', {}, '信息列表'), form, el('div', { class: 'layout' }, facets, results));

  const api_params = new URLSearchParams({ q: fullQuery(params), limit: '20', sort: params.get('sort') || 'relevance' });
  if (params.get('collapse') === 'true') api_params.set('collapse', 'true');
  let page;
  try { page = await api('GET', `/api/search?${api_params}`); } catch (e) {
    const text = e.status === 400
      ? `检索式有误${e.position !== undefined ? `（第 ${e.position + 1} 个字符处）` : ''}：${e.message}`
      : e.message;
    results.replaceChildren(el('p', { class: 'error', role: 'alert', id: 'search-error' }, text));
    return;
  }
  renderFacets(facets, params, page.facets || {});
  const exported = new URLSearchParams(api_params);
  exported.delete('limit');
  results.replaceChildren(el('div', { class: 'row' },
    el('p', { class: 'muted grow', id: 'total' }, `共 ${page.total} 条`),
    el('a', { href: `/api/search/export.xlsx?${exported}`, download: 'yuqing-search.xlsx', id: 'export' }, '导出 XLSX')),
    ...page.hits.map(hitCard));
  addMore(results, api_params, page.next_cursor);
}

function addMore(results, api_params, cursor) {
  if (!cursor) return;
  const more = el('button', { class: 'plain', onclick: async () => {
    more.remove();
    api_params.set('cursor', cursor);
    try {
      const page = await api('GET', `/api/search?${api_params}&facets=false`);
      results.append(...page.hits.map(hitCard));
      addMore(results, api_params, page.next_cursor);
    } catch (e) { results.append(el('p', { class: 'error' }, e.message)); }
  } }, '更多');
  results.append(more);
}

function renderFacets(box, params, facets) {
  box.replaceChildren();
  for (const [field, label] of FACETS) {
    const counts = facets[field] || [];
    if (!counts.length) continue;
    box.append(el('h4', {}, label));
    const chosen = params.getAll(field);
    for (const { key: value, count } of counts.slice(0, 12)) {
      const next = searchParams();
      const on = chosen.includes(value);
      next.delete(field);
      for (const v of chosen) if (v !== value) next.append(field, v);
      if (!on) next.append(field, value);
      box.append(el('a', { href: searchHref(next), class: on ? 'on' : null, 'data-facet': field },
        `${on ? '✓ ' : ''}${facetLabel(field, value)}（${count}）`));
    }
  }
}

// ---- 详情: one document ----

async function showDocument(id) {
  setPage('search');
  view.replaceChildren(el('p', { class: 'muted' }, '正在载入…'));
  let found;
  try { found = await api('GET', `/api/documents/${encodeURIComponent(id)}`); } catch (e) {
    view.replaceChildren(el('p', { class: 'error', role: 'alert' }, e.message));
    return;
  }
  const doc = found.document;
  const analysis = found.analysis || {};
  const explain = (items, what) => (items || []).map((item) =>
    el('li', {}, `${what}：${item.name}`,
      item.matches && item.matches.length
        ? el('span', { class: 'muted' }, `　命中：${[...new Set(item.matches.map((m) => m.term))].join('、')}`)
        : null));
  const sentiment = analysis.sentiment || {};
  view.replaceChildren(el('article', { class: 'card', id: 'document' },
    el('h2', {}, doc.title),
    el('div', { class: 'row muted' },
      el('span', {}, doc.source), el('span', {}, time(doc.published_at)),
      doc.author ? el('span', {}, `作者：${doc.author}`) : null,
      el('a', { href: doc.url, rel: 'noreferrer noopener', target: '_blank' }, '原文链接')),
    el('h4', {}, '研判'),
    el('ul', {},
      explain(analysis.topics, '话题'),
      explain(analysis.regions, '属地'),
      explain(analysis.schools, '学校'),
      el('li', {}, `情感：${SENTIMENT_ZH[sentiment.label] || sentiment.label || '未知'}（${typeof sentiment.score === 'number' ? sentiment.score.toFixed(2) : ''}）`),
      analysis.risk ? el('li', {}, `风险：${RISK_ZH[analysis.risk.level] || analysis.risk.level || '未知'}`) : null),
    el('h4', {}, '正文'),
    el('div', { class: 'content' }, highlighted(doc.content, evidence(analysis, 'content'))),
    el('section', { id: 'story' }),
    el('details', {}, el('summary', {}, '存证（抓取时的页面）'),
      el('iframe', { class: 'snapshot', sandbox: '', src: `/api/documents/${encodeURIComponent(id)}/snapshot`, title: '存证' }))));
  showStory(found.cluster, id);
}

// ---- 预警规则: read by everyone, edited by analysts ----

const ROLE_RANK = { duty: 0, analyst: 1, admin: 2 };
const MODE_ZH = { every: '逐篇预警', new_story: '新事件预警', threshold: '数量阈值', spike: '突增', digest: '定时汇总' };

function mayEditRules() {
  return state.me && ROLE_RANK[state.me.role] >= ROLE_RANK.analyst;
}

/// A refusal or error of a rule change, in Chinese.
function ruleError(e) {
  if (e.status === 403) return `您的角色（${state.me.role_zh}）无权修改预警规则，需要分析员或管理员。`;
  if (e.status === 409) return `该规则写在配置文件中，请在配置文件里修改。（${e.message}）`;
  if (e.status === 400) {
    const at = /at character (\d+)/.exec(e.message);
    return at ? `规则有误，检索式第 ${Number(at[1]) + 1} 个字符处：${e.message}` : `规则有误：${e.message}`;
  }
  return e.message;
}

function ruleCard(rule) {
  const body = el('div');
  const card = el('article', { class: 'card rule', 'data-rule': rule.name },
    el('h3', {}, rule.name),
    el('div', { class: 'muted' }, [
      rule.mode ? `方式：${MODE_ZH[rule.mode] || rule.mode}` : null,
      rule.severity ? `级别：${RISK_ZH[rule.severity] || rule.severity}` : null,
      (rule.channels || []).length ? `渠道：${rule.channels.join('、')}` : null,
      rule.editable ? null : '（配置文件中的规则，只读）',
    ].filter(Boolean).join(' · ')),
    body);
  if (!rule.editable || !mayEditRules()) {
    body.append(el('pre', { class: 'query' }, rule.query));
    return card;
  }
  const query = el('textarea', { rows: 2, class: 'query', 'aria-label': `${rule.name} 的检索式` }, rule.query);
  const message = el('p', { class: 'error', role: 'alert' });
  body.append(query, el('div', { class: 'row' },
    el('button', { class: 'save', onclick: async () => {
      message.textContent = '';
      message.className = 'error';
      try {
        await api('PUT', `/api/rules/${encodeURIComponent(rule.name)}`, { ...rule, editable: undefined, query: query.value });
        message.className = 'saved';
        message.textContent = '已保存，立即生效。';
      } catch (e) { message.textContent = ruleError(e); }
    } }, '保存')), message);
  return card;
}

async function showRules() {
  setPage('rules');
  const list = el('section', { id: 'rules' }, el('p', { class: 'muted' }, '正在载入…'));
  const intro = mayEditRules()
    ? '修改检索式后保存即生效；检索式有误时不会保存，并指出错误位置。'
    : '只读：修改预警规则需要分析员或管理员角色。';
  view.replaceChildren(el('h2', {}, '预警规则'), el('p', { class: 'muted' }, intro), list);
  try {
    const rules = await api('GET', '/api/rules');
    list.replaceChildren(...rules.map(ruleCard));
  } catch (e) {
    list.replaceChildren(el('p', { class: 'error' }, e.message));
  }
}

// ---- 信源: each source's health, and the system's stages ----

const STAGE_ZH = { running: '正常', retrying: '重试中', failed: '已停止' };
const STAGE_NAME_ZH = {
  analyzer: '研判分析', indexer: '索引', evaluator: '预警规则', notifier: '预警投递', desk: '值班台服务',
  'dead-letter log': '异常数据记录', 'seen-store confirmation': '采集确认',
};

async function showSources() {
  setPage('sources');
  const box = el('section', { id: 'sources' }, el('p', { class: 'muted' }, '正在载入…'));
  view.replaceChildren(el('h2', {}, '信源与系统状态'), box);
  let status;
  try { status = await api('GET', '/api/status'); } catch (e) {
    box.replaceChildren(el('p', { class: 'error' }, e.message));
    return;
  }
  const sources = status.sources || [];
  const stages = Object.entries(status.stages || {});
  box.replaceChildren(
    el('div', { class: 'card' },
      el('div', { class: 'row' },
        el('span', {}, `已索引 ${status.documents ?? '—'} 篇`),
        el('span', {}, `待投递预警 ${status.alerts_pending ?? '—'} 条`),
        el('span', {}, `已送达 ${status.alerts_delivered ?? '—'} 条`)),
      stages.length ? el('div', { class: 'row muted' }, stages.map(([name, stage]) =>
        el('span', { class: stage.state === 'running' ? null : 'error', title: stage.error || '' },
          `${STAGE_NAME_ZH[name] || name}：${STAGE_ZH[stage.state] || stage.state}${stage.error ? '（' + stage.error + '）' : ''}`))) : null),
    ...(sources.length ? sources.map((s) => el('article', { class: 'card source', 'data-source': s.source },
      el('h3', {}, s.source),
      el('div', { class: 'row' },
        el('span', { class: s.consecutive_failures ? 'error' : 'saved' },
          s.consecutive_failures ? `连续失败 ${s.consecutive_failures} 次` : '正常'),
        el('span', { class: 'muted' }, `最近采集 ${time(s.last_visit_at)}`),
        el('span', { class: 'muted' }, `上次成功 ${time(s.last_success_at) || '—'}`),
        el('span', { class: 'muted' }, `本次 ${s.last_collected} 篇，累计 ${s.collected_total} 篇`)),
      s.last_error ? el('p', { class: 'error' }, `原因：${s.last_error}`) : null))
      : [el('p', { class: 'muted' }, '尚无信源的采集记录。')]));
}

/// Every matched term's place in one field of the document: what made a tag fire.
function evidence(analysis, field) {
  const groups = [analysis.topics, analysis.regions, analysis.schools, [analysis.sentiment]];
  return groups.flat().filter(Boolean)
    .flatMap((tag) => tag.matches || [])
    .filter((m) => m.field === field && m.end > m.start);
}

/// Text with the given character ranges (Unicode characters, as the analyzer counts
/// them) in <mark>, built from text nodes only.
function highlighted(text, matches) {
  const chars = Array.from(text || '');
  const ranges = matches.map((m) => [m.start, Math.min(m.end, chars.length)])
    .filter(([a, b]) => a < b).sort((x, y) => x[0] - y[0]);
  const out = document.createDocumentFragment();
  let at = 0;
  for (const [start, end] of ranges) {
    if (end <= at) continue;
    const from = Math.max(start, at);
    if (from > at) out.append(chars.slice(at, from).join(''));
    out.append(el('mark', {}, chars.slice(from, end).join('')));
    at = end;
  }
  out.append(chars.slice(at).join(''));
  return out;
}

/// The story a document belongs to: every reprint on a timeline, first report first.
async function showStory(cluster, current) {
  const box = document.getElementById('story');
  if (!box || !cluster) return;
  let story;
  try { story = await api('GET', `/api/clusters/${encodeURIComponent(cluster)}`); } catch (_) { return; }
  const members = story.members || [];
  if (members.length < 2) return;
  const sources = new Set(members.map((m) => m.source));
  box.replaceChildren(
    el('h4', {}, `事件脉络：${members.length} 篇报道，${sources.size} 个来源，首发 ${members[0].source}`),
    el('ol', { class: 'timeline' }, members.map((m) => el('li', { class: m.id === current ? 'current' : null },
      el('span', { class: 'muted' }, `${time(m.published_at || m.fetched_at)} ${m.source}　`),
      m.id === current ? m.title : el('a', { href: `#/doc/${encodeURIComponent(m.id)}` }, m.title)))));
}

// ---- start ----

function route() {
  stopPolling();
  if (!state.me) return;
  const [path] = location.hash.replace(/^#/, '').split('?');
  if (path.startsWith('/doc/')) showDocument(decodeURIComponent(path.slice(5)));
  else if (path === '/search') showSearch();
  else if (path === '/rules') showRules();
  else if (path === '/sources') showSources();
  else showDuty();
}

async function start() {
  try {
    state.me = await api('GET', '/api/me');
  } catch (e) {
    if (e.status !== 401) view.replaceChildren(el('p', { class: 'error' }, e.message));
    return;
  }
  document.getElementById('nav').hidden = false;
  document.getElementById('who').replaceChildren(
    `${state.me.user}（${state.me.role_zh}）`,
    el('button', { class: 'plain', id: 'logout', onclick: logout }, '退出'));
  route();
}

window.addEventListener('hashchange', route);
start();
