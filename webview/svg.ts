/**
 * A tiny SVG builder and the PNG export of an SVG chart. Like dom.ts it never sets a
 * `style` attribute (the CSP has no 'unsafe-inline'): colours go in as presentation
 * attributes (`fill`, `stroke`), which also makes the exported picture look like the
 * panel without any stylesheet.
 */
const NS = 'http://www.w3.org/2000/svg';

type Attr = string | number | boolean | null | undefined | ((ev: Event) => void);
type Child = Node | string | number | null | undefined | false;

export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, Attr> | null = null,
  ...children: (Child | Child[])[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'style') throw new Error('inline style attributes are not allowed by the CSP');
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v as EventListener);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return el;
}

/**
 * Renders an SVG element to a PNG data URL on an opaque `background`, at `scale` × its
 * viewBox size. Focus rings and hover states (CSS) are not part of the picture.
 */
export function svgToPng(svg: SVGSVGElement, background: string, scale = 2): Promise<string> {
  const vb = svg.viewBox.baseVal;
  const w = Math.max(1, Math.round((vb?.width || svg.clientWidth || 600) * scale));
  const hgt = Math.max(1, Math.round((vb?.height || svg.clientHeight || 400) * scale));
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.setAttribute('xmlns', NS);
  clone.setAttribute('width', String(w));
  clone.setAttribute('height', String(hgt));
  clone.removeAttribute('class');
  const text = new XMLSerializer().serializeToString(clone);
  const url = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(text);
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const canvas = document.createElement('canvas');
      canvas.width = w;
      canvas.height = hgt;
      const ctx = canvas.getContext('2d');
      if (!ctx) return reject(new Error('no 2D canvas'));
      ctx.fillStyle = background;
      ctx.fillRect(0, 0, w, hgt);
      ctx.drawImage(img, 0, 0, w, hgt);
      resolve(canvas.toDataURL('image/png'));
    };
    img.onerror = () => reject(new Error('the chart could not be rendered as an image'));
    img.src = url;
  });
}

/** A canvas as a PNG data URL on an opaque background (the canvas itself may be transparent). */
export function canvasToPng(canvas: HTMLCanvasElement, background: string): string {
  const out = document.createElement('canvas');
  out.width = canvas.width;
  out.height = canvas.height;
  const ctx = out.getContext('2d');
  if (!ctx) return canvas.toDataURL('image/png');
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(canvas, 0, 0);
  return out.toDataURL('image/png');
}
