// moor web UI, one app (#/app/{group}/{ns}/{name}): header and actions, conditions, the
// running operation, the resource tree and its node panel (Live / Diff / Events), history.
// Loaded after app.js and apps.js; see app.js for the layout.
'use strict';

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
