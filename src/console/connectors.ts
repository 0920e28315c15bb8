/** Connectors: each one's credential state, and on request the live checks against its system. */
import { ApiError, get, type GetOk } from './api.ts';
import { badge, button, el, errorText, say, section, status, table, when } from './dom.ts';

type Status = GetOk<'/v1/connectors/status'>;

export async function connectorsPage(view: HTMLElement): Promise<void> {
  const line = status('connectors-status');
  const checks = el('div', { id: 'connector-checks' });
  view.append(el('h1', {}, 'Connectors'), line);
  let s: Status;
  try {
    s = await get('/v1/connectors/status', { query: { checks: false } });
  } catch (err) {
    if (err instanceof ApiError && err.status === 403)
      return say(line, 'This page needs an operator or admin key.', true);
    throw err;
  }
  say(line, s.connectors.length ? `${s.connectors.length} connector(s) configured.` : 'No connector is configured.');
  const run = button(
    'Run live checks',
    () => {
      run.disabled = true;
      say(line, 'Checking each system (reach, credentials, scopes, properties, webhooks, clock)…');
      get('/v1/connectors/status', { query: { checks: true } })
        .then((live) => {
          say(line, live.ok ? 'All checks passed.' : 'Some checks failed: see what to fix below.', !live.ok);
          checks.replaceChildren(checksTable(live));
        })
        .catch((err: unknown) => say(line, errorText(err), true))
        .finally(() => (run.disabled = false));
    },
    { id: 'run-checks' },
  );
  view.append(
    section(
      'Credentials',
      el(
        'div',
        { id: 'connectors' },
        table(
          'Connectors and their credentials',
          ['Connector', 'Credential', 'Renews itself', 'Expires', 'Last renewed', 'Error'],
          s.connectors.map((c) => [
            c.name,
            c.auth ? badge(c.auth.state) : 'static',
            c.auth ? (c.auth.renewable ? 'yes' : 'no') : '',
            when(c.auth?.expires_at),
            when(c.auth?.last_renewed_at),
            c.auth?.error ?? '',
          ]),
          'no connectors configured',
        ),
      ),
    ),
    section('Health checks', el('p', {}, run), checks),
  );
}

function checksTable(s: Status): HTMLElement {
  return table(
    'Live checks',
    ['Connector', 'Check', 'Result', 'Detail', 'What to do'],
    s.checks.map((c) => [c.connector, c.check, badge(c.status), c.detail, c.fix ?? '']),
    'no checks for the configured connectors',
  );
}
