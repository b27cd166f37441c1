/**
 * The page a model file opens to (host/modelEditor.ts): what the file is, its graph in a few
 * lines (engine/model/summary.ts) and the one action, Analyze Generalization. No `vscode`
 * import: tested on its own. `describeModel` reads the file (its graph without the weights'
 * values; a file over READ_LIMIT not at all), `modelPageHtml` draws the page.
 *
 * CSP: nothing remote and no script at all; the action is a `command:` link, which the editor
 * allows for that one command (`enableCommandUris`). Styles: the panel's stylesheet.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseOnnx } from '../engine/model/onnxGraph';
import { countText, onnxSummary, type OnnxSummary, type ValueSummary } from '../engine/model/summary';
import { errorText, modelFileFormat, type ModelFormat } from '../engine/model/contract';
import { escapeHtml, pageHead } from './webviewHtml';
import { readResultsFile } from './resultsFile';
import { withVerdict } from '../engine/verdict';
import { formatBytes } from '../engine/limits';

export const ANALYZE_COMMAND = 'unetLens.analyze';

export interface ModelPage {
  /** The file's name, and its path relative to the workspace (or absolute outside one). */
  name: string;
  path: string;
  format: ModelFormat | undefined;
  bytes: number;
  /** When the file was last written (0 when it cannot be read). */
  mtimeMs: number;
  /** The ONNX graph in a few lines; absent for the formats read only by the worker. */
  onnx?: OnnxSummary;
  /** Why the file could not be read (what and where). */
  error?: string;
  /** Why the graph is not shown though the file may well be fine (too large to read here). */
  note?: string;
  /** The newest analysis of this file in the results cache, as its verdict says it. */
  last?: LastAnalysis;
}

export interface LastAnalysis {
  /** When it ran (ISO), and the dataset file it ran with (as the user reads it). */
  createdAt: string;
  dataset: string;
  /** The verdict's sentences: the splits without labels first (the answer), then the labelled ones. */
  sentences: string[];
  /** The model file was written after the analysis. */
  stale: boolean;
}

/**
 * The last analysis of a model from its cached results.json (read with the panel's checks; its
 * verdict computed when the file has none). Undefined when the file cannot be read.
 */
export async function lastAnalysis(resultsPath: string, entry: { createdAt: string; datasetPath: string }, modelMtimeMs: number, relative: (p: string) => string): Promise<LastAnalysis | undefined> {
  try {
    const r = withVerdict(await readResultsFile(resultsPath));
    const v = r.verdict;
    const sentences = v ? [...v.unlabeled.map((u) => u.sentence), ...v.labeled.map((l) => l.sentence)].filter(Boolean) : [];
    // when the analysis began (the panel's "Created"); the file written after that is newer than what it saw
    const createdAt = typeof r.createdAt === 'string' && !Number.isNaN(Date.parse(r.createdAt)) ? r.createdAt : entry.createdAt;
    return { createdAt, dataset: relative(entry.datasetPath), sentences, stale: modelMtimeMs > Date.parse(createdAt) };
  } catch {
    return undefined;
  }
}

const FORMAT_NAMES: Record<ModelFormat, [string, string]> = {
  onnx: ['ONNX model', 'an ONNX model'],
  pytorch: ['PyTorch file', 'a PyTorch file'],
  keras: ['Keras model', 'a Keras model'],
  tfjs: ['TensorFlow.js model', 'a TensorFlow.js model'],
};

const ABOUT: Record<ModelFormat, string> = {
  onnx: '',
  pytorch:
    'UNet Lens exports it to ONNX with your Python when it analyzes it: a TorchScript file or a whole pickled model works as it is; a file of weights only (a state_dict) needs the network, and the analysis says how to save it.',
  keras: 'UNet Lens reads it in its background process when it analyzes it; the layers it taps are listed in the results.',
  tfjs: 'UNet Lens reads it with its weight files in its background process when it analyzes it.',
};

/** Larger ONNX files are described without their graph (read on every open, in the host). */
const READ_LIMIT = 512 * 1024 ** 2;

/** What the page shows of `file`: its graph when it is an ONNX file that reads, else why not. */
export async function describeModel(file: string, relative: string, readLimit = READ_LIMIT): Promise<ModelPage> {
  const format = modelFileFormat(file);
  const page: ModelPage = { name: path.basename(file), path: relative, format, bytes: 0, mtimeMs: 0 };
  try {
    const st = await fs.stat(file);
    page.bytes = st.size;
    page.mtimeMs = st.mtimeMs;
    if (format !== 'onnx') return page;
    if (st.size > readLimit) {
      page.note = `${relative} is ${formatBytes(st.size)}: too large to be described here; Analyze Generalization reads it in the background.`;
      return page;
    }
    page.onnx = onnxSummary(parseOnnx(await fs.readFile(file), relative));
  } catch (e) {
    page.error = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${relative} no longer exists.` : errorText(e);
  }
  return page;
}

function valueText(v: ValueSummary): string {
  return `${v.name}: ${v.type}${v.dims ? ` [${v.dims.join(', ')}]` : ' (no shape given)'}`;
}

export function modelPageHtml(p: ModelPage, o: { cspSource: string; styleUri: string }): string {
  const csp = ["default-src 'none'", `style-src ${o.cspSource}`, `img-src ${o.cspSource} data:`, `font-src ${o.cspSource}`].join('; ');
  const e = escapeHtml;
  const [kind, aKind] = p.format ? FORMAT_NAMES[p.format] : ['model file', 'a model'];
  const rows: [string, string][] = [];
  const g = p.onnx;
  if (g) {
    rows.push(['Inputs', g.inputs.map(valueText).join('\n') || '—']);
    rows.push(['Outputs', g.outputs.map(valueText).join('\n') || '—']);
    rows.push(['Opset', `${g.opset ?? '—'} · IR version ${g.irVersion}${g.producer ? ` · made by ${g.producer}` : ''}`]);
    rows.push(['Parameters', `${countText(g.parameters)}${g.externalData ? ' (weights in files beside the model)' : ''}`]);
    rows.push(['Layers', `${g.nodes} nodes: ${g.ops.slice(0, 8).map((x) => `${x.op} ${x.count}`).join(' · ')}${g.ops.length > 8 ? ` · ${g.ops.length - 8} more kinds` : ''}`]);
  }
  const table = rows.length
    ? `<table class="data model-summary"><tbody>${rows.map(([k, v]) => `<tr><th scope="row">${e(k)}</th><td data-role="${e(k.toLowerCase())}">${v.split('\n').map(e).join('<br>')}</td></tr>`).join('')}</tbody></table>`
    : '';
  const noSpatial =
    g && g.spatialOps === 0
      ? `<div class="banner stale" data-role="no-spatial"><span class="banner-text">No convolution, pooling or resampling layer: UNet Lens taps the spatial feature maps of a segmentation network, and this graph has none.</span></div>`
      : '';
  const error = p.error ? `<div class="banner error" data-role="error"><span class="banner-text"><strong>This file cannot be read as ${e(aKind)}.</strong> ${e(p.error)}</span></div>` : '';
  const action = p.error
    ? ''
    : `<p class="model-actions"><a class="btn" data-role="analyze" href="command:${ANALYZE_COMMAND}" title="Run the analysis on this model">Analyze Generalization</a></p>
<p class="hint">Runs the model on the images of the workspace's dataset file (unetlens.json) in a background process, then shows layer by layer how its features separate the classes on the training, test and unlabelled data, and predicts its Dice where there are no labels. Also in the Explorer's context menu and the Command Palette.</p>`;
  const about = p.note ? `<p class="hint" data-role="note">${e(p.note)}</p>` : p.format && ABOUT[p.format] ? `<p class="hint">${e(ABOUT[p.format])}</p>` : '';
  const l = p.last;
  const when = l ? new Date(l.createdAt) : null;
  const last = l
    ? `<section class="section model-last" data-role="last"><h2>Last analysis</h2>
<p class="muted">${e(when && !Number.isNaN(when.getTime()) ? when.toLocaleString() : l.createdAt)} · with ${e(l.dataset)}${l.stale ? ' · <strong data-role="stale">the file was written again since: analyze it again</strong>' : ''}</p>
${l.sentences.length ? `<ul>${l.sentences.slice(0, 6).map((x) => `<li>${e(x)}</li>`).join('')}</ul>` : ''}
<p class="hint">${l.stale ? '' : 'Analyze Generalization shows it again at once while the model, the dataset file and its images are unchanged.'}</p></section>`
    : '';
  return `${pageHead(csp, o.styleUri, p.name)}
<body data-state="model" data-format="${e(p.format ?? '')}">
<main class="model-page">
<h1>${e(p.name)} <span class="muted">${e(kind)} · ${e(formatBytes(p.bytes))}</span></h1>
${p.path !== p.name ? `<p class="muted" data-role="path">${e(p.path)}</p>
` : ''}${error}${action}${last}${about}${noSpatial}${table}
</main>
</body>
</html>
`;
}
