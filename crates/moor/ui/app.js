// moor web UI: hash-routed pages over the JSON API in /api/v1 (see docs/ui-api.md).
// Plain DOM, no framework: the server's CSP forbids inline script/style and eval, so every
// element is built with createElement and text is always set as text (never parsed as HTML):
// app names, messages and manifests come from people who can push to a repo.
'use strict';

const API = '/api/v1';
const PAGE = 100;
const SYNC_STATES = ['Synced', 'OutOfSync', 'Unknown'];
const HEALTH_STATES = ['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown'];

// ---------- small helpers ----------

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (v === true) e.setAttribute(k, '');
      else e.setAttribute(k, String(v));
    }
  }
  for (const c of kids.flat(Infinity)) {
    if (c == null || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

// replaceChildren that skips null/false children as el() does (the DOM would print "null").
function put(node, ...kids) {
  node.replaceChildren(...kids.flat(Infinity).filter((c) => c != null && c !== false));
}

const ICONS = {
  check: '<circle cx="12" cy="12" r="9"/><path d="M8 12.5l2.5 2.5L16 9.5"/>',
  oos: '<path d="M19.5 12a7.5 7.5 0 0 1-13.2 4.9M4.5 12a7.5 7.5 0 0 1 13.2-4.9"/><path d="M18 3.5v3.8h-3.8M6 20.5v-3.8h3.8"/>',
  unknown: '<circle cx="12" cy="12" r="9"/><path d="M9.6 9.4a2.5 2.5 0 1 1 3.4 2.4c-.6.3-1 .8-1 1.5v.6"/><path d="M12 16.8v.2"/>',
  heart: '<path d="M12 19.5s-7-4.3-7-9.6A3.9 3.9 0 0 1 12 7.6a3.9 3.9 0 0 1 7 2.3c0 5.3-7 9.6-7 9.6z"/>',
  spin: '<path d="M12 3a9 9 0 1 0 9 9"/>',
  cross: '<circle cx="12" cy="12" r="9"/><path d="M9 9l6 6M15 9l-6 6"/>',
  pause: '<circle cx="12" cy="12" r="9"/><path d="M10 9v6M14 9v6"/>',
  missing: '<circle cx="12" cy="12" r="9" stroke-dasharray="2.5 2.5"/><path d="M8.5 12h7"/>',
  alert: '<path d="M12 3.5l9.5 16.5h-19z"/><path d="M12 10v4.5M12 17v.2"/>',
  info: '<circle cx="12" cy="12" r="9"/><path d="M12 11v5M12 8v.2"/>',
  sync: '<path d="M19.5 12a7.5 7.5 0 0 1-13.2 4.9M4.5 12a7.5 7.5 0 0 1 13.2-4.9"/><path d="M18 3.5v3.8h-3.8M6 20.5v-3.8h3.8"/>',
  refresh: '<path d="M20 11a8 8 0 1 0-2.3 5.7"/><path d="M20 4v7h-7"/>',
  rollback: '<path d="M4 9h11a5 5 0 0 1 0 10H9"/><path d="M8 5L4 9l4 4"/>',
  close: '<path d="M6 6l12 12M18 6L6 18"/>',
  chevron: '<path d="M9 6l6 6-6 6"/>',
  dot: '<circle cx="12" cy="12" r="5" fill="currentColor"/>',
};

function icon(name, cls) {
  const s = el('span', { class: 'icon' + (cls ? ' ' + cls : ''), 'aria-hidden': 'true' });
  // Constant markup from ICONS only, never data.
  s.innerHTML = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">' + ICONS[name] + '</svg>';
  return s;
}

function syncLook(v) {
  switch (v) {
    case 'Synced': return ['ok', 'check'];
    case 'OutOfSync': return ['warn', 'oos'];
    default: return ['muted', 'unknown'];
  }
}
function healthLook(v) {
  switch (v) {
    case 'Healthy': return ['ok', 'heart'];
    case 'Progressing': return ['prog', 'spin'];
    case 'Degraded': return ['bad', 'cross'];
    case 'Suspended': return ['susp', 'pause'];
    case 'Missing': return ['warn', 'missing'];
    default: return ['muted', 'unknown'];
  }
}
function phaseLook(v) {
  switch (v) {
    case 'Running': return ['prog', 'spin'];
    case 'Succeeded': return ['ok', 'check'];
    case 'Failed': case 'Error': return ['bad', 'cross'];
    case 'Terminating': return ['warn', 'alert'];
    default: return ['muted', 'unknown'];
  }
}

// An icon plus the state as text: colour is never the only signal.
function status(look, text, extra) {
  const [cls, ic] = look;
  return el('span', { class: 'status st-' + cls, ...extra }, icon(ic, ic === 'spin' ? 'spin' : ''), el('span', { text: text || 'Unknown' }));
}
const syncStatus = (v, extra) => status(syncLook(v), v || 'Unknown', extra);
const healthStatus = (v, extra) => status(healthLook(v), v || 'Unknown', extra);

function relTime(iso) {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return s + 's ago';
  if (s < 3600) return Math.floor(s / 60) + 'm ago';
  if (s < 86400) return Math.floor(s / 3600) + 'h ago';
  return Math.floor(s / 86400) + 'd ago';
}
function timeEl(iso) {
  if (!iso) return el('span', { class: 'muted', text: '—' });
  return el('time', { datetime: iso, title: new Date(iso).toLocaleString(), class: 'rel', text: relTime(iso) });
}
// Relative times age on screen; refresh them without refetching.
setInterval(() => {
  for (const t of document.querySelectorAll('time.rel')) t.textContent = relTime(t.getAttribute('datetime'));
}, 30000);

function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  return () => {
    if (timer) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(() => { timer = null; last = Date.now(); fn(); }, wait);
  };
}
function debounce(fn, ms) {
  let timer = null;
  return (...a) => { clearTimeout(timer); timer = setTimeout(() => fn(...a), ms); };
}

const enc = encodeURIComponent;
const appPath = (g, ns, n) => `/apps/${enc(g)}/${enc(ns)}/${enc(n)}`;
const appHash = (g, ns, n) => `#/app/${enc(g)}/${enc(ns)}/${enc(n)}`;
const appKey = (a) => `${a.group}/${a.namespace}/${a.name}`;

// ---------- API ----------

let me = null;
let csrf = null;

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)moor_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : csrf;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, opts = {}) {
  const init = { credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (opts.body !== undefined) {
    init.method = 'POST';
    init.headers['Content-Type'] = 'application/json';
    const t = csrfToken();
    if (t) init.headers['X-Moor-CSRF'] = t;
    init.body = JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(API + path, init);
  } catch (e) {
    throw new ApiError(0, 'cannot reach the moor server: ' + e.message);
  }
  let data = null;
  const text = await res.text();
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const msg = (data && data.error) || text || res.statusText;
    if (res.status === 401 && !opts.noLoginRedirect) toLogin();
    throw new ApiError(res.status, msg);
  }
  return data;
}

function toLogin() {
  me = null;
  const here = location.hash || '#/';
  if (!here.startsWith('#/login')) location.hash = '#/login?next=' + enc(here);
}

// ---------- live events: one EventSource shared by the pages ----------

const live = { es: null, subs: new Set(), retry: null };

function liveState(text, cls) {
  const l = document.getElementById('live');
  l.hidden = false;
  l.className = 'live ' + cls;
  put(l, icon('dot'), el('span', { text }));
}

function startLive() {
  if (live.es || typeof EventSource === 'undefined') return;
  const es = new EventSource(API + '/events');
  live.es = es;
  let opened = false;
  es.addEventListener('open', () => {
    liveState('Live', 'on');
    // After a reconnect events may have been missed: every page re-reads.
    if (opened) for (const f of live.subs) f('reconnect', null);
    opened = true;
  });
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) {
      live.es = null;
      liveState('Offline', 'off');
      clearTimeout(live.retry);
      live.retry = setTimeout(() => { if (me) startLive(); }, 5000);
    } else {
      liveState('Reconnecting…', 'off');
    }
  });
  for (const type of ['app', 'delete']) {
    es.addEventListener(type, (ev) => {
      let data = null;
      try { data = JSON.parse(ev.data); } catch { return; }
      for (const f of live.subs) f(type, data);
    });
  }
}
function stopLive() {
  if (live.es) live.es.close();
  live.es = null;
  clearTimeout(live.retry);
  document.getElementById('live').hidden = true;
}
function subscribe(f) {
  live.subs.add(f);
  onLeave(() => live.subs.delete(f));
}

// ---------- router ----------

let leaving = [];
let routeGen = 0;
function onLeave(f) { leaving.push(f); }
const main = () => document.getElementById('main');

function parseHash() {
  const h = location.hash.replace(/^#/, '') || '/';
  const q = h.indexOf('?');
  const path = q >= 0 ? h.slice(0, q) : h;
  const params = new URLSearchParams(q >= 0 ? h.slice(q + 1) : '');
  const parts = path.split('/').filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch { return p; } });
  return { parts, params };
}

async function route() {
  for (const f of leaving) { try { f(); } catch { /* a page's cleanup must not stop routing */ } }
  leaving = [];
  const gen = ++routeGen;
  closeDialogs();
  const { parts, params } = parseHash();
  if (parts[0] === 'login') return loginPage(params);
  if (!me) {
    try {
      me = await api('/me');
    } catch (e) {
      if (gen !== routeGen) return;
      if (e.status === 401) return;
      put(main(), errorBox('Cannot load the UI', e.message));
      return;
    }
    if (gen !== routeGen) return;
    if (me && me.csrf) csrf = me.csrf;
    showUser();
    startLive();
  }
  if (parts[0] === 'app' && parts.length >= 4) return appPage(gen, parts[1], parts[2], parts[3], params);
  return appsPage(gen, params);
}

function showUser() {
  const who = document.getElementById('who');
  const out = document.getElementById('logout');
  if (!me) { who.replaceChildren(); out.hidden = true; return; }
  put(who, 
    el('span', { class: 'mode', text: me.mode === 'local' ? 'local' : 'server' }),
    el('span', { class: 'user', text: me.user || '' }),
  );
  out.hidden = me.mode !== 'server';
}

function errorBox(title, msg) {
  return el('div', { class: 'error-box', role: 'alert' }, icon('alert'), el('div', {}, el('strong', { text: title }), el('p', { class: 'pre', text: msg })));
}

function setTitle(t) { document.title = t ? t + ' · moor' : 'moor'; }

// ---------- login ----------

function loginPage(params) {
  setTitle('Log in');
  const next = params.get('next') || '#/';
  const err = el('p', { class: 'login-error', role: 'alert' });
  const token = el('input', { id: 'login-token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'data-testid': 'login-token', 'aria-describedby': 'login-help' });
  const btn = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'login-submit', text: 'Log in' });
  const form = el('form', { class: 'login-card', 'aria-labelledby': 'login-h' },
    el('h1', { id: 'login-h', text: 'Log in to moor' }),
    el('p', { id: 'login-help', class: 'muted', text: 'Paste a bearer token the Kubernetes API server accepts (for example a ServiceAccount token). Kubernetes RBAC decides what you can see and do.' }),
    el('label', { for: 'login-token', text: 'Token' }),
    token, btn, err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    btn.disabled = true;
    try {
      const r = await api('/login', { body: { token: token.value.trim() }, noLoginRedirect: true });
      csrf = (r && r.csrf) || null;
      token.value = '';
      me = null;
      // A new identity: the event stream and remembered filter values were the old one's.
      stopLive();
      for (const set of Object.values(seen)) set.clear();
      location.hash = next.startsWith('#/login') ? '#/' : next;
    } catch (e) {
      err.textContent = e.status === 401 ? 'Token not accepted: ' + e.message : 'Login failed: ' + e.message;
      btn.disabled = false;
      token.focus();
    }
  });
  put(main(), el('div', { class: 'login-wrap' }, form));
  // In local mode the kubeconfig identity is used: say so instead of asking.
  api('/me', { noLoginRedirect: true }).then((m) => {
    if (m && m.mode === 'local') {
      put(main(), el('div', { class: 'login-wrap' }, el('div', { class: 'login-card' },
        el('h1', { text: 'No login needed' }),
        el('p', { text: 'moor ui runs locally with your kubeconfig\'s identity.' }),
        el('a', { href: '#/', class: 'btn btn-primary', text: 'Open applications' }))));
    }
  }).catch(() => {});
  token.focus();
}

document.getElementById('logout').addEventListener('click', async () => {
  try { await api('/logout', { body: {}, noLoginRedirect: true }); } catch { /* the cookies are cleared either way */ }
  me = null;
  csrf = null;
  stopLive();
  showUser();
  location.hash = '#/login';
});

// ---------- dialogs ----------

function closeDialogs() {
  for (const d of document.querySelectorAll('dialog')) { if (d.open) d.close(); d.remove(); }
}

// A modal with a title, body, Cancel and a confirm button; onConfirm runs after it closes.
function confirmDialog({ title, body, confirmText, confirmTestid, danger, onConfirm, validate }) {
  closeDialogs();
  const ok = el('button', { type: 'button', class: 'btn ' + (danger ? 'btn-danger' : 'btn-primary'), 'data-testid': confirmTestid, text: confirmText });
  const cancel = el('button', { type: 'button', class: 'btn', text: 'Cancel' });
  const titleId = 'dlg-' + Math.random().toString(36).slice(2);
  const d = el('dialog', { class: 'dialog', 'aria-labelledby': titleId },
    el('h2', { id: titleId, text: title }),
    el('div', { class: 'dialog-body' }, body),
    el('div', { class: 'dialog-actions' }, cancel, ok));
  cancel.addEventListener('click', () => d.close());
  d.addEventListener('close', () => d.remove());
  ok.addEventListener('click', () => {
    if (validate && !validate()) return;
    d.close();
    onConfirm();
  });
  document.body.append(d);
  d.showModal();
  ok.focus();
  return { dialog: d, ok };
}

// ---------- apps page ----------

const seen = { project: new Set(), namespace: new Set(), cluster: new Set() };

function appsPage(gen, params) {
  setTitle('Applications');
  const st = {
    sync: params.get('sync') || '', health: params.get('health') || '', project: params.get('project') || '',
    namespace: params.get('namespace') || '', cluster: params.get('cluster') || '', label: params.get('label') || '',
    search: params.get('search') || '', offset: Math.max(0, parseInt(params.get('offset') || '0', 10) || 0),
  };
  let seq = 0;

  const writeHash = () => {
    const q = new URLSearchParams();
    for (const k of ['sync', 'health', 'project', 'namespace', 'cluster', 'label', 'search']) if (st[k]) q.set(k, st[k]);
    if (st.offset) q.set('offset', st.offset);
    const s = q.toString();
    history.replaceState(null, '', '#/' + (s ? '?' + s : ''));
  };
  const changed = () => { st.offset = 0; writeHash(); load(); };

  // counts
  const countsBar = el('div', { class: 'counts', role: 'group', 'aria-label': 'Counts by state; each one filters the list' });
  const countBtns = new Map();
  const countBtn = (dim, state) => {
    const key = dim + ':' + state;
    if (countBtns.has(key)) return countBtns.get(key);
    const look = dim === 'sync' ? syncLook(state) : dim === 'health' ? healthLook(state) : ['all', 'info'];
    const n = el('span', { class: 'count-n', text: '0' });
    const b = el('button', { type: 'button', class: 'count st-' + look[0], 'data-testid': 'count-' + state, 'aria-pressed': 'false', dataset: { dim, state } },
      dim === 'all' ? null : icon(look[1]), n, el('span', { class: 'count-label', text: state === 'All' ? 'Apps' : state }));
    b.addEventListener('click', () => {
      if (dim === 'all') { st.sync = ''; st.health = ''; } else st[dim] = st[dim] === state ? '' : state;
      syncControls();
      changed();
    });
    countBtns.set(key, { b, n });
    return { b, n };
  };
  const syncGroup = el('div', { class: 'count-group', role: 'group', 'aria-label': 'Sync' });
  const healthGroup = el('div', { class: 'count-group', role: 'group', 'aria-label': 'Health' });
  countsBar.append(el('div', { class: 'count-group' }, countBtn('all', 'All').b), syncGroup, healthGroup);

  // filters
  const mkSelect = (id, label, values) => {
    const s = el('select', { id: 'f-' + id, name: id }, el('option', { value: '', text: 'All' }), values.map((v) => el('option', { value: v, text: v })));
    s.addEventListener('change', () => { st[id] = s.value; changed(); });
    return { s, wrap: el('div', { class: 'field' }, el('label', { for: 'f-' + id, text: label }), s) };
  };
  const fSync = mkSelect('sync', 'Sync', SYNC_STATES);
  const fHealth = mkSelect('health', 'Health', HEALTH_STATES);
  const fProject = mkSelect('project', 'Project', []);
  const fNs = mkSelect('namespace', 'Namespace', []);
  const fCluster = mkSelect('cluster', 'Cluster', []);
  const fLabel = el('input', { id: 'f-label', type: 'text', placeholder: 'key=value', spellcheck: 'false', value: st.label });
  fLabel.addEventListener('input', debounce(() => { st.label = fLabel.value.trim(); changed(); }, 300));
  const fSearch = el('input', { id: 'f-search', type: 'search', placeholder: 'Search by name', spellcheck: 'false', value: st.search });
  fSearch.addEventListener('input', debounce(() => { st.search = fSearch.value.trim(); changed(); }, 250));
  const clearBtn = el('button', { type: 'button', class: 'btn btn-quiet', text: 'Clear filters' });
  clearBtn.addEventListener('click', () => {
    for (const k of ['sync', 'health', 'project', 'namespace', 'cluster', 'label', 'search']) st[k] = '';
    fLabel.value = ''; fSearch.value = '';
    syncControls();
    changed();
  });
  const filters = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter applications' },
    el('div', { class: 'field field-search' }, el('label', { for: 'f-search', text: 'Search' }), fSearch),
    fSync.wrap, fHealth.wrap, fProject.wrap, fNs.wrap, fCluster.wrap,
    el('div', { class: 'field' }, el('label', { for: 'f-label', text: 'Label' }), fLabel),
    clearBtn);
  filters.addEventListener('submit', (e) => e.preventDefault());

  const fillOptions = (sel, set, current) => {
    const want = [...new Set([...set, ...(current ? [current] : [])])].sort();
    const have = [...sel.options].slice(1).map((o) => o.value);
    if (want.join('\n') !== have.join('\n')) {
      put(sel, el('option', { value: '', text: 'All' }), want.map((v) => el('option', { value: v, text: v })));
    }
    sel.value = current;
  };
  const syncControls = () => {
    fillOptions(fProject.s, seen.project, st.project);
    fillOptions(fNs.s, seen.namespace, st.namespace);
    fillOptions(fCluster.s, seen.cluster, st.cluster);
    fSync.s.value = st.sync;
    fHealth.s.value = st.health;
    for (const { b } of countBtns.values()) {
      const { dim, state } = b.dataset;
      const on = dim === 'all' ? (!st.sync && !st.health) : st[dim] === state;
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
    }
  };

  // table
  const tbody = el('tbody');
  const table = el('table', { class: 'apps' },
    el('caption', { class: 'sr-only', text: 'Applications' }),
    el('thead', {}, el('tr', {}, ['Name', 'Sync', 'Health', 'Revision', 'Project', 'Destination', 'Last sync'].map((h) => el('th', { scope: 'col', text: h })))),
    tbody);
  const empty = el('div', { class: 'empty', 'data-testid': 'no-apps', hidden: true });
  const errorSlot = el('div');
  const summary = el('span', { class: 'muted', 'aria-live': 'polite' });
  const prev = el('button', { type: 'button', class: 'btn', text: '‹ Previous' });
  const next = el('button', { type: 'button', class: 'btn', text: 'Next ›' });
  const pageInfo = el('span', { class: 'page-info' });
  prev.addEventListener('click', () => { st.offset = Math.max(0, st.offset - PAGE); writeHash(); load(); });
  next.addEventListener('click', () => { st.offset += PAGE; writeHash(); load(); });
  const pager = el('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, pageInfo, next);

  tbody.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const links = [...tbody.querySelectorAll('a.app-link')];
    const i = links.indexOf(document.activeElement);
    if (i < 0) return;
    e.preventDefault();
    const j = e.key === 'ArrowDown' ? Math.min(links.length - 1, i + 1) : Math.max(0, i - 1);
    links[j].focus();
  });
  tbody.addEventListener('click', (e) => {
    if (e.target.closest('a, button, input')) return;
    const tr = e.target.closest('tr[data-testid="app-row"]');
    if (tr && !window.getSelection().toString()) location.hash = tr.querySelector('a.app-link').getAttribute('href');
  });

  put(main(), 
    el('div', { class: 'page-head' }, el('h1', { text: 'Applications' }), summary),
    countsBar, filters, errorSlot,
    el('div', { class: 'table-wrap' }, table), empty, pager);
  syncControls();

  const rows = new Map();
  const newRow = (a) => {
    const link = el('a', { class: 'app-link', href: appHash(a.group, a.namespace, a.name), text: a.name });
    const tr = el('tr', { 'data-testid': 'app-row', 'data-app': a.namespace + '/' + a.name, dataset: { group: a.group } },
      el('td', { class: 'c-name' }, link, el('span', { class: 'sub' })),
      el('td', { class: 'c-sync', 'data-testid': 'app-sync' }),
      el('td', { class: 'c-health', 'data-testid': 'app-health' }),
      el('td', { class: 'c-rev' }), el('td', { class: 'c-project' }), el('td', { class: 'c-dest' }), el('td', { class: 'c-last' }));
    return tr;
  };
  const fillRow = (tr, a) => {
    const c = tr.children;
    c[0].children[1].textContent = a.namespace + (a.group !== 'moor.dev' ? ' · ' + a.group : '');
    put(c[1], syncStatus(a.sync));
    const h = [healthStatus(a.health, a.healthMessage ? { title: a.healthMessage } : null)];
    if (a.suspended) h.push(el('span', { class: 'tag', text: 'suspended' }));
    put(c[2], ...h);
    put(c[3], 
      a.shortRevision ? el('code', { class: 'sha', title: a.revision || '', text: a.shortRevision }) : el('span', { class: 'muted', text: '—' }),
      a.message ? el('span', { class: 'msg', title: a.message + (a.author ? ' — ' + a.author : ''), text: a.message }) : null);
    c[4].textContent = a.project || '';
    const d = a.destination || {};
    put(c[5], el('span', { class: 'dest-cluster', text: a.cluster || d.name || d.server || '' }), el('span', { class: 'sub', text: d.namespace || '' }));
    const last = [timeEl(a.lastSyncedAt)];
    // A finished, successful operation is the normal case: only running or failed ones are shown.
    if (a.operation && a.operation.phase && a.operation.phase !== 'Succeeded') {
      last.push(status(phaseLook(a.operation.phase), a.operation.phase === 'Running' ? 'Syncing' : a.operation.phase, a.operation.message ? { title: a.operation.message } : null));
    }
    put(c[6], ...last);
    tr.dataset.rv = a.resourceVersion || '';
  };

  const render = (r) => {
    errorSlot.replaceChildren();
    const counts = r.counts || {};
    const cs = counts.sync || {};
    const ch = counts.health || {};
    countBtn('all', 'All').n.textContent = String(counts.total ?? r.total ?? 0);
    for (const s of [...SYNC_STATES, ...Object.keys(cs).filter((k) => !SYNC_STATES.includes(k))]) {
      const { b, n } = countBtn('sync', s);
      if (!b.parentNode) syncGroup.append(b);
      n.textContent = String(cs[s] || 0);
    }
    for (const s of [...HEALTH_STATES, ...Object.keys(ch).filter((k) => !HEALTH_STATES.includes(k))]) {
      const { b, n } = countBtn('health', s);
      if (!b.parentNode) healthGroup.append(b);
      n.textContent = String(ch[s] || 0);
    }
    const items = r.items || [];
    for (const a of items) {
      if (a.project) seen.project.add(a.project);
      if (a.namespace) seen.namespace.add(a.namespace);
      if (a.cluster) seen.cluster.add(a.cluster);
    }
    // The server may also list every value (forward compatible): use them when present.
    for (const dim of ['project', 'namespace', 'cluster']) {
      const m = counts[dim];
      if (m && typeof m === 'object') for (const k of Object.keys(m)) seen[dim].add(k);
    }
    syncControls();

    // Update rows in place so focus and scroll position survive live updates.
    const keep = new Set();
    items.forEach((a, i) => {
      const k = appKey(a);
      keep.add(k);
      let tr = rows.get(k);
      if (!tr) { tr = newRow(a); rows.set(k, tr); fillRow(tr, a); } else if (tr.dataset.rv !== (a.resourceVersion || '') || !a.resourceVersion) fillRow(tr, a);
      if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
    });
    for (const [k, tr] of rows) if (!keep.has(k)) { tr.remove(); rows.delete(k); }

    const total = r.total ?? items.length;
    const filtered = ['sync', 'health', 'project', 'namespace', 'cluster', 'label', 'search'].some((k) => st[k]);
    empty.hidden = items.length > 0;
    table.hidden = items.length === 0;
    put(empty, icon('info'), el('span', {
      text: (counts.total || 0) > 0 && filtered ? 'No applications match these filters.' : (total === 0 && st.offset > 0 ? 'No applications on this page.' : 'No applications yet. Create one with `moor app create`.'),
    }));
    summary.textContent = filtered ? `${total} of ${counts.total ?? total} applications` : `${total} applications`;
    pageInfo.textContent = total ? `${st.offset + 1}–${Math.min(st.offset + items.length, total)} of ${total}` : '0 of 0';
    prev.disabled = st.offset <= 0;
    next.disabled = st.offset + PAGE >= total;
    pager.hidden = total <= PAGE && st.offset === 0;
  };

  const load = async () => {
    const my = ++seq;
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(st.offset) });
    for (const k of ['sync', 'health', 'project', 'namespace', 'cluster', 'label', 'search']) if (st[k]) q.set(k, st[k]);
    try {
      const r = await api('/apps?' + q.toString());
      if (my !== seq || gen !== routeGen) return;
      // Past the end (apps were deleted): go back to the last page.
      if ((r.items || []).length === 0 && st.offset > 0 && r.total > 0) {
        st.offset = Math.floor((r.total - 1) / PAGE) * PAGE;
        writeHash();
        return load();
      }
      render(r);
    } catch (e) {
      if (my !== seq || gen !== routeGen || e.status === 401) return;
      put(errorSlot, errorBox('Cannot list applications', e.message));
    }
  };
  const reload = throttle(load, 300);
  subscribe(() => reload());
  load();
}

// ---------- app page ----------

function appPage(gen, group, ns, name, params) {
  setTitle(name);
  const base = appPath(group, ns, name);
  const s = {
    tab: params.get('tab') === 'history' ? 'history' : 'tree',
    app: null, nodes: null, history: null,
    selected: null, panelTab: null, panelData: null, collapsed: new Set(), focusId: null,
    picked: [], opOpen: null, deleted: false,
  };

  const resultEl = el('div', { class: 'action-result', 'data-testid': 'action-result', role: 'status', 'aria-live': 'polite' });
  const head = el('div', { class: 'app-head' });
  const actions = el('div', { class: 'actions', role: 'toolbar', 'aria-label': 'Actions', hidden: true });
  const banner = el('div');
  const conditions = el('section', { class: 'conditions', 'aria-label': 'Conditions', hidden: true });
  const operation = el('section', { class: 'operation', 'aria-label': 'Operation', hidden: true });
  const tabTree = el('button', { type: 'button', role: 'tab', id: 'tab-tree', 'aria-controls': 'panel-tree', class: 'tab', text: 'Tree', 'data-testid': 'tab-tree' });
  const tabHist = el('button', { type: 'button', role: 'tab', id: 'tab-history', 'aria-controls': 'panel-history', class: 'tab', text: 'History', 'data-testid': 'tab-history' });
  const tabs = el('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Views' }, tabTree, tabHist);
  const treePanel = el('div', { id: 'panel-tree', role: 'tabpanel', 'aria-labelledby': 'tab-tree', class: 'tree-layout' });
  const histPanel = el('div', { id: 'panel-history', role: 'tabpanel', 'aria-labelledby': 'tab-history' });

  put(main(), 
    el('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, el('a', { href: '#/', text: 'Applications' }), el('span', { 'aria-hidden': 'true', text: ' / ' }), el('span', { text: ns + ' / ' + name })),
    banner, head, actions, resultEl, conditions, operation, tabs, treePanel, histPanel);

  const alive = () => gen === routeGen;

  const setTab = (t) => {
    s.tab = t;
    tabTree.setAttribute('aria-selected', t === 'tree' ? 'true' : 'false');
    tabHist.setAttribute('aria-selected', t === 'history' ? 'true' : 'false');
    tabTree.tabIndex = t === 'tree' ? 0 : -1;
    tabHist.tabIndex = t === 'history' ? 0 : -1;
    treePanel.hidden = t !== 'tree';
    histPanel.hidden = t !== 'history';
    history.replaceState(null, '', appHash(group, ns, name) + (t === 'history' ? '?tab=history' : ''));
    if (t === 'tree' && !s.nodes) loadTree();
    if (t === 'history' && !s.history) loadHistory();
  };
  tabTree.addEventListener('click', () => setTab('tree'));
  tabHist.addEventListener('click', () => setTab('history'));
  tabs.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    const t = s.tab === 'tree' ? 'history' : 'tree';
    setTab(t);
    (t === 'tree' ? tabTree : tabHist).focus();
  });

  // ----- header, conditions, operation -----

  const renderHead = () => {
    const app = s.app;
    const sm = app.summary || {};
    const spec = app.spec || {};
    const src = spec.source || (Array.isArray(spec.sources) && spec.sources[0]) || {};
    const d = sm.destination || {};
    const badges = el('div', { class: 'badges' },
      el('span', { class: 'badge-label', text: 'Sync' }), syncStatus(sm.sync, { 'data-testid': 'app-sync' }),
      el('span', { class: 'badge-label', text: 'Health' }), healthStatus(sm.health, { 'data-testid': 'app-health' }),
      sm.suspended ? el('span', { class: 'tag tag-susp', text: 'Suspended' }) : null,
      // A finished, successful operation is shown below ("Last operation"), not as a state.
      sm.operation && sm.operation.phase && sm.operation.phase !== 'Succeeded'
        ? [el('span', { class: 'badge-label', text: 'Operation' }), status(phaseLook(sm.operation.phase), sm.operation.phase, sm.operation.message ? { title: sm.operation.message } : null)]
        : null);
    const meta = el('dl', { class: 'meta' });
    const row = (k, ...v) => meta.append(el('div', {}, el('dt', { text: k }), el('dd', {}, ...v)));
    const wideRow = (k, ...v) => meta.append(el('div', { class: 'wide' }, el('dt', { text: k }), el('dd', {}, ...v)));
    wideRow('Revision', sm.shortRevision ? el('code', { class: 'sha', title: sm.revision || '', text: sm.shortRevision }) : el('span', { class: 'muted', text: '—' }),
      sm.message ? el('span', { class: 'msg-full', text: ' ' + sm.message }) : null,
      sm.author ? el('span', { class: 'muted', text: ' — ' + sm.author }) : null);
    row('Project', sm.project || 'default');
    row('Destination', (sm.cluster || d.name || d.server || '') + (d.namespace ? ' / ' + d.namespace : ''));
    if (src.repoURL) row('Source', el('span', { class: 'mono', text: src.repoURL + (src.path ? ' · ' + src.path : '') + (src.chart ? ' · chart ' + src.chart : '') + (src.targetRevision ? ' @ ' + src.targetRevision : '') }));
    if (Array.isArray(spec.sources) && spec.sources.length > 1) row('Sources', spec.sources.length + ' sources');
    row('Last sync', timeEl(sm.lastSyncedAt));
    const condMsgs = new Set((app.conditions || []).map((c) => c.message));
    if (sm.healthMessage && sm.health !== 'Healthy' && !condMsgs.has(sm.healthMessage)) wideRow('Health message', el('span', { class: 'pre', text: sm.healthMessage }));
    put(head, el('div', { class: 'title-row' }, el('h1', { text: name }), el('span', { class: 'muted', text: ns + (group !== 'moor.dev' ? ' · ' + group : '') })), badges, meta);

    // Actions only for who may patch the Application; the server refuses the rest anyway.
    actions.hidden = !app.canPatch;
    // Rebuilt only when what they show changes, so a button being clicked is not swapped out.
    const actionsKey = app.canPatch + '/' + !!sm.suspended;
    if (actions.dataset.key === actionsKey) { /* unchanged */ } else if (app.canPatch) {
      actions.dataset.key = actionsKey;
      const mk = (testid, ic, text, fn, cls) => { const b = el('button', { type: 'button', class: 'btn ' + (cls || ''), 'data-testid': testid }, icon(ic), el('span', { text })); b.addEventListener('click', fn); return b; };
      put(actions, 
        mk('btn-sync', 'sync', 'Sync', openSync, 'btn-primary'),
        mk('btn-refresh', 'refresh', 'Refresh', () => simpleAction('refresh', 'Refresh', 'Re-read the source and compare it with the cluster now?')),
        sm.suspended
          ? mk('btn-resume', 'spin', 'Resume', () => simpleAction('resume', 'Resume', 'Resume reconciling (and auto-sync, if enabled) for this app?'))
          : mk('btn-suspend', 'pause', 'Suspend', () => simpleAction('suspend', 'Suspend', 'Stop reconciling this app until it is resumed?')));
    } else { actions.dataset.key = actionsKey; actions.replaceChildren(); }

    const conds = app.conditions || [];
    conditions.hidden = conds.length === 0;
    put(conditions, 
      el('h2', {}, icon('alert'), el('span', { text: conds.length === 1 ? '1 condition' : conds.length + ' conditions' })),
      el('ul', {}, conds.map((c) => el('li', {},
        el('strong', { text: c.type || 'Condition' }), ' ', c.lastTransitionTime ? timeEl(c.lastTransitionTime) : null,
        el('div', { class: 'pre', text: c.message || '' })))));

    renderOperation(app.operationState);
  };

  const renderOperation = (op) => {
    operation.hidden = !op;
    if (!op) { operation.replaceChildren(); return; }
    const res = (op.syncResult && op.syncResult.resources) || [];
    const hooks = res.filter((r) => r.hookType);
    const running = op.phase === 'Running';
    const doneHook = (r) => ['Succeeded', 'Failed', 'Error'].includes(r.hookPhase);
    const done = hooks.filter(doneHook).length;
    const det = el('details', { open: s.opOpen ?? running });
    det.addEventListener('toggle', () => { s.opOpen = det.open; });
    const sum = el('summary', {},
      el('span', { class: 'op-title', text: running ? 'Running operation' : 'Last operation' }),
      status(phaseLook(op.phase), op.phase || 'Unknown'),
      op.startedAt ? el('span', { class: 'muted' }, 'started ', timeEl(op.startedAt), op.finishedAt ? [', finished ', timeEl(op.finishedAt)] : null) : null,
      hooks.length ? el('span', { class: 'muted', text: ` · hooks ${done}/${hooks.length} done` }) : null);
    det.append(sum);
    if (op.message) det.append(el('p', { class: 'pre op-msg' + (['Failed', 'Error'].includes(op.phase) ? ' bad' : ''), text: op.message }));
    if (hooks.length) {
      det.append(el('div', { class: 'progress-row' },
        el('progress', { max: String(hooks.length), value: String(done), 'aria-label': 'Hooks done' }),
        el('span', { text: `${done} of ${hooks.length} hooks done` })));
    }
    if (res.length) {
      const look = (r) => {
        if (r.hookPhase) return phaseLook(r.hookPhase);
        if (/fail|error/i.test(r.status || '')) return ['bad', 'cross'];
        if (r.status === 'skipped') return ['muted', 'info'];
        return ['ok', 'check'];
      };
      det.append(el('div', { class: 'table-wrap' }, el('table', { class: 'ops' },
        el('thead', {}, el('tr', {}, ['Object', 'Hook type', 'Phase / result', 'Message'].map((h) => el('th', { scope: 'col', text: h })))),
        el('tbody', {}, res.map((r) => el('tr', { class: r.hookType ? 'hook' : '' },
          el('td', {}, kindBadge(r.kind), el('span', { text: ' ' + (r.namespace ? r.namespace + '/' : '') + r.name })),
          el('td', { text: r.hookType || '' }),
          el('td', {}, status(look(r), r.hookPhase || r.status || '')),
          el('td', { class: 'pre', text: r.message || '' })))))));
    }
    put(operation, det);
  };

  // ----- actions -----

  const showResult = (ok, text) => {
    resultEl.className = 'action-result ' + (ok ? 'ok' : 'bad');
    put(resultEl, icon(ok ? 'check' : 'alert'), el('span', { text }));
  };
  const runAction = async (verb, label, body) => {
    resultEl.className = 'action-result';
    put(resultEl, icon('spin', 'spin'), el('span', { text: label + '…' }));
    try {
      const r = await api(base + '/' + verb, { body });
      if (!alive()) return;
      showResult(true, label + ': ' + ((r && r.message) || 'done'));
    } catch (e) {
      if (!alive()) return;
      const why = e.status === 403 ? 'not allowed (' + e.message + ')' : e.status === 409 ? 'an operation is already running (' + e.message + ')' : e.message;
      showResult(false, label + ' failed: ' + why);
    }
    refresh();
  };
  const simpleAction = (verb, label, question) => {
    confirmDialog({
      title: label + ' ' + name, body: el('p', { text: question }), confirmText: label,
      confirmTestid: 'btn-' + verb + '-confirm', danger: verb === 'suspend',
      onConfirm: () => runAction(verb, label, {}),
    });
  };
  const openSync = () => {
    const prune = el('input', { type: 'checkbox', id: 'sync-prune' });
    const dry = el('input', { type: 'checkbox', id: 'sync-dry' });
    const objs = (s.app.resources || []).map((r) => ({ r, cb: el('input', { type: 'checkbox', checked: true }) }));
    const err = el('p', { class: 'bad', role: 'alert' });
    const all = el('button', { type: 'button', class: 'btn btn-small', text: 'All' });
    const none = el('button', { type: 'button', class: 'btn btn-small', text: 'None' });
    const oos = el('button', { type: 'button', class: 'btn btn-small', text: 'Out of sync only' });
    all.addEventListener('click', () => objs.forEach((o) => { o.cb.checked = true; }));
    none.addEventListener('click', () => objs.forEach((o) => { o.cb.checked = false; }));
    oos.addEventListener('click', () => objs.forEach((o) => { o.cb.checked = o.r.status === 'OutOfSync'; }));
    const body = el('div', {},
      el('div', { class: 'checks' },
        el('label', {}, prune, ' Prune (delete objects no longer in Git)'),
        el('label', {}, dry, ' Dry run (validate with the API server, change nothing)')),
      objs.length ? el('fieldset', { class: 'objects' },
        el('legend', {}, el('span', { text: `Objects (${objs.length}) ` }), all, none, oos),
        el('ul', { class: 'object-list' }, objs.map(({ r, cb }) => el('li', {}, el('label', {}, cb, ' ', kindBadge(r.kind),
          el('span', { text: ' ' + (r.namespace ? r.namespace + '/' : '') + r.name + ' ' }), syncStatus(r.status)))))) : el('p', { class: 'muted', text: 'Every object of the app will be synced.' }),
      err);
    confirmDialog({
      title: 'Sync ' + name, body, confirmText: 'Sync', confirmTestid: 'btn-sync-confirm',
      validate: () => {
        if (objs.length && !objs.some((o) => o.cb.checked)) { err.textContent = 'Select at least one object.'; return false; }
        return true;
      },
      onConfirm: () => {
        const picked = objs.filter((o) => o.cb.checked);
        const resources = picked.length === objs.length ? [] : picked.map(({ r }) => ({ group: r.group || '', kind: r.kind, namespace: r.namespace || '', name: r.name }));
        runAction('sync', dry.checked ? 'Sync (dry run)' : 'Sync', { prune: prune.checked, dryRun: dry.checked, resources });
      },
    });
  };

  // ----- tree -----

  const treeBox = el('div', { class: 'tree-box' });
  const panel = el('aside', { class: 'node-panel', 'aria-label': 'Object details', hidden: true });
  treePanel.append(treeBox, panel);

  const renderTree = () => {
    const nodes = s.nodes || [];
    if (!nodes.length) { put(treeBox, el('p', { class: 'muted', text: 'No objects.' })); return; }
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const kids = new Map();
    const roots = [];
    for (const n of nodes) {
      if (n.parent != null && byId.has(n.parent) && n.parent !== n.id) {
        if (!kids.has(n.parent)) kids.set(n.parent, []);
        kids.get(n.parent).push(n);
      } else roots.push(n);
    }
    const hadFocus = treeBox.contains(document.activeElement);
    if (!s.focusId || !byId.has(s.focusId)) s.focusId = roots[0].id;
    const seenIds = new Set();
    const item = (n, level) => {
      seenIds.add(n.id);
      const ch = (kids.get(n.id) || []).filter((c) => !seenIds.has(c.id));
      const open = !s.collapsed.has(n.id);
      const li = el('li', { role: 'treeitem', 'aria-level': String(level), tabindex: n.id === s.focusId ? '0' : '-1', 'aria-selected': n.id === s.selected ? 'true' : 'false', 'aria-expanded': ch.length ? String(open) : null, dataset: { id: n.id } });
      const h = n.health && n.health.status;
      li.append(el('div', { class: 'node-row' + (n.id === s.selected ? ' selected' : ''), 'data-testid': 'tree-node', 'data-kind': n.kind || '', 'data-name': n.name || '' },
        ch.length ? el('span', { class: 'twisty' + (open ? ' open' : ''), 'aria-hidden': 'true' }, icon('chevron')) : el('span', { class: 'twisty-none', 'aria-hidden': 'true' }),
        kindBadge(n.kind),
        el('span', { class: 'node-name', text: n.name || '' }),
        n.namespace && n.kind !== 'Application' ? el('span', { class: 'muted node-ns', text: n.namespace }) : null,
        el('span', { class: 'node-states' },
          h ? healthStatus(h, n.health.message ? { title: n.health.message } : null) : null,
          n.sync ? syncStatus(n.sync) : null),
        n.info ? el('span', { class: 'node-info', text: n.info }) : null));
      if (ch.length && open) li.append(el('ul', { role: 'group' }, ch.map((c) => item(c, level + 1))));
      return li;
    };
    const tree = el('ul', { role: 'tree', class: 'tree', 'aria-label': 'Resources of ' + name }, roots.map((r) => item(r, 1)));
    tree.addEventListener('keydown', treeKey);
    tree.addEventListener('click', (e) => {
      const li = e.target.closest('li[role=treeitem]');
      if (!li) return;
      e.stopPropagation();
      if (e.target.closest('.twisty')) { toggle(li.dataset.id); return; }
      focusNode(li.dataset.id);
      openNode(li.dataset.id);
    });
    // Children that could not be listed (RBAC, a cluster down) are named, not silently missing.
    const warns = (s.treeWarnings || []).map((w) => el('p', { class: 'note', text: typeof w === 'string' ? w : JSON.stringify(w) }));
    put(treeBox, warns, tree);
    if (hadFocus) { const f = tree.querySelector('li[tabindex="0"]'); if (f) f.focus({ preventScroll: true }); }
  };
  const visibleItems = () => [...treeBox.querySelectorAll('li[role=treeitem]')];
  const focusNode = (id) => {
    s.focusId = id;
    for (const li of visibleItems()) li.tabIndex = li.dataset.id === id ? 0 : -1;
    const li = visibleItems().find((x) => x.dataset.id === id);
    if (li) li.focus();
  };
  const toggle = (id, want) => {
    const open = !s.collapsed.has(id);
    if (want !== undefined && want === open) return;
    if (open) s.collapsed.add(id); else s.collapsed.delete(id);
    s.focusId = id;
    renderTree();
    focusNode(id);
  };
  const treeKey = (e) => {
    const li = e.target.closest('li[role=treeitem]');
    if (!li) return;
    const items = visibleItems();
    const i = items.indexOf(li);
    const id = li.dataset.id;
    const hasKids = li.hasAttribute('aria-expanded');
    let handled = true;
    switch (e.key) {
      case 'ArrowDown': if (i < items.length - 1) focusNode(items[i + 1].dataset.id); break;
      case 'ArrowUp': if (i > 0) focusNode(items[i - 1].dataset.id); break;
      case 'Home': focusNode(items[0].dataset.id); break;
      case 'End': focusNode(items[items.length - 1].dataset.id); break;
      case 'ArrowRight':
        if (hasKids && li.getAttribute('aria-expanded') === 'false') toggle(id, true);
        else if (hasKids) { const c = li.querySelector('ul li[role=treeitem]'); if (c) focusNode(c.dataset.id); }
        break;
      case 'ArrowLeft':
        if (hasKids && li.getAttribute('aria-expanded') === 'true') toggle(id, false);
        else { const p = li.parentElement.closest('li[role=treeitem]'); if (p) focusNode(p.dataset.id); }
        break;
      case 'Enter': case ' ': openNode(id); break;
      default: handled = false;
    }
    if (handled) { e.preventDefault(); e.stopPropagation(); }
  };

  // ----- node panel: Live / Diff / Events -----

  const openNode = (id) => {
    const n = (s.nodes || []).find((x) => x.id === id);
    if (!n) return;
    const again = s.selected === id;
    s.selected = id;
    for (const li of visibleItems()) {
      const on = li.dataset.id === id;
      li.setAttribute('aria-selected', on ? 'true' : 'false');
      li.firstChild.classList.toggle('selected', on);
    }
    if (!again || !s.panelTab) s.panelTab = n.sync === 'OutOfSync' ? 'diff' : 'live';
    s.panelData = null;
    panel.hidden = false;
    treePanel.classList.add('with-panel');
    renderPanel();
    loadNode(n);
  };
  const closePanel = () => {
    const id = s.selected;
    s.selected = null;
    s.panelData = null;
    panel.hidden = true;
    treePanel.classList.remove('with-panel');
    renderTree();
    if (id) focusNode(id);
  };
  const loadNode = async (n) => {
    if (!n) return;
    if (n.parent == null && n.kind === 'Application') {
      s.panelData = { live: toYamlish(s.app && s.app.spec), desired: null, diff: null, diffError: 'This is the Application itself: pick one of its objects to see a diff.', events: [], isApp: true };
      renderPanel();
      return;
    }
    const q = new URLSearchParams({ group: n.group || '', version: n.version || '', kind: n.kind || '', namespace: n.namespace || '', name: n.name || '' });
    const id = n.id;
    try {
      const r = (await api(base + '/resource?' + q.toString())) || {};
      if (!alive() || s.selected !== id) return;
      if (s.panelData && JSON.stringify(s.panelData) === JSON.stringify(r)) return;
      s.panelData = r;
    } catch (e) {
      if (!alive() || s.selected !== id) return;
      s.panelData = { error: e.message };
    }
    renderPanel();
  };
  const renderPanel = () => {
    const n = (s.nodes || []).find((x) => x.id === s.selected);
    if (!n) { if (!panel.hidden) closePanel(); return; }
    const close = el('button', { type: 'button', class: 'btn btn-icon', 'aria-label': 'Close details', title: 'Close' }, icon('close'));
    close.addEventListener('click', closePanel);
    const tab = (key, text) => {
      const b = el('button', { type: 'button', role: 'tab', class: 'tab', 'aria-selected': s.panelTab === key ? 'true' : 'false', 'data-testid': 'panel-tab-' + key, text });
      b.addEventListener('click', () => { s.panelTab = key; renderPanel(); });
      return b;
    };
    const d = s.panelData;
    let body;
    if (!d) body = el('p', { class: 'muted', text: 'Loading…' });
    else if (d.error) body = errorBox('Cannot load ' + n.kind + ' ' + n.name, d.error);
    else if (s.panelTab === 'live') body = d.live ? el('pre', { class: 'yaml', 'data-testid': 'live-panel', text: d.live }) : el('p', { class: 'muted', 'data-testid': 'live-panel', text: 'Not in the cluster.' });
    else if (s.panelTab === 'diff') body = diffView(d);
    else body = eventsView(d.events || []);
    put(panel, 
      el('div', { class: 'panel-head' }, kindBadge(n.kind), el('h2', { text: n.name }), close),
      el('div', { class: 'panel-sub' },
        el('span', { class: 'muted', text: [n.kind, n.namespace].filter(Boolean).join(' · ') }),
        n.health && n.health.status ? healthStatus(n.health.status) : null, n.sync ? syncStatus(n.sync) : null),
      n.health && n.health.message ? el('p', { class: 'pre muted small', text: n.health.message }) : null,
      el('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Object views' }, tab('live', 'Live'), tab('diff', 'Diff'), tab('events', 'Events')),
      el('div', { class: 'panel-body', role: 'tabpanel' }, body));
  };
  const diffView = (d) => {
    const wrap = el('div', { class: 'diff-wrap' });
    if (d.diffError) wrap.append(el('p', { class: 'note', text: d.diffError }));
    if (d.diff) wrap.append(diffPre(d.diff, 'diff-panel'));
    else if (!d.diffError) wrap.append(el('pre', { class: 'diff', 'data-testid': 'diff-panel', text: 'No differences: the live object matches Git.' }));
    else wrap.append(el('pre', { class: 'diff', 'data-testid': 'diff-panel', text: '' }));
    return wrap;
  };
  const eventsView = (evs) => {
    if (!evs.length) return el('p', { class: 'muted', 'data-testid': 'events-panel', text: 'No events.' });
    return el('div', { class: 'table-wrap' }, el('table', { class: 'events', 'data-testid': 'events-panel' },
      el('thead', {}, el('tr', {}, ['Type', 'Reason', 'Message', 'Count', 'Last seen'].map((h) => el('th', { scope: 'col', text: h })))),
      el('tbody', {}, evs.map((ev) => el('tr', {},
        el('td', {}, ev.type === 'Warning' ? status(['warn', 'alert'], 'Warning') : status(['muted', 'info'], ev.type || 'Normal')),
        el('td', { text: ev.reason || '' }), el('td', { class: 'pre', text: ev.message || '' }),
        el('td', { class: 'num', text: ev.count != null ? String(ev.count) : '' }), el('td', {}, timeEl(ev.lastTimestamp)))))));
  };

  // ----- history -----

  const histBox = el('div');
  const compareBtn = el('button', { type: 'button', class: 'btn', disabled: true, 'data-testid': 'btn-compare', text: 'Compare selected' });
  const compareOut = el('div', { class: 'compare-out' });
  histPanel.append(el('div', { class: 'hist-tools' }, compareBtn, el('span', { class: 'muted', text: 'Tick two entries to compare their rendered manifests.' })), histBox, compareOut);
  const updateCompare = () => {
    compareBtn.disabled = s.picked.length !== 2;
    compareBtn.textContent = `Compare selected (${s.picked.length}/2)`;
  };
  compareBtn.addEventListener('click', async () => {
    const entries = s.history || [];
    const idx = (id) => entries.findIndex((e) => String(e.id) === id);
    // Newest first: the entry further down the list is the older, the "from" side.
    const [a, b] = [...s.picked].sort((x, y) => idx(y) - idx(x));
    put(compareOut, el('p', { class: 'muted', text: 'Loading diff…' }));
    try {
      const r = await api(base + '/history/diff?' + new URLSearchParams({ from: a, to: b }).toString());
      if (!alive()) return;
      put(compareOut, el('h3', { text: `Changes from #${a} to #${b}` }),
        r && r.diff ? diffPre(r.diff, 'history-diff') : el('pre', { class: 'diff', 'data-testid': 'history-diff', text: 'The two revisions render the same manifests.' }));
    } catch (e) {
      if (!alive()) return;
      put(compareOut, errorBox('Cannot compare #' + a + ' and #' + b, e.message));
    }
  });
  const renderHistory = () => {
    const entries = s.history || [];
    s.picked = s.picked.filter((id) => entries.some((e) => String(e.id) === id));
    updateCompare();
    if (!entries.length) { put(histBox, el('p', { class: 'muted', text: 'Nothing deployed yet.' })); return; }
    const canPatch = s.app && s.app.canPatch;
    const current = s.app && s.app.summary && s.app.summary.revision;
    put(histBox, el('div', { class: 'table-wrap' }, el('table', { class: 'history' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, el('span', { class: 'sr-only', text: 'Compare' })),
        ['ID', 'Revision', 'Author', 'Message', 'Deployed', 'Result'].map((h) => el('th', { scope: 'col', text: h })),
        canPatch ? el('th', { scope: 'col' }, el('span', { class: 'sr-only', text: 'Actions' })) : null)),
      el('tbody', {}, entries.map((e, i) => {
        const id = String(e.id);
        const cb = el('input', { type: 'checkbox', id: 'pick-' + id, checked: s.picked.includes(id), 'aria-label': 'Select entry ' + id + ' to compare' });
        cb.addEventListener('change', () => {
          s.picked = s.picked.filter((x) => x !== id);
          if (cb.checked) s.picked.push(id);
          // Two at most: the earliest pick gives way.
          while (s.picked.length > 2) {
            const drop = s.picked.shift();
            const o = document.getElementById('pick-' + drop);
            if (o) o.checked = false;
          }
          updateCompare();
        });
        let rb = null;
        if (canPatch) {
          rb = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'btn-rollback', 'data-id': id }, icon('rollback'), el('span', { text: 'Rollback' }));
          rb.addEventListener('click', () => openRollback(e));
        }
        const live = i === 0 && current && e.revision === current;
        return el('tr', { 'data-testid': 'history-row', 'data-id': id },
          el('td', {}, cb),
          el('td', { class: 'num', text: '#' + id }),
          el('td', {}, el('code', { class: 'sha', title: e.revision || '', text: e.shortRevision || (e.revision || '').slice(0, 7) }), live ? el('span', { class: 'tag', text: 'current' }) : null),
          el('td', { text: e.author || '' }),
          el('td', { class: 'msg-cell', title: e.message || '', text: e.message || '' }),
          el('td', {}, timeEl(e.deployedAt)),
          el('td', {}, status(phaseLook(e.result || 'Succeeded'), e.result || 'Succeeded')),
          canPatch ? el('td', {}, rb) : null);
      })))));
  };
  const openRollback = (e) => {
    const prune = el('input', { type: 'checkbox', id: 'rb-prune' });
    confirmDialog({
      title: `Roll back ${name} to #${e.id}`,
      body: el('div', {},
        el('p', {}, 'Deploy revision ', el('code', { class: 'sha', text: e.shortRevision || (e.revision || '').slice(0, 7) }), e.message ? el('span', { text: ' “' + e.message + '”' }) : null, ' again?'),
        el('p', { class: 'note', text: 'Automated sync is turned off for this app, so Git does not overwrite the rollback.' }),
        el('div', { class: 'checks' }, el('label', {}, prune, ' Prune objects that revision does not have'))),
      confirmText: 'Roll back', confirmTestid: 'btn-rollback-confirm', danger: true,
      onConfirm: () => runAction('rollback', 'Rollback to #' + e.id, { id: Number.isFinite(Number(e.id)) ? Number(e.id) : e.id, prune: prune.checked }),
    });
  };

  // ----- loading -----

  const loadApp = async () => {
    try {
      const a = await api(base);
      if (!alive()) return;
      s.deleted = false;
      banner.replaceChildren();
      // Live updates re-read often: redraw only what changed (keeps elements stable for clicks).
      const same = s.app && JSON.stringify(s.app) === JSON.stringify(a);
      s.app = a;
      if (!same) renderHead();
    } catch (e) {
      if (!alive() || e.status === 401) return;
      if (e.status === 404) {
        put(head, errorBox('Application not found', `${ns}/${name} does not exist or you may not see it.`));
        actions.hidden = true;
        for (const x of [tabs, treePanel, histPanel, conditions, operation]) x.hidden = true;
      } else put(banner, errorBox('Cannot load the application', e.message));
    }
  };
  const loadTree = async () => {
    try {
      const t = await api(base + '/tree');
      if (!alive()) return;
      const nodes = (t && t.nodes) || [];
      const warnings = (t && t.warnings) || [];
      const same = s.nodes && JSON.stringify([s.nodes, s.treeWarnings]) === JSON.stringify([nodes, warnings]);
      s.nodes = nodes;
      s.treeWarnings = warnings;
      if (!same) renderTree();
      if (s.selected) {
        if (s.nodes.some((n) => n.id === s.selected)) {
          if (!same) renderPanel();
          loadNode(s.nodes.find((n) => n.id === s.selected));
        } else closePanel();
      }
    } catch (e) {
      if (!alive() || e.status === 401) return;
      put(treeBox, errorBox('Cannot load the resource tree', e.message));
    }
  };
  const loadHistory = async () => {
    try {
      const h = await api(base + '/history');
      if (!alive()) return;
      const entries = (h && h.entries) || [];
      const key = JSON.stringify([entries, s.app && s.app.canPatch, s.app && s.app.summary && s.app.summary.revision]);
      s.history = entries;
      if (key !== s.historyKey) { s.historyKey = key; renderHistory(); }
    } catch (e) {
      if (!alive() || e.status === 401) return;
      put(histBox, errorBox('Cannot load the history', e.message));
    }
  };
  const refresh = throttle(async () => {
    await loadApp();
    if (s.tab === 'tree') await loadTree(); else s.nodes = null;
    if (s.tab === 'history') await loadHistory(); else s.history = null;
  }, 300);

  subscribe((type, data) => {
    if (type === 'reconnect') { refresh(); return; }
    if (!data || data.group !== group || data.namespace !== ns || data.name !== name) return;
    if (type === 'delete') {
      s.deleted = true;
      put(banner, errorBox('Deleted', 'This application was deleted.'));
      return;
    }
    refresh();
  });
  // Pods come and go without the Application changing: re-read the tree now and then.
  const poll = setInterval(() => { if (s.tab === 'tree' && !document.hidden) loadTree(); }, 15000);
  onLeave(() => clearInterval(poll));

  setTab(s.tab);
  loadApp().then(() => { if (s.tab === 'history' && alive()) renderHistory(); });
}

// Kind badges: a short text per kind (text, so it reads without colour), coloured by family.
const KIND_ABBR = {
  Application: 'app', Deployment: 'deploy', ReplicaSet: 'rs', Pod: 'pod', Service: 'svc', ConfigMap: 'cm',
  Secret: 'secret', StatefulSet: 'sts', DaemonSet: 'ds', Job: 'job', CronJob: 'cron', Ingress: 'ing',
  ServiceAccount: 'sa', Namespace: 'ns', PersistentVolumeClaim: 'pvc', PersistentVolume: 'pv', Role: 'role',
  RoleBinding: 'rb', ClusterRole: 'crole', ClusterRoleBinding: 'crb', Endpoints: 'ep', EndpointSlice: 'eps',
  HorizontalPodAutoscaler: 'hpa', NetworkPolicy: 'netpol', CustomResourceDefinition: 'crd', ControllerRevision: 'rev',
};
const KIND_FAMILY = {
  Application: 'app', Deployment: 'work', ReplicaSet: 'work', Pod: 'pod', StatefulSet: 'work', DaemonSet: 'work',
  Job: 'work', CronJob: 'work', Service: 'net', Ingress: 'net', Endpoints: 'net', EndpointSlice: 'net', NetworkPolicy: 'net',
  ConfigMap: 'conf', Secret: 'conf', ServiceAccount: 'rbac', Role: 'rbac', RoleBinding: 'rbac', ClusterRole: 'rbac',
  ClusterRoleBinding: 'rbac', PersistentVolumeClaim: 'store', PersistentVolume: 'store',
};
function kindBadge(kind) {
  const k = kind || '?';
  const abbr = KIND_ABBR[k] || k.replace(/[a-z]/g, '').toLowerCase().slice(0, 4) || k.slice(0, 3).toLowerCase();
  return el('span', { class: 'kind kind-' + (KIND_FAMILY[k] || 'other'), title: k, 'aria-label': k, role: 'img' }, abbr);
}

// A unified diff with each line kept whole, +/- prefix included (the text carries the
// meaning; the colour only repeats it).
function diffPre(text, testid) {
  const pre = el('pre', { class: 'diff', 'data-testid': testid });
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    let cls = 'ctx';
    if (line.startsWith('+++') || line.startsWith('---')) cls = 'file';
    else if (line.startsWith('@@')) cls = 'hunk';
    else if (line.startsWith('+')) cls = 'add';
    else if (line.startsWith('-')) cls = 'del';
    else if (line.startsWith('diff ') || line.startsWith('===')) cls = 'file';
    pre.append(el('span', { class: 'dl ' + cls, text: line }), '\n');
  }
  return pre;
}

// The Application's spec for its own node: JSON, indented, is readable enough.
function toYamlish(obj) {
  if (!obj) return null;
  return JSON.stringify(obj, null, 2);
}

window.addEventListener('hashchange', route);
route();
