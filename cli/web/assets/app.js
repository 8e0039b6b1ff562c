// SPDX-License-Identifier: MIT
// spmi web's dashboard: the list (event `list` of /api/events), one manageable's status
// (/api/manageables/<id>), its output (event `log`) and the actions (POST .../<action>).
// Everything from the server is inserted as text (textContent, createElement): a comment or a line of
// output never becomes markup.
'use strict';

const k_log_max = 256 * 1024; // characters kept in the output pane; older ones are dropped
const k_state_words = ['active', 'restarting', 'inactive', 'pending', 'failed', 'unknown'];

const ui = {
  selected: null, // the ID shown in the detail view, or null
  stream: 'stdout',
  events: null, // the EventSource
  csrf: null,
  rows: new Map(), // ID -> <tr>
  statusSeq: 0, // drops status answers that a newer request overtook
  lastEntry: '', // the selected manageable's list entry, serialized: refetch status when it changes
};

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// As the CLI prints them (cli/commands.cpp format_bytes, format_uptime, format_delta).
function formatBytes(bytes) {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit + 1 < units.length) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${bytes}B`;
  return value < 10 ? `${value.toFixed(1)}${units[unit]}` : `${value.toFixed(0)}${units[unit]}`;
}

function formatUptime(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function formatTime(iso) {
  if (!iso) return '-';
  // Local time as `spmi status` prints it: 2026-12-03 10:33:16.
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const two = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
         `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function exitText(exit) {
  if (!exit) return '-';
  return exit.signal ? `${exit.code} (killed by ${exit.signal})` : String(exit.code);
}

// The state word in the CLI's colour (cli/render.cpp paint_state): a class per state.
function paintState(node, state) {
  node.textContent = state;
  node.className = 'state ' + (k_state_words.includes(state) ? `state-${state}` : 'state-unknown');
}

// ---- the list -------------------------------------------------------------------------------

function cell(row, label, className) {
  const td = el('td', className);
  td.dataset.label = label;
  row.appendChild(td);
  return td;
}

function newRow(id) {
  const row = el('tr');
  row.dataset.id = id;
  const link = el('a', 'id', id);
  link.href = '#task=' + encodeURIComponent(id);
  cell(row, 'ID', 'col-id').appendChild(link);
  cell(row, 'State', 'col-state').appendChild(el('span', 'state'));
  cell(row, 'CPU', 'num col-cpu');
  cell(row, 'Memory', 'num col-mem');
  cell(row, 'Uptime', 'num col-uptime');
  cell(row, 'Restarts', 'num col-restarts');
  cell(row, 'Comment', 'col-comment');
  return row;
}

function fillRow(row, m) {
  const cells = row.children;
  paintState(cells[1].firstChild, m.state);
  const use = m.resources;
  cells[2].textContent = use ? `${use.cpu_percent.toFixed(1)}%` : '-';
  cells[3].textContent = use ? formatBytes(use.memory_bytes) : '-';
  cells[4].textContent = m.uptime_seconds === null ? '-' : formatUptime(m.uptime_seconds);
  cells[5].textContent = String(m.restarts);
  cells[6].textContent = m.error ? `error: ${m.error}` : m.comment;
  row.classList.toggle('selected', m.id === ui.selected);
}

function renderList(doc) {
  const body = $('task-rows');
  const seen = new Set();
  let previous = null;
  for (const m of doc.manageables) {
    seen.add(m.id);
    let row = ui.rows.get(m.id);
    if (!row) {
      row = newRow(m.id);
      ui.rows.set(m.id, row);
    }
    fillRow(row, m);
    const wanted = previous ? previous.nextSibling : body.firstChild;
    if (wanted !== row) body.insertBefore(row, wanted);
    previous = row;
    if (m.id === ui.selected) selectedChanged(m);
  }
  for (const [id, row] of ui.rows) {
    if (!seen.has(id)) {
      row.remove();
      ui.rows.delete(id);
    }
  }
  $('count').textContent = `(${doc.manageables.length})`;
  $('empty').hidden = doc.manageables.length !== 0;
  if (ui.selected && !seen.has(ui.selected)) showResult(`${ui.selected} is no longer loaded`, true);
}

// ---- one manageable -------------------------------------------------------------------------

function selectedChanged(m) {
  paintState($('detail-state'), m.state);
  const key = JSON.stringify([m.state, m.pid, m.restarts, m.exit, m.last_exit, m.started_at, m.error]);
  if (key !== ui.lastEntry) {
    ui.lastEntry = key;
    loadStatus();
  }
}

function addField(list, key, value) {
  if (value === null || value === undefined || value === '') return;
  list.appendChild(el('dt', null, key));
  list.appendChild(el('dd', null, value));
}

function renderStatus(m) {
  $('detail-id').textContent = m.id;
  paintState($('detail-state'), m.state);
  $('detail-comment').textContent = m.comment;
  const list = $('fields');
  list.replaceChildren();
  addField(list, 'Type', m.type);
  addField(list, 'Active', `${m.state} since ${formatTime(m.started_at || m.finished_at || m.loaded_at)}`);
  addField(list, 'Error', m.error);
  addField(list, 'Path', m.path);
  for (const f of m.fields || []) addField(list, f.key, f.value);
  addField(list, 'Working directory', m.cwd);
  addField(list, 'PID', m.pid === null ? '-' : String(m.pid));
  addField(list, 'Wrapper PID', m.wrapper_pid === null ? null : String(m.wrapper_pid));
  addField(list, 'Host', m.host);
  if (m.backend) addField(list, 'Launch', `${m.backend.type} ${m.backend.id}`);
  const use = m.resources;
  if (use) {
    addField(list, 'Resources', `CPU ${use.cpu_percent.toFixed(1)}%, memory ${formatBytes(use.memory_bytes)}, ` +
             `${use.processes} process${use.processes === 1 ? '' : 'es'}, ${use.cpu_seconds.toFixed(1)} s CPU time`);
  }
  addField(list, 'Uptime', m.uptime_seconds === null ? null : formatUptime(m.uptime_seconds));
  addField(list, 'Exit code', exitText(m.exit));
  const last = m.last_exit;
  const lastText = last ? exitText(last) + (last.reason ? `; ${last.reason}` : '') +
                          (last.at ? ` at ${formatTime(last.at)}` : '') : '-';
  addField(list, 'Restarts', `${m.restarts} (last exit: ${lastText})`);
  addField(list, 'Next attempt', m.next_attempt ? formatTime(m.next_attempt) : null);
  addField(list, 'Loaded', m.loaded_at ? formatTime(m.loaded_at) : null);
  addField(list, 'Launched', m.launched_at ? formatTime(m.launched_at) : null);
  addField(list, 'Finished', m.finished_at ? formatTime(m.finished_at) : null);
  addField(list, 'Note', m.note);
}

async function loadStatus() {
  const id = ui.selected;
  if (!id) return;
  const seq = ++ui.statusSeq;
  try {
    const response = await fetch('/api/manageables/' + encodeURIComponent(id), { credentials: 'same-origin' });
    const doc = await response.json();
    if (seq !== ui.statusSeq || id !== ui.selected) return;
    if (!response.ok) {
      showResult(doc.error || `status of ${id}: HTTP ${response.status}`, true);
      return;
    }
    renderStatus(doc.manageables ? doc.manageables[0] : doc);
  } catch (err) {
    if (seq === ui.statusSeq) showResult(`status of ${id}: ${err.message}`, true);
  }
}

// ---- actions --------------------------------------------------------------------------------

function showResult(text, failed) {
  const node = $('result');
  node.textContent = text;
  node.hidden = false;
  node.classList.toggle('failed', Boolean(failed));
}

async function session() {
  if (ui.csrf) return ui.csrf;
  const response = await fetch('/api/session', { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`no session (HTTP ${response.status}): open the URL spmi web printed`);
  ui.csrf = (await response.json()).csrf;
  return ui.csrf;
}

function confirmAction(action, id) {
  const dialog = $('confirm');
  $('confirm-text').textContent = action === 'kill'
    ? `Kill ${id}? Its processes get SIGKILL at once.`
    : `Stop ${id}? It gets its stop signal, then SIGKILL after its stop_timeout.`;
  $('confirm-ok').textContent = action === 'kill' ? 'Kill' : 'Stop';
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    $('confirm-cancel').focus();
  });
}

async function act(action) {
  const id = ui.selected;
  if (!id) return;
  if ((action === 'stop' || action === 'kill') && !(await confirmAction(action, id))) return;
  const buttons = document.querySelectorAll('button[data-action]');
  buttons.forEach((b) => { b.disabled = true; });
  showResult(`${action} ${id}…`, false);
  try {
    const csrf = await session();
    const response = await fetch(`/api/manageables/${encodeURIComponent(id)}/${action}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-Spmi-Csrf': csrf, 'X-Spmi': '1' },
      body: '{}',
    });
    let doc = {};
    try { doc = await response.json(); } catch (_) { /* not JSON: said below */ }
    if (response.status === 403) ui.csrf = null; // the session may have changed: ask again next time
    const exit = doc.exit === undefined ? `HTTP ${response.status}` : `exit ${doc.exit}`;
    const message = (doc.message || doc.error || '').trim();
    showResult(`${action} ${id}: ${exit}${message ? ' — ' + message : ''}`, !response.ok || doc.exit !== 0);
  } catch (err) {
    showResult(`${action} ${id}: ${err.message}`, true);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    loadStatus();
  }
}

// ---- output and live events -----------------------------------------------------------------

function appendLog(text) {
  const pane = $('log');
  const atEnd = pane.scrollTop + pane.clientHeight >= pane.scrollHeight - 4;
  let all = pane.textContent + text;
  if (all.length > k_log_max) all = all.slice(all.length - k_log_max);
  pane.textContent = all;
  if ($('follow').checked && atEnd) pane.scrollTop = pane.scrollHeight;
}

function setLive(on, text) {
  document.body.dataset.live = on ? '1' : '0';
  const live = $('live');
  live.textContent = text;
  live.classList.toggle('on', on);
}

function onEvent(type, handler) {
  ui.events.addEventListener(type, (e) => {
    let data;
    try { data = JSON.parse(e.data); } catch (_) { return; }
    handler(data);
  });
}

async function probe() {
  let status = 0;
  try { status = (await fetch('/api/session', { credentials: 'same-origin' })).status; } catch (_) { /* down */ }
  if (status === 200) {
    ui.csrf = null;
    connect();
    return;
  }
  if (status === 401 || status === 403) setLive(false, 'not logged in: open the URL that spmi web printed');
  setTimeout(probe, status ? 5000 : 2000);
}

function connect() {
  if (ui.events) ui.events.close();
  let url = '/api/events';
  if (ui.selected) url += `?log=${encodeURIComponent(ui.selected)}&stream=${ui.stream}`;
  ui.events = new EventSource(url);
  // The server re-sends the output's tail on each (re)connection: start the pane afresh.
  ui.events.addEventListener('open', () => { $('log').textContent = ''; setLive(true, 'live'); });
  ui.events.addEventListener('error', () => {
    setLive(false, 'reconnecting…');
    // EventSource retries by itself after a network error, but gives up on an HTTP error (401 after
    // spmi web restarted with a new token): find out which and say what to do.
    if (ui.events.readyState === EventSource.CLOSED) probe();
  });
  onEvent('list', renderList);
  onEvent('log', (d) => { if (d.id === ui.selected && d.stream === ui.stream) appendLog(d.text); });
  onEvent('skipped', (d) => {
    if (d.id === ui.selected && d.stream === ui.stream) appendLog(`\n[… ${d.bytes} bytes skipped …]\n`);
  });
  ui.events.addEventListener('bye', () => {
    ui.events.close();
    setLive(false, 'spmi web stopped');
  });
}

// ---- navigation -----------------------------------------------------------------------------

function route() {
  const match = /^#task=(.+)$/.exec(location.hash);
  let id = null;
  if (match) {
    try { id = decodeURIComponent(match[1]); } catch (_) { id = null; }
  }
  if (id === ui.selected) return;
  ui.selected = id;
  ui.lastEntry = '';
  $('detail').hidden = id === null;
  $('result').hidden = true;
  $('fields').replaceChildren();
  $('log').textContent = '';
  $('detail-id').textContent = id || '';
  $('detail-state').textContent = '';
  $('detail-comment').textContent = '';
  for (const [rowId, row] of ui.rows) row.classList.toggle('selected', rowId === id);
  document.body.classList.toggle('has-detail', id !== null);
  connect();
  if (id) loadStatus();
}

function start() {
  document.querySelectorAll('button[data-action]').forEach((b) => {
    b.addEventListener('click', () => act(b.dataset.action));
  });
  $('stream').addEventListener('change', () => {
    ui.stream = $('stream').value;
    $('log').textContent = '';
    connect();
  });
  window.addEventListener('hashchange', route);
  route();
  if (!ui.events) connect();
}

document.addEventListener('DOMContentLoaded', start);
