/**
 * A tiny DOM builder. Never sets `style` attributes or innerHTML: the panel's CSP has no
 * 'unsafe-inline', and every string from results.json goes in as text.
 */
type Child = Node | string | number | null | undefined | false;
type Attr = string | number | boolean | null | undefined | ((ev: Event) => void);

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, Attr> | null = null,
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'style') throw new Error('inline style attributes are not allowed by the CSP');
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v as EventListener);
    else if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el: Node, ...children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/**
 * A data table: a caption for screen readers, the header row(s) and the body rows. `head` is
 * one `<tr>` or several (grouped headers).
 */
export function dataTable(cls: string, caption: string, head: Child | Child[], body: Child | Child[]): HTMLTableElement {
  return h('table', { class: cls }, h('caption', { class: 'visually-hidden' }, caption), h('thead', null, head), h('tbody', null, body));
}

/** A secondary button of a section head (PNG / CSV export and the like); `label` defaults to the title. */
export function exportButton(title: string, onclick: () => void, text = 'PNG', label = title): HTMLButtonElement {
  return h('button', { type: 'button', class: 'btn secondary', title, 'aria-label': label, onclick }, text);
}
