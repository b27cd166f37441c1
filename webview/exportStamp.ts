/**
 * Exports that stand alone (issue 11): every exported PNG carries, above the picture, its
 * title and what it shows — model, split, tap (and image) — so a figure pasted into a slide
 * or a paper still says what it is.
 */
import { baseName } from './format';
import type { ViewContext } from './views/context';
import { shortTapName } from '../src/protocol/names';

export interface Caption {
  title: string;
  split?: string;
  tap?: string;
  /** More, e.g. the image id or the metric. */
  extra?: string;
}

/** The caption's second line: model · split · tap · extra. */
export function captionLine(model: string, c: Caption): string {
  return [
    `model ${model}`,
    c.split ? `split ${c.split}` : null,
    c.tap ? `tap ${shortTapName(c.tap)}` : null,
    c.extra ?? null,
  ]
    .filter((x): x is string => !!x)
    .join(' · ');
}

/** The PNG with a header band holding the caption, in the theme's colours. */
export async function stampPng(dataUrl: string, caption: Caption, model: string, colours: { bg: string; fg: string; muted: string; font: string }): Promise<string> {
  const img = new Image();
  await new Promise<void>((resolve, reject) => {
    img.onload = () => resolve();
    img.onerror = () => reject(new Error('could not read the picture'));
    img.src = dataUrl;
  });
  const size = Math.max(12, Math.min(30, Math.round(img.width / 55)));
  const pad = Math.round(size * 0.8);
  const head = pad + size * 1.3 + size * 1.2 + pad * 0.6;
  const canvas = document.createElement('canvas');
  canvas.width = img.width;
  canvas.height = Math.round(img.height + head);
  const g = canvas.getContext('2d');
  if (!g) return dataUrl;
  g.fillStyle = colours.bg;
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.textBaseline = 'top';
  g.fillStyle = colours.fg;
  g.font = `600 ${Math.round(size * 1.15)}px ${colours.font}`;
  g.fillText(caption.title, pad, pad, canvas.width - 2 * pad);
  g.fillStyle = colours.muted;
  g.font = `${size}px ${colours.font}`;
  g.fillText(`${captionLine(model, caption)} · UNet Lens`, pad, pad + size * 1.45, canvas.width - 2 * pad);
  g.drawImage(img, 0, Math.round(head));
  return canvas.toDataURL('image/png');
}

/** Stamps the picture with its caption and hands it to the host (or the report's download). */
export async function exportFigure(ctx: ViewContext, name: string, dataUrl: string, caption: Caption): Promise<void> {
  const theme = ctx.theme();
  const model = baseName(ctx.store.results?.model?.path ?? '') || 'model';
  let url = dataUrl;
  try {
    url = await stampPng(dataUrl, caption, model, { bg: theme.bg, fg: theme.fg, muted: theme.muted, font: theme.font });
  } catch (e) {
    console.error('UNet Lens: could not caption the PNG; exporting it without', e);
  }
  // test hook: what the last exported picture says about itself
  document.body.dataset.lastExport = `${caption.title} | ${captionLine(model, caption)}${url === dataUrl ? ' | uncaptioned' : ''}`;
  ctx.host.exportPng(name, url);
}
