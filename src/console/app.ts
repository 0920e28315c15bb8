/**
 * The console's entry module: sign-in with an API key (session storage only), hash routes
 * (`#/customers/<id>`: ids only, never a key or a search term in a URL) and the overview.
 * Each area is a module that draws into `<main id="view">`.
 */
import { ApiError, checkKey, get, session } from './api.ts';
import { el, errorText, link, nameOf, say, setNamer } from './dom.ts';
import { customerPage, customersPage } from './customers.ts';
import { householdPage, householdsPage } from './households.ts';
import { writebackPage } from './writeback.ts';
import { reviewPage } from './review.ts';
import { driftPage } from './drift.ts';
import { connectorsPage } from './connectors.ts';
import { governancePage } from './governance.ts';
import { erasuresPage } from './erasures.ts';

export type Page = (view: HTMLElement, arg: string) => Promise<void>;

const ROUTES: [RegExp, string, Page][] = [
  [/^#\/customers\/(.+)$/, 'Customer', customerPage],
  [/^#\/customers$/, 'Customers', customersPage],
  [/^#\/households\/(.+)$/, 'Household', householdPage],
  [/^#\/households$/, 'Households', householdsPage],
  [/^#\/writeback$/, 'Write-back', writebackPage],
  [/^#\/review$/, 'Identity review', reviewPage],
  [/^#\/drift$/, 'Drift', driftPage],
  [/^#\/connectors$/, 'Connectors', connectorsPage],
  [/^#\/governance$/, 'Governance', governancePage],
  [/^#\/erasures$/, 'Erasures', erasuresPage],
];

const $ = <T extends HTMLElement>(sel: string) => document.querySelector<T>(sel)!;
let overview: Node[] = [];
let drawing = 0;

function markNav(hash: string): void {
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    const href = a.getAttribute('href') ?? '';
    const current = href === '#/' ? hash === '#/' || hash === '' : hash.startsWith(href);
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function render(): Promise<void> {
  const run = ++drawing;
  const hash = location.hash || '#/';
  const view = $('#view');
  // Tests and scripts wait for this: the page for `hash` is drawn.
  view.removeAttribute('data-ready');
  markNav(hash);
  const route = ROUTES.find(([re]) => re.test(hash));
  if (!route || !session.key()) {
    view.replaceChildren(...overview.map((n) => n.cloneNode(true)));
    document.title = 'Hearth console';
    if (route)
      view.prepend(el('p', { class: 'status err', role: 'status' }, 'Sign in with an API key to open this page.'));
    else if (session.key()) {
      view.querySelector('#signin-hint')?.remove();
      view.append(signedInLinks());
    }
    view.setAttribute('data-ready', hash);
    return;
  }
  const [re, title, page] = route;
  document.title = `${title} · Hearth console`;
  const body = el('div', { class: 'loading' }, 'Loading…');
  view.replaceChildren(body);
  try {
    const next = el('div');
    await page(next, decodeURIComponent(re.exec(hash)?.[1] ?? ''));
    if (run !== drawing) return;
    view.replaceChildren(...next.childNodes);
  } catch (err) {
    if (run !== drawing) return;
    if (err instanceof ApiError && err.status === 401) signOut('That API key is no longer accepted; sign in again.');
    view.replaceChildren(
      el('h1', { tabindex: '-1' }, title),
      el('p', { class: 'status err', role: 'status' }, errorText(err)),
    );
  }
  view.setAttribute('data-ready', hash);
  view.querySelector<HTMLElement>('h1')?.setAttribute('tabindex', '-1');
  if (document.activeElement === document.body || document.activeElement?.closest('nav'))
    view.querySelector<HTMLElement>('h1')?.focus();
}

function signedInLinks(): HTMLElement {
  return el(
    'section',
    { class: 'card', 'aria-labelledby': 'go-h' },
    el('h2', { id: 'go-h' }, 'Where to look'),
    el(
      'ul',
      { class: 'go' },
      el('li', {}, link('#/customers', 'Customers'), ' — search by name, e-mail, phone or postcode'),
      el('li', {}, link('#/writeback', 'Write-back'), ' — lag, the sync-window SLO, late and dead jobs to re-drive'),
      el('li', {}, link('#/review', 'Identity review'), ' — pairs and households waiting for a decision'),
      el('li', {}, link('#/drift', 'Drift'), ' — how far each system is from the canonical record, over time'),
      el('li', {}, link('#/connectors', 'Connectors'), ' — credentials and live checks'),
      el('li', {}, link('#/governance', 'Governance'), ' — runtime flags, shadow mode, quality review'),
      el('li', {}, link('#/erasures', 'Erasures'), ' — each system’s confirmation, retries, held webhooks'),
    ),
  );
}

function showSignedIn(on: boolean): void {
  $('#sign-out').hidden = !on;
  $('#sign-in').hidden = on;
  $<HTMLInputElement>('#api-key').hidden = on;
  document.querySelector('label[for="api-key"]')?.toggleAttribute('hidden', on);
  say($('#key-status'), on ? 'Signed in (key kept for this tab only)' : '');
}

function signOut(message = ''): void {
  session.clear();
  showSignedIn(false);
  say($('#key-status'), message, message !== '');
}

function start(): void {
  setNamer((id) => get('/v1/customers/{id}', { params: { id } }).then((c) => nameOf(c)));
  overview = [...$('#view').childNodes].map((n) => n.cloneNode(true));
  showSignedIn(session.key() !== null);
  $('#key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>('#api-key');
    const key = input.value.trim();
    if (!key) return say($('#key-status'), 'Type an API key first.', true);
    checkKey(key)
      .then(() => {
        session.set(key);
        input.value = '';
        showSignedIn(true);
        return render();
      })
      .catch((err: unknown) =>
        say(
          $('#key-status'),
          err instanceof ApiError && err.status === 401 ? `Not signed in: ${err.message}` : errorText(err),
          true,
        ),
      );
  });
  $('#sign-out').addEventListener('click', () => {
    signOut();
    void render();
    $<HTMLInputElement>('#api-key').focus();
  });
  window.addEventListener('hashchange', () => void render());
  void render();
}

start();
