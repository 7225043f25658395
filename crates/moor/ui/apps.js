// moor web UI, the apps list (#/): counts, filters, the paged table, live updates.
// Loaded after app.js (its helpers, API client and router); see app.js for the layout.
'use strict';

// The filter selects' values, each with its number of apps: the list response's per-value counts
// (over every app the caller may see, before the filters), else (count null) the values seen on
// pages so far. Kept while the page is left and revisited; cleared at login (a new identity).
const seen = { project: new Map(), namespace: new Map(), cluster: new Map() };

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

  const fillOptions = (sel, values, current) => {
    const label = (v) => (values.get(v) == null ? v : `${v} (${values.get(v)})`);
    const want = [...new Set([...values.keys(), ...(current ? [current] : [])])].sort().map((v) => [v, label(v)]);
    const have = [...sel.options].slice(1).map((o) => [o.value, o.textContent]);
    // Rebuilt only on a change: a rebuild closes the select if it is open.
    if (JSON.stringify(want) !== JSON.stringify(have)) {
      put(sel, el('option', { value: '', text: 'All' }), want.map(([v, text]) => el('option', { value: v, text })));
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
    for (const dim of ['project', 'namespace', 'cluster']) {
      const m = counts[dim];
      const values = seen[dim];
      // Every value with its count: values of deleted apps go away too.
      if (m && typeof m === 'object') {
        values.clear();
        for (const [k, n] of Object.entries(m)) values.set(k, n);
      }
      // An older server, or a value past the server's cap: at least the ones on this page.
      for (const a of items) if (a[dim] && !values.has(a[dim])) values.set(a[dim], null);
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
