/**
 * Small DOM helpers. Every value reaches the page as text (`textContent`, attributes), never as
 * HTML: customer data cannot inject markup.
 */
export type Child = Node | string | number | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    e.setAttribute(k, v === true ? '' : v);
  }
  append(e, children);
  return e;
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

/** A table with a caption (for screen readers), in a scrolling box so the page never widens. */
export function table(caption: string, headers: string[], rows: Child[][], empty = 'none'): HTMLElement {
  const t = el('table', {}, el('caption', { class: 'vh' }, caption));
  t.append(el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { scope: 'col' }, h)))));
  const body = el('tbody');
  if (rows.length === 0)
    body.append(el('tr', {}, el('td', { colspan: String(headers.length), class: 'empty' }, empty)));
  for (const r of rows) body.append(el('tr', {}, ...r.map((c) => el('td', {}, c))));
  t.append(body);
  return el('div', { class: 'scroll', role: 'region', 'aria-label': caption, tabindex: '0' }, t);
}

export function section(title: string, ...children: Child[]): HTMLElement {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return el('section', { 'aria-labelledby': id, class: 'card' }, el('h2', { id }, title), ...children);
}

export function link(href: string, text: string): HTMLAnchorElement {
  return el('a', { href }, text);
}

export function button(text: string, onClick: () => void, attrs: Record<string, string> = {}): HTMLButtonElement {
  const b = el('button', { type: 'button', ...attrs }, text);
  b.addEventListener('click', onClick);
  return b;
}

/** A state as a word with a colour (the word carries the meaning, the colour only helps). */
export function badge(state: string): HTMLElement {
  return el('span', { class: `badge b-${state.replace(/[^a-z_]/g, '')}` }, state.replaceAll('_', ' '));
}

/** A status line announced to screen readers. */
export function status(id: string): HTMLElement {
  return el('p', { id, class: 'status', role: 'status' });
}

export function say(target: HTMLElement | null, message: string, isError = false): void {
  if (!target) return;
  target.textContent = message;
  target.classList.toggle('err', isError);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `2026-12-01 04:12` in the operator's time zone; the exact time in the title. */
export function when(iso: string | null | undefined): HTMLElement | string {
  if (!iso) return '';
  const d = new Date(iso);
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const text = `${day} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return el('time', { datetime: iso, title: iso }, text);
}

export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return '';
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function percent(r: number | null | undefined): string {
  return r === null || r === undefined ? '' : `${(100 * r).toFixed(1)}%`;
}

interface Named {
  given_name?: string | null;
  family_name?: string | null;
  email?: string | null;
}

export function nameOf(c: Named): string {
  return [c.given_name, c.family_name].filter(Boolean).join(' ') || c.email || '(no name)';
}

/** Names already looked up, per id (customers do not change name while a page is open). */
const names = new Map<string, Promise<string>>();

/**
 * The link to a customer's page, named by the person, not by the id: without a label, it shows
 * a short id first and the name once looked up (`namer`, set by the app: one GET per id, cached).
 */
export function customerLink(id: string | null | undefined, label?: string): Child {
  if (!id) return '';
  const a = link(`#/customers/${encodeURIComponent(id)}`, label ?? `customer …${id.slice(-6)}`);
  if (label === undefined && namer) {
    const lookup = namer;
    if (!names.has(id))
      names.set(
        id,
        lookup(id).catch(() => ''),
      );
    void names.get(id)!.then((name) => {
      if (name) a.textContent = name;
    });
  }
  return a;
}

let namer: ((id: string) => Promise<string>) | null = null;

/** How customer links learn a name (the app passes an API call; dom.ts knows no API). */
export function setNamer(f: (id: string) => Promise<string>): void {
  namer = f;
}

/** Short form of an id for tables (the full id in the title and for copying). */
export function shortId(id: string): HTMLElement {
  return el('code', { title: id }, `…${id.slice(-8)}`);
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
