/**
 * Revert from a customer's change history: always a dry run first (what would change, or the
 * conflicts), then applied only on the operator's confirmation. The server decides the role
 * (dry run: anyone; one change or event: operator) and says so in a 403 shown as text.
 */
import { ApiError, post, type Schemas } from './api.ts';
import { append, button, customerLink, el, errorText, table, type Child } from './dom.ts';

type Result = Schemas['RevertResult'];
type Conflict = Result['conflicts'][number];
/**
 * What to revert: one field change (`changes[].id`), every change of one event, a reconciliation
 * run's heals, everything one source wrote (optionally in a window), or a window for some customers.
 */
export type Target =
  | { change: string }
  | { event: string }
  | { run: string }
  | { source: string; since?: string; until?: string }
  | { customers: string[]; since?: string; until?: string };

const span = (t: { since?: string; until?: string }) =>
  (t.since ? ` since ${t.since}` : '') + (t.until ? ` until ${t.until}` : '');

function words(t: Target): string {
  if ('change' in t) return 'this change';
  if ('event' in t) return 'this event’s changes';
  if ('run' in t) return 'this run’s heals';
  if ('source' in t) return `what ${t.source} wrote${span(t)}`;
  return `these customers’ changes${span(t)}`;
}
const field = (f: string) => f.replaceAll('_', ' ');
const value = (v: string | null) => v ?? el('span', { class: 'muted' }, 'empty');

/**
 * Draws the dry run of `target` into `panel` (a live region), with Apply / Cancel; `done` runs
 * after an applied revert (the page redraws its history).
 */
export async function showRevert(
  panel: HTMLElement,
  target: Target,
  opener: HTMLElement,
  done: (message: string) => void,
): Promise<void> {
  panel.hidden = false;
  panel.replaceChildren(el('p', { class: 'loading' }, 'Checking what the revert would change…'));
  let dry: Result;
  try {
    dry = await post('/v1/revert', { body: { ...target, dry_run: true } });
  } catch (err) {
    panel.replaceChildren(heading(target), failure('Dry run failed', err), closeButton(panel, opener));
    panel.querySelector('h3')?.focus();
    return;
  }
  const close = closeButton(panel, opener);
  const parts: Child[] = [heading(target), el('p', {}, summary(dry, target))];
  if (dry.steps.length) parts.push(stepsTable(dry));
  if (dry.conflicts.length) parts.push(conflictsTable(dry.conflicts, 'Newer changes in the way (conflicts)'));
  if (dry.unsupported.length)
    parts.push(
      el('p', { class: 'muted' }, `Not revertible here: ${dry.unsupported.map((u) => field(u.field)).join(', ')}.`),
    );
  const result = el('div', { class: 'revert-result' });
  const actions = el('div', { class: 'actions' });
  if (dry.steps.length > 0) {
    const skip = dry.conflicts.length > 0;
    const apply = button(
      skip ? 'Revert the rest, skip conflicts' : 'Apply revert',
      () => {
        apply.disabled = true;
        post('/v1/revert', { body: { ...target, dry_run: false, ...(skip ? { skip_conflicts: true } : {}) } })
          .then((r) => {
            const queued = r.jobs ? `, ${r.jobs} write(s) queued` : '';
            const msg = `Reverted ${r.steps.length} field(s) as new changes${queued}.`;
            actions.remove();
            result.replaceChildren(el('p', { class: 'status', role: 'status' }, msg));
            done(msg);
          })
          .catch((err: unknown) => {
            apply.disabled = false;
            result.replaceChildren(failure('Not reverted', err));
          });
      },
      { id: 'revert-apply' },
    );
    actions.append(apply);
  }
  actions.append(close);
  parts.push(actions, result);
  panel.replaceChildren();
  append(panel, parts);
  panel.querySelector('h3')?.focus();
}

function heading(t: Target): HTMLElement {
  const [what, id] =
    'change' in t
      ? ['change', t.change]
      : 'event' in t
        ? ['event', t.event]
        : 'run' in t
          ? ['reconciliation run', t.run]
          : 'source' in t
            ? ['source', t.source]
            : ['customers', t.customers.join(', ')];
  const window = 'change' in t || 'event' in t || 'run' in t ? '' : span(t);
  return el('h3', { tabindex: '-1' }, `Revert ${what} `, el('code', {}, id), window);
}

function summary(dry: Result, target: Target): string {
  if (dry.selected === 0) return `Nothing to revert: ${words(target)} matched no field changes.`;
  if (dry.steps.length === 0 && dry.conflicts.length)
    return `Cannot revert ${words(target)}: every field has a newer change (listed below).`;
  const conflicts = dry.conflicts.length ? `; ${dry.conflicts.length} field(s) have newer changes and stay` : '';
  return `Dry run, nothing written yet: ${dry.steps.length} field(s) would be set back${conflicts}.`;
}

function stepsTable(dry: Result): HTMLElement {
  return el(
    'div',
    { id: 'revert-steps' },
    table(
      'Fields the revert would set back',
      ['Customer', 'Field', 'Now', 'Back to', 'Restores'],
      dry.steps.map((s) => [
        customerLink(s.customer_id),
        field(s.field),
        value(s.from),
        value(s.to),
        s.restore_source ?? '',
      ]),
    ),
  );
}

function conflictsTable(conflicts: Conflict[], caption: string): HTMLElement {
  return el(
    'div',
    { class: 'revert-conflicts' },
    table(
      caption,
      ['Customer', 'Field', 'Newer value', 'Written by', 'When'],
      conflicts.map((c) => [
        customerLink(c.customer_id),
        field(c.field),
        value(c.newer.new_value),
        c.newer.actor === c.newer.source_system
          ? c.newer.source_system
          : `${c.newer.actor} via ${c.newer.source_system}`,
        // `changed_at` is epoch milliseconds in the conflict shape.
        new Date(c.newer.changed_at).toLocaleString(),
      ]),
    ),
  );
}

/** An error as words; a 409's conflicts as a table (the server wrote nothing). */
function failure(prefix: string, err: unknown): HTMLElement {
  const box = el('div', { class: 'revert-error' });
  box.append(el('p', { class: 'status err', role: 'status' }, `${prefix}: ${errorText(err)}`));
  if (err instanceof ApiError && err.status === 403)
    box.append(
      el(
        'p',
        {},
        'Applying a revert needs an operator key (a change, an event or a run) or an admin key (a source or a ' +
          'window); the dry run needs none.',
      ),
    );
  const conflicts = err instanceof ApiError ? (err.details.conflicts as Conflict[] | undefined) : undefined;
  if (conflicts?.length) box.append(conflictsTable(conflicts, 'Conflicts: fields changed since'));
  return box;
}

function closeButton(panel: HTMLElement, opener: HTMLElement): HTMLButtonElement {
  return button(
    'Close',
    () => {
      panel.hidden = true;
      panel.replaceChildren();
      if (opener.isConnected) opener.focus();
    },
    { class: 'secondary' },
  );
}
