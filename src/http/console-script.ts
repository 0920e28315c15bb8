/**
 * The console's browser script, served inline by `renderConsole`. It only calls the public `/v1`
 * API with the operator's own key (kept in sessionStorage, never sent anywhere else), so the
 * console has no privileges of its own: a readonly key can look, an operator key can re-drive.
 * Every value reaches the page through textContent, never as HTML.
 */
export const CONSOLE_SCRIPT = `
const $ = (s) => document.querySelector(s);
const keyInput = $('#api-key');
keyInput.value = sessionStorage.getItem('hearth_api_key') || '';

async function api(path, method, payload) {
  const headers = { authorization: 'Bearer ' + keyInput.value };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch('/v1' + path, {
    method: method || 'GET',
    headers,
    body: payload === undefined ? undefined : JSON.stringify(payload)
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((body.error && body.error.message) || 'HTTP ' + res.status);
  return body;
}

function el(tag, text, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function row(cells) {
  const tr = el('tr');
  for (const c of cells) {
    const td = el('td');
    if (c instanceof Node) td.append(c);
    else td.textContent = c === null || c === undefined ? '' : String(c);
    tr.append(td);
  }
  return tr;
}

function say(where, message, isError) {
  const p = $(where);
  p.textContent = message;
  p.className = isError ? 'err' : 'ok';
}

async function loadDead() {
  const body = $('#dead-body');
  try {
    const { data } = await api('/jobs?status=dead&limit=100');
    body.replaceChildren();
    if (data.length === 0) body.append(row(['no dead letters']));
    for (const j of data) {
      const button = el('button', 'Re-drive', { 'data-job': j.id });
      button.addEventListener('click', () => redrive(j.id));
      body.append(row([j.id, j.target, j.customer_id, j.attempts, j.last_error_kind, j.last_error, button]));
    }
    say('#dead-status', data.length + ' dead letter(s)', false);
  } catch (err) {
    say('#dead-status', err.message, true);
  }
}

async function redrive(id) {
  try {
    await api('/jobs/' + encodeURIComponent(id) + '/retry', 'POST');
    await loadDead();
    say('#dead-status', 'job ' + id + ' queued again', false);
  } catch (err) {
    say('#dead-status', err.message, true);
  }
}

let searchAfter = null;

/** Customers matching the search box (name, e-mail, phone, postcode), a page at a time. */
async function searchCustomers(q, more) {
  const list = $('#customer-results');
  if (!more) { list.replaceChildren(); $('#customer').replaceChildren(); searchAfter = null; }
  try {
    const page = await api('/customers?limit=25&q=' + encodeURIComponent(q) +
      (more && searchAfter ? '&after=' + encodeURIComponent(searchAfter) : ''));
    searchAfter = page.next_after;
    $('#customer-more').hidden = !searchAfter;
    if (!more && page.data.length === 0) return say('#customer-status', 'no customer matches ' + q, true);
    if (!more && page.data.length === 1 && !searchAfter) return showCustomer(page.data[0].id);
    say('#customer-status', list.children.length + page.data.length + ' shown' + (searchAfter ? ', more below' : ''));
    for (const c of page.data) {
      const b = el('button', person(c), { type: 'button', class: 'link' });
      b.addEventListener('click', () => showCustomer(c.id));
      const a = c.address || {};
      list.append(row([b, c.phone, [a.city, a.region, a.postal_code].filter(Boolean).join(' ')]));
    }
  } catch (err) {
    say('#customer-status', err.message, true);
  }
}

/** The customer page: record with per-field source, systems' copies, history, household and ledger. */
async function showCustomer(id) {
  const out = $('#customer');
  out.replaceChildren();
  try {
    const c = await api('/customers/' + encodeURIComponent(id));
    say('#customer-status', [c.given_name, c.family_name].filter(Boolean).join(' ') + ' · ' + c.id, false);
    const a = c.address || {};
    out.append(el('p', [c.given_name, c.family_name].filter(Boolean).join(' ') + ' <' + (c.email || '') + '>'));
    out.append(el('p',
      'Address of record: ' + [a.line1, a.line2, a.city, a.region, a.postal_code].filter(Boolean).join(', ') +
      (a.source ? ' (from ' + a.source + ')' : '')));
    out.append(el('p', c.household_id
      ? 'Household ' + c.household_id + ' (' + c.hierarchy_role + ', points pooling ' +
        (c.points_aggregation_opt_in ? 'on' : 'off') + ') · tier ' + (c.tier || 'none') +
        ' · own points ' + c.points_balance
      : 'No household · tier ' + (c.tier || 'none') + ' · own points ' + c.points_balance,
      { id: 'customer-household' }));
    const links = el('table', null, { id: 'customer-links' });
    links.append(row(['system', 'external id', 'linked at']));
    for (const l of c.source_records) links.append(row([l.system, l.external_id, l.linked_at]));
    const changes = el('table', null, { id: 'customer-changes' });
    changes.append(row(['when', 'field', 'old', 'new', 'source']));
    for (const ch of c.changes)
      changes.append(row([ch.changed_at, ch.field, ch.old_value, ch.new_value, ch.source_system]));
    out.append(el('h3', 'Source records'), wrap(links), el('h3', 'Change history'), wrap(changes));
    if (c.household_id) out.append(...(await householdPart(c.household_id)));
    out.append(...(await ledgerPart(c.household_id && c.points_aggregation_opt_in ? c.household_id : c.id)));
  } catch (err) {
    say('#customer-status', err.message, true);
  }
}

function wrap(table) {
  const d = el('div', null, { class: 'scroll' });
  d.append(table);
  return d;
}

async function householdPart(id) {
  const h = await api('/households/' + encodeURIComponent(id));
  const t = el('table', null, { id: 'household-members' });
  t.append(row(['member', 'role', 'points pooling', 'since']));
  for (const m of h.members)
    t.append(row([[m.given_name, m.family_name].filter(Boolean).join(' ') + ' <' + (m.email || '') + '>',
      m.hierarchy_role, m.points_aggregation_opt_in ? 'on' : 'off', m.valid_from]));
  return [el('h3', 'Household ' + (h.name || h.id) + ' · pool ' + h.pool_balance + ' points · tier ' +
    (h.tier || 'none')), wrap(t)];
}

async function ledgerPart(account) {
  const l = await api('/loyalty/accounts/' + encodeURIComponent(account) + '/entries?limit=50');
  const t = el('table', null, { id: 'ledger' });
  t.append(row(['when', 'kind', 'points', 'order', 'by', 'reason']));
  for (const e of l.data)
    t.append(row([e.occurred_at, e.kind, e.points, e.order_name || e.order_id, e.actor || e.source, e.reason]));
  return [el('h3', 'Ledger (' + l.kind + ' account, balance ' + l.balance + ')'), wrap(t)];
}

function person(c) {
  return c.missing
    ? c.id + ' (gone)'
    : [c.given_name, c.family_name].filter(Boolean).join(' ') + ' <' + (c.email || '') + '> ' + c.id;
}

function why(item) {
  const e = item.explanation;
  if (!e) return '';
  const held = e.guard ? 'held back: ' + e.guard + '; ' : '';
  if (Array.isArray(e.fields))
    return held + e.fields.map((f) => f.field + ' ' + f.level + ' (' + Number(f.weight).toFixed(1) + ')').join(', ');
  return JSON.stringify(e);
}

async function loadReview() {
  const body = $('#review-body');
  try {
    const { data } = await api('/review?limit=100');
    body.replaceChildren();
    if (data.length === 0) body.append(row(['nothing waiting']));
    for (const item of data) {
      const actions = el('span');
      for (const [decision, label] of [['link', 'Link'], ['not_a_match', 'Not a match']]) {
        const b = el('button', label, { 'data-review': item.id, 'data-decision': decision });
        b.addEventListener('click', () => decide(item.id, decision));
        actions.append(b, ' ');
      }
      const people = el('span');
      for (const c of item.customers) people.append(el('div', person(c)));
      body.append(row([
        item.id, item.kind, item.score === null ? '' : Number(item.score).toFixed(3), people, why(item), actions
      ]));
    }
    say('#review-status', data.length + ' item(s) waiting', false);
  } catch (err) {
    say('#review-status', err.message, true);
  }
}

async function decide(id, decision) {
  try {
    await api('/review/' + encodeURIComponent(id), 'POST', { decision });
    await loadReview();
    say('#review-status', 'item ' + id + ': ' + decision, false);
  } catch (err) {
    say('#review-status', err.message, true);
  }
}

async function loadDrift() {
  const body = $('#drift-body');
  try {
    const { data } = await api('/reconcile/scorecard');
    body.replaceChildren();
    if (data.length === 0) body.append(row(['no reconciliation run yet']));
    for (const s of data)
      body.append(row([
        s.system, s.field, s.compared, s.drifted, (100 * s.drift_rate).toFixed(1) + '%', s.format_only
      ]));
    say('#drift-status', data.length ? 'from run ' + data[0].run_id : '', false);
  } catch (err) {
    say('#drift-status', err.message, true);
  }
}

function loadAll() {
  loadDead();
  loadReview();
  loadDrift();
}

$('#key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem('hearth_api_key', keyInput.value);
  loadAll();
});
$('#customer-more').addEventListener('click', () => searchCustomers($('#customer-q').value.trim(), true));
$('#customer-form').addEventListener('submit', (e) => {
  e.preventDefault();
  searchCustomers($('#customer-q').value.trim(), false);
});
if (keyInput.value) loadAll();
`;
