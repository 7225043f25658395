// moor web UI: hash-routed pages over the JSON API in /api/v1 (see docs/ui-api.md).
// Plain DOM, no framework: the server's CSP forbids inline script/style and eval, so every
// element is built with createElement and text is always set as text (never parsed as HTML):
// app names, messages and manifests come from people who can push to a repo.
//
// Three plain scripts, loaded in this order by index.html (`defer`, so they run in order before
// DOMContentLoaded; their top-level names share one global scope):
//   app.js       the shell: helpers, API client, live events, router, login, dialogs;
//   apps.js      the apps list (#/);
//   app-page.js  one app (#/app/...): header, actions, tree, node panel, history.
// Routing starts on DOMContentLoaded, once every page function is defined.
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
  // The server fell behind and dropped changes for this stream: like a reconnect, every page
  // re-reads (the list, and the open app) rather than show a stale state.
  es.addEventListener('resync', () => { for (const f of live.subs) f('reconnect', null); });
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
      for (const values of Object.values(seen)) values.clear();
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

window.addEventListener('hashchange', route);
document.addEventListener('DOMContentLoaded', route);
