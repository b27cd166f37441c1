/**
 * Colours of the panel, read from VS Code's CSS variables at draw time.
 *
 * VS Code defines `--vscode-*` variables on the webview's <html> and toggles
 * `vscode-light` / `vscode-dark` / `vscode-high-contrast(-light)` on <body>; the offline
 * report defines the same variables itself (media/panel.css, light and dark). Charts are
 * canvas, so they cannot follow CSS by themselves: `observeTheme` tells the caller when to
 * read the colours again and redraw.
 */

export interface Theme {
  kind: 'light' | 'dark' | 'high-contrast';
  fg: string;
  bg: string;
  muted: string;
  border: string;
  grid: string;
  focus: string;
  /** Chart colours in the order splits and classes use them. */
  series: string[];
  /** The theme's chart colours by name (each falls back to the text colour). */
  charts: Record<ChartColor, string>;
  font: string;
  fontSize: number;
}

export type ChartColor = 'blue' | 'orange' | 'green' | 'purple' | 'red' | 'yellow';

const SERIES_VARS = [
  '--vscode-charts-blue',
  '--vscode-charts-orange',
  '--vscode-charts-green',
  '--vscode-charts-purple',
  '--vscode-charts-red',
  '--vscode-charts-yellow',
];

function cssVar(style: CSSStyleDeclaration, name: string): string {
  return style.getPropertyValue(name).trim();
}

/** Reads the current colours. Each falls back to another VS Code variable, then to the page's text colour. */
export function readTheme(): Theme {
  const style = getComputedStyle(document.body);
  const pageFg = style.color || 'CanvasText';
  const pick = (...names: string[]) => {
    for (const n of names) {
      const v = cssVar(style, n);
      if (v) return v;
    }
    return '';
  };
  const fg = pick('--vscode-charts-foreground', '--vscode-editor-foreground', '--vscode-foreground') || pageFg;
  const bg = pick('--vscode-editor-background') || style.backgroundColor || 'Canvas';
  const muted = pick('--vscode-descriptionForeground') || fg;
  const border = pick('--vscode-panel-border', '--vscode-contrastBorder') || withAlpha(fg, 0.3);
  const grid = pick('--vscode-charts-lines') || withAlpha(fg, 0.15);
  const focus = pick('--vscode-focusBorder', '--vscode-contrastActiveBorder') || fg;
  const series = SERIES_VARS.map((v) => cssVar(style, v)).filter(Boolean);
  const cls = document.body.classList;
  const kind: Theme['kind'] =
    cls.contains('vscode-high-contrast') || cls.contains('vscode-high-contrast-light')
      ? 'high-contrast'
      : cls.contains('vscode-light')
        ? 'light'
        : cls.contains('vscode-dark')
          ? 'dark'
          : luminance(bg) > 0.5
            ? 'light'
            : 'dark';
  const font = cssVar(style, '--vscode-font-family') || style.fontFamily || 'sans-serif';
  const fontSize = parseFloat(cssVar(style, '--vscode-font-size')) || parseFloat(style.fontSize) || 13;
  const chart = (name: ChartColor) => cssVar(style, `--vscode-charts-${name}`) || fg;
  const charts: Record<ChartColor, string> = {
    blue: chart('blue'),
    orange: chart('orange'),
    green: chart('green'),
    purple: chart('purple'),
    red: chart('red'),
    yellow: chart('yellow'),
  };
  return { kind, fg, bg, muted, border, grid, focus, series: series.length ? series : [fg], charts, font, fontSize };
}

/**
 * Colour of the i-th series (split, class, shift family). The theme has six chart colours; the
 * next six are the same hues mixed 45 % toward the text colour (lighter on a dark theme, darker
 * on a light one), the six after that toward the background, so that up to 18 series (the ten
 * shift families, a run with many splits) never share a colour.
 */
export function seriesColor(theme: Theme, i: number): string {
  const n = theme.series.length;
  const j = Math.max(0, Math.floor(i));
  const base = theme.series[j % n];
  const cycle = Math.floor(j / n) % 3;
  if (cycle === 0) return base;
  const [r, g, b] = toRgb(base);
  const [tr, tg, tb] = toRgb(cycle === 1 ? theme.fg : theme.bg);
  const mix = (x: number, y: number) => Math.round(x + 0.45 * (y - x));
  return `rgb(${mix(r, tr)}, ${mix(g, tg)}, ${mix(b, tb)})`;
}

// ---------------------------------------------------------------- colour arithmetic

let probe: CanvasRenderingContext2D | null = null;

/** [r, g, b, a] (0-255, 0-1) of any CSS colour the canvas understands; null if it does not. */
export function parseColor(color: string): [number, number, number, number] | null {
  let c = color.trim();
  const hex = /^#([0-9a-f]{3,8})$/i.exec(c);
  if (!hex) {
    const rgb = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)$/i.exec(c);
    if (rgb) {
      const a = rgb[4] === undefined ? 1 : rgb[4].endsWith('%') ? parseFloat(rgb[4]) / 100 : parseFloat(rgb[4]);
      return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3]), a];
    }
    // named colours, hsl(), color-mix()…: let the canvas normalise it
    if (!probe) probe = document.createElement('canvas').getContext('2d');
    if (!probe) return null;
    probe.fillStyle = '#010203';
    probe.fillStyle = c;
    const norm = String(probe.fillStyle);
    if (norm === '#010203' && c.toLowerCase() !== '#010203') return null;
    if (norm.startsWith('#')) c = norm;
    else return parseColor(norm);
  }
  let h = c.slice(1);
  if (h.length === 3 || h.length === 4) h = [...h].map((x) => x + x).join('');
  if (h.length !== 6 && h.length !== 8) return null;
  const n = (i: number) => parseInt(h.slice(i, i + 2), 16);
  return [n(0), n(2), n(4), h.length === 8 ? n(6) / 255 : 1];
}

/** The colour with its alpha multiplied by `a`. */
export function withAlpha(color: string, a: number): string {
  const p = parseColor(color);
  if (!p) return color;
  return `rgba(${p[0]}, ${p[1]}, ${p[2]}, ${+(p[3] * a).toFixed(3)})`;
}

/** [r, g, b] of a CSS colour (alpha dropped; grey when the colour cannot be read). */
export function toRgb(color: string): [number, number, number] {
  const p = parseColor(color);
  return p ? [p[0], p[1], p[2]] : [128, 128, 128];
}

/**
 * Colour stops of the panel's "good → bad" scale, from the theme's chart colours: blue
 * (better), yellow, red (worse). Used by The U and the confidence overlay, with its legend.
 */
export function scaleStops(theme: Theme): [number, number, number][] {
  return [toRgb(theme.charts.blue), toRgb(theme.charts.yellow), toRgb(theme.charts.red)];
}

/**
 * A diverging scale's three stops (low end, the usual middle, high end): purple and orange
 * (apart for the common colour-vision deficiencies) around a grey half-way between the
 * background and the muted text, so "usual" reads as quiet, not as good.
 */
export function divergingStops(theme: Theme): [number, number, number][] {
  const bg = toRgb(theme.bg);
  const mu = toRgb(theme.muted);
  const mid = [0, 1, 2].map((k) => Math.round(bg[k] * 0.65 + mu[k] * 0.35)) as [number, number, number];
  return [toRgb(theme.charts.purple), mid, toRgb(theme.charts.orange)];
}

function luminance(color: string): number {
  const p = parseColor(color);
  if (!p) return 1;
  return (0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2]) / 255;
}

// ---------------------------------------------------------------- change notification

/**
 * Calls `onChange` (at most once per frame) when the theme may have changed: the body's
 * class list (VS Code switching themes) or the OS colour scheme (the offline report).
 * Returns a function that stops observing.
 */
export function observeTheme(onChange: () => void): () => void {
  let pending = false;
  let lastClass = document.body.className;
  const fire = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      onChange();
    });
  };
  const mo = new MutationObserver(() => {
    if (document.body.className === lastClass) return;
    lastClass = document.body.className;
    fire();
  });
  mo.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  // VS Code also rewrites the variables on <html style> when only the colours change.
  const mo2 = new MutationObserver(fire);
  mo2.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  const mq = window.matchMedia?.('(prefers-color-scheme: dark)');
  mq?.addEventListener?.('change', fire);
  return () => {
    mo.disconnect();
    mo2.disconnect();
    mq?.removeEventListener?.('change', fire);
  };
}
