/**
 * A small DOM for drawing the panel's views in Node tests, without a browser: elements
 * (HTML and SVG) with attributes, `dataset`, `classList`, children, text, listeners and
 * `querySelector(All)` for the selectors the tests use (tag, `.class`, `[attr]`,
 * `[attr="value"]`, compounds of them, and descendant combinators). Canvases have no 2D
 * context (chart.js then skips drawing; the views' test hooks still say what they hold);
 * every element is `width` px wide (`clientWidth`), so the views lay themselves out.
 *
 * `installDom()` puts `document`, `window`, `ResizeObserver`, `requestAnimationFrame` and the
 * like on globalThis, and returns a function that takes them off again.
 */

type Listener = (ev: unknown) => void;

export class FakeNode {
  parentNode: FakeElement | null = null;
  constructor(public nodeType: number) {}
  get textContent(): string {
    return '';
  }
}

export class FakeText extends FakeNode {
  constructor(public data: string) {
    super(3);
  }
  override get textContent(): string {
    return this.data;
  }
}

const toAttr = (k: string) => 'data-' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
const fromAttr = (a: string) => a.slice(5).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

export class FakeElement extends FakeNode {
  readonly attributes = new Map<string, string>();
  readonly childNodes: FakeNode[] = [];
  private listeners = new Map<string, Listener[]>();
  readonly style: Record<string, string> = {};
  value = '';
  checked = false;
  disabled = false;
  tabIndex = -1;
  readonly dataset: Record<string, string>;
  readonly classList: { add(c: string): void; remove(c: string): void; toggle(c: string, on?: boolean): void; contains(c: string): boolean };

  constructor(
    readonly tagName: string,
    readonly namespaceURI: string | null,
    readonly ownerWidth: { width: number },
  ) {
    super(1);
    const attrs = this.attributes;
    this.dataset = new Proxy({} as Record<string, string>, {
      get: (_t, k) => (typeof k === 'string' ? attrs.get(toAttr(k)) : undefined),
      set: (_t, k, v) => (attrs.set(toAttr(String(k)), String(v)), true),
      deleteProperty: (_t, k) => (attrs.delete(toAttr(String(k))), true),
      has: (_t, k) => attrs.has(toAttr(String(k))),
      ownKeys: () => [...attrs.keys()].filter((a) => a.startsWith('data-')).map(fromAttr),
      getOwnPropertyDescriptor: (_t, k) => (attrs.has(toAttr(String(k))) ? { enumerable: true, configurable: true, value: attrs.get(toAttr(String(k))) } : undefined),
    });
    const classes = () => (attrs.get('class') ?? '').split(/\s+/).filter(Boolean);
    const setClasses = (c: string[]) => attrs.set('class', c.join(' '));
    this.classList = {
      add: (c) => setClasses([...new Set([...classes(), c])]),
      remove: (c) => setClasses(classes().filter((x) => x !== c)),
      toggle: (c, on) => ((on ?? !classes().includes(c)) ? this.classList.add(c) : this.classList.remove(c)),
      contains: (c) => classes().includes(c),
    };
  }

  get localName(): string {
    return this.tagName.toLowerCase();
  }
  get className(): string {
    return this.attributes.get('class') ?? '';
  }
  set className(v: string) {
    this.attributes.set('class', v);
  }
  get id(): string {
    return this.attributes.get('id') ?? '';
  }
  get hidden(): boolean {
    return this.attributes.has('hidden');
  }
  set hidden(v: boolean) {
    if (v) this.attributes.set('hidden', '');
    else this.attributes.delete('hidden');
  }
  get clientWidth(): number {
    return this.ownerWidth.width;
  }
  get width(): number {
    return Number(this.attributes.get('width') ?? 300);
  }
  set width(v: number) {
    this.attributes.set('width', String(v));
  }
  get height(): number {
    return Number(this.attributes.get('height') ?? 150);
  }
  set height(v: number) {
    this.attributes.set('height', String(v));
  }
  setAttribute(k: string, v: string): void {
    this.attributes.set(k, String(v));
  }
  getAttribute(k: string): string | null {
    return this.attributes.get(k) ?? null;
  }
  hasAttribute(k: string): boolean {
    return this.attributes.has(k);
  }
  removeAttribute(k: string): void {
    this.attributes.delete(k);
  }
  addEventListener(type: string, f: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), f]);
  }
  removeEventListener(type: string, f: Listener): void {
    this.listeners.set(type, (this.listeners.get(type) ?? []).filter((x) => x !== f));
  }
  /** Calls the listeners of `type` with a minimal event. */
  dispatch(type: string, init: Record<string, unknown> = {}): void {
    const ev = { type, target: this, preventDefault() {}, stopPropagation() {}, ...init };
    for (const f of this.listeners.get(type) ?? []) f(ev);
  }
  click(): void {
    this.dispatch('click');
  }
  focus(): void {}
  private ctx2d?: unknown;
  /** A 2D context that accepts every call and draws nothing (measureText: 7 px a character). */
  getContext(): unknown {
    if (this.localName !== 'canvas') return null;
    const canvas = this;
    this.ctx2d ??= new Proxy({} as Record<string | symbol, unknown>, {
      get(t, k) {
        if (k === 'canvas') return canvas;
        if (k === 'measureText') return (s: string) => ({ width: String(s).length * 7, actualBoundingBoxAscent: 8, actualBoundingBoxDescent: 2 });
        if (k === 'getImageData' || k === 'createImageData') return (_x: number, _y: number, w = 1, h = 1) => ({ data: new Uint8ClampedArray(w * h * 4), width: w, height: h });
        if (k === 'getTransform') return () => ({ a: 1, d: 1 });
        if (k in t) return t[k];
        return () => undefined;
      },
      set(t, k, v) {
        t[k] = v;
        return true;
      },
    });
    return this.ctx2d;
  }
  get ownerDocument(): unknown {
    return (globalThis as { document?: unknown }).document;
  }
  toDataURL(): string {
    return 'data:image/png;base64,';
  }
  appendChild<T extends FakeNode>(c: T): T {
    c.parentNode?.removeChild(c);
    this.childNodes.push(c);
    c.parentNode = this;
    return c;
  }
  append(...cs: (FakeNode | string)[]): void {
    for (const c of cs) this.appendChild(typeof c === 'string' ? new FakeText(c) : c);
  }
  removeChild<T extends FakeNode>(c: T): T {
    const i = this.childNodes.indexOf(c);
    if (i >= 0) this.childNodes.splice(i, 1);
    c.parentNode = null;
    return c;
  }
  get firstChild(): FakeNode | null {
    return this.childNodes[0] ?? null;
  }
  get children(): FakeElement[] {
    return this.childNodes.filter((c): c is FakeElement => c instanceof FakeElement);
  }
  override get textContent(): string {
    return this.childNodes.map((c) => c.textContent).join('');
  }
  set textContent(v: string) {
    for (const c of [...this.childNodes]) this.removeChild(c);
    if (v) this.appendChild(new FakeText(v));
  }
  closest(sel: string): FakeElement | null {
    for (let e: FakeElement | null = this; e; e = e.parentNode) if (matches(e, sel)) return e;
    return null;
  }
  querySelectorAll(sel: string): FakeElement[] {
    const out: FakeElement[] = [];
    const walk = (e: FakeElement) => {
      for (const c of e.children) {
        if (sel.split(',').some((one) => matchesChain(c, one.trim(), this))) out.push(c);
        walk(c);
      }
    };
    walk(this);
    return out;
  }
  querySelector(sel: string): FakeElement | null {
    return this.querySelectorAll(sel)[0] ?? null;
  }
  getBoundingClientRect() {
    return { left: 0, top: 0, width: this.clientWidth, height: 0, right: this.clientWidth, bottom: 0 };
  }
}

/** One compound selector: tag, #id, .class, [attr], [attr="v"]. */
function matches(e: FakeElement, sel: string): boolean {
  const re = /([a-zA-Z][\w-]*)|#([\w-]+)|\.([\w-]+)|\[([\w-]+)(?:="([^"]*)")?\]/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(sel))) {
    consumed += m[0].length;
    if (m[1] && e.localName !== m[1].toLowerCase()) return false;
    if (m[2] && e.id !== m[2]) return false;
    if (m[3] && !e.classList.contains(m[3])) return false;
    if (m[4] && (m[5] === undefined ? !e.hasAttribute(m[4]) : e.getAttribute(m[4]) !== m[5])) return false;
  }
  if (consumed !== sel.length) throw new Error(`test DOM: unsupported selector ${sel}`);
  return true;
}

/** A descendant chain "a b c": the last part matches e, the others some ancestors below `root`, in order. */
function matchesChain(e: FakeElement, sel: string, root: FakeElement): boolean {
  const parts = sel.split(/\s+/);
  if (!matches(e, parts[parts.length - 1])) return false;
  let i = parts.length - 2;
  for (let a = e.parentNode; a && a !== root && i >= 0; a = a.parentNode) if (matches(a, parts[i])) i--;
  return i < 0;
}

/** Installs the DOM on globalThis; every element is `width` px wide. Returns the uninstaller. */
export function installDom(width = 900): { body: FakeElement; uninstall: () => void } {
  const size = { width };
  const g = globalThis as Record<string, unknown>;
  const names = ['document', 'window', 'ResizeObserver', 'MutationObserver', 'requestAnimationFrame', 'cancelAnimationFrame', 'devicePixelRatio'];
  const saved = names.map((n) => [n, Object.getOwnPropertyDescriptor(g, n)] as const);
  const body = new FakeElement('BODY', null, size);
  const computed = () => ({ getPropertyValue: () => '', maxWidth: 'none', maxHeight: 'none', paddingLeft: '0px', paddingRight: '0px', paddingTop: '0px', paddingBottom: '0px', borderLeftWidth: '0px', borderRightWidth: '0px', borderTopWidth: '0px', borderBottomWidth: '0px', boxSizing: 'content-box', width: `${size.width}px`, height: '300px' });
  const window = { addEventListener() {}, removeEventListener() {}, devicePixelRatio: 1, getComputedStyle: computed };
  const document = {
    body,
    defaultView: window,
    activeElement: null,
    createElement: (tag: string) => new FakeElement(tag.toUpperCase(), null, size),
    createElementNS: (ns: string, tag: string) => new FakeElement(tag, ns, size),
    createTextNode: (t: string) => new FakeText(t),
    getElementById: (id: string) => body.querySelector(`#${id}`),
    addEventListener() {},
  };
  const defs: Record<string, unknown> = {
    document,
    window,
    ResizeObserver: class {
      observe() {}
      unobserve() {}
      disconnect() {}
    },
    MutationObserver: class {
      observe() {}
      disconnect() {}
      takeRecords() {
        return [];
      }
    },
    requestAnimationFrame: (f: () => void) => (setImmediate(f), 1),
    cancelAnimationFrame: () => {},
    devicePixelRatio: 1,
  };
  for (const [k, v] of Object.entries(defs)) Object.defineProperty(g, k, { value: v, configurable: true, writable: true });
  return {
    body,
    uninstall: () => {
      for (const [n, d] of saved) {
        if (d) Object.defineProperty(g, n, d);
        else delete g[n];
      }
    },
  };
}
