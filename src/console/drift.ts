/** Drift: the scorecard over time per system and field (charts), the latest run's numbers, open findings. */
import { ApiError, get, post } from './api.ts';
import { chart } from './chart.ts';
import { badge, button, customerLink, el, errorText, percent, say, section, status, table, when } from './dom.ts';

export async function driftPage(view: HTMLElement): Promise<void> {
  const [card, runs, findings] = await Promise.all([
    get('/v1/reconcile/scorecard', { query: { history: 30 } }),
    get('/v1/reconcile/runs', { query: { limit: 10 } }),
    get('/v1/reconcile/findings', { query: { status: 'open', limit: 50 } }),
  ]);
  const line = status('drift-status');
  view.append(el('h1', {}, 'Drift'), line);
  if (card.data.length === 0) {
    view.append(
      el('p', {}, 'No reconciliation run has finished yet (POST /v1/reconcile/runs or hearth reconcile run).'),
    );
    return;
  }
  // One chart per system: one line per field, drift rate per run over time.
  const systems = [...new Set(card.history.map((h) => h.system))].sort();
  const charts = systems.map((system) => {
    const rows = card.history.filter((h) => h.system === system);
    const times = [...new Set(rows.map((r) => r.computed_at))].sort();
    const fields = [...new Set(rows.map((r) => r.field))].sort();
    // One step per run (runs minutes or days apart read the same), labelled with its time.
    return chart({
      title: `${system}: share of records that drift from the canonical record, per field`,
      xs: times.map((_, i) => i),
      xLabels: times.map(runLabel),
      series: fields.map((field) => ({
        label: field,
        values: times.map((t) => {
          const r = rows.find((x) => x.field === field && x.computed_at === t);
          return r ? 100 * r.drift_rate : null;
        }),
      })),
      yLabel: '% drifted',
      fmt: (v) => `${v.toFixed(1)}%`,
    });
  });
  view.append(
    section('Over time', el('div', { class: 'grid2', id: 'drift-charts' }, ...charts)),
    section(
      'Latest scorecard',
      el(
        'div',
        { id: 'drift-latest' },
        table(
          'Latest scorecard per system and field',
          ['System', 'Field', 'Compared', 'Drifted', 'Drift rate', 'Format only', 'Run finished'],
          card.data.map((s) => [
            s.system,
            s.field,
            String(s.compared),
            String(s.drifted),
            percent(s.drift_rate),
            String(s.format_only),
            when(s.computed_at),
          ]),
        ),
      ),
    ),
    section(
      'Open findings',
      table(
        'Open findings',
        ['Customer', 'System', 'Field', 'Hearth has', 'System has', 'Policy', 'State', ''],
        findings.data.map((f) => [
          customerLink(f.customer_id),
          f.system,
          f.field,
          f.canonical_value,
          f.system_value,
          f.policy,
          badge(f.status),
          decideButtons(f.id, line),
        ]),
        'no open findings',
      ),
    ),
    section(
      'Recent runs',
      table(
        'Recent reconciliation runs',
        ['Started', 'State', 'Trigger', 'Systems', 'Records', 'Findings', 'Heal jobs'],
        runs.data.map((r) => [
          when(r.started_at),
          badge(r.status),
          r.trigger,
          r.systems.join(', '),
          String(r.records),
          String(r.findings),
          String(r.jobs),
        ]),
      ),
    ),
  );
}

const pad = (n: number) => String(n).padStart(2, '0');

function runLabel(iso: string): string {
  const d = new Date(iso);
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Heal (queue the corrective write) or dismiss an open finding (operator key). */
function decideButtons(id: string, line: HTMLElement): HTMLElement {
  const box = el('span', { class: 'actions' });
  const decide = (action: 'heal' | 'dismiss') => {
    for (const b of box.querySelectorAll('button')) b.disabled = true;
    post('/v1/reconcile/findings/{id}', { params: { id }, body: { action } })
      .then((f) => {
        say(line, `Finding ${action === 'heal' ? 'queued for healing' : 'dismissed'}.`);
        box.replaceWith(badge(f.status));
      })
      .catch((err: unknown) => {
        for (const b of box.querySelectorAll('button')) b.disabled = false;
        say(line, err instanceof ApiError ? `Not decided: ${err.message}` : errorText(err), true);
      });
  };
  box.append(
    button('Heal', () => decide('heal'), { 'data-action': 'heal' }),
    button('Dismiss', () => decide('dismiss'), { 'data-action': 'dismiss', class: 'secondary' }),
  );
  return box;
}
