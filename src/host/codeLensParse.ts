/**
 * Finds the lines of a training script that export or save a model, and the file each
 * names, for the "Analyze generalization" CodeLens. Pure (no `vscode`, no file system):
 * the provider (codeLens.ts) checks which of the named files exist.
 *
 * Recognised calls (Python, and TypeScript / JavaScript for TF.js):
 *   torch.onnx.export(model, x, "model.onnx", …)        f: 3rd positional or f=
 *   torch.jit.save(m, "model.pt") / torch.save(m, …)     f: 2nd positional or f=
 *   model.save("unet.h5") / await model.save('file://…')  1st positional or filepath=
 *     (any receiver whose last name contains "model" or "net": model, unet, self.model…)
 *   tf.saved_model.save(model, "export_dir")             2nd positional or export_dir=
 *   tfjs.converters.save_keras_model(model, "tfjs_dir")  2nd positional or artifacts_dir=
 *   tf.keras.models.save_model / keras.models.save_model / keras.saving.save_model
 *                                                        2nd positional or filepath=
 * Only string literals count (an f-string with {…}, a variable or os.path.join(…) is not a
 * file name one can check); adjacent literals are joined as Python does. Calls may span
 * lines; comments and other strings are skipped.
 */
import { modelFileFormat, TFJS_MODEL_FILE, type ModelFormat as EngineModelFormat } from '../engine/model/contract';

export type Language = 'python' | 'javascript';

export interface ModelSave {
  /** The call as written up to its parenthesis, e.g. "torch.onnx.export" or "model.save". */
  call: string;
  /** The file (or folder) the call writes, as written (a `file://` prefix removed). */
  path: string;
  /** 0-based line and column of the start of the call (where the lens goes). */
  line: number;
  column: number;
  /** 0-based line and column of the path literal. */
  pathLine: number;
  pathColumn: number;
}

/** Which languages a VS Code language id parses as. */
export function languageOf(languageId: string): Language | undefined {
  if (languageId === 'python') return 'python';
  if (['javascript', 'typescript', 'javascriptreact', 'typescriptreact'].includes(languageId)) return 'javascript';
  return undefined;
}

// ---------------------------------------------------------------- tokens

type Tok =
  | { k: 'name'; v: string; pos: number }
  | { k: 'str'; v: string; literal: boolean; pos: number }
  | { k: 'punct'; v: string; pos: number };

const IDENT_START = /[A-Za-z_$]/;
const IDENT = /[A-Za-z0-9_$]/;

/** Python string prefix letters (r, b, u, f and their combinations). */
const PY_PREFIX = /^(?:[rRbBuUfF]{1,2})$/;

function tokenize(text: string, lang: Language): Tok[] {
  const toks: Tok[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i];
    // whitespace
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\\') {
      i++;
      continue;
    }
    // comments
    if (lang === 'python' && c === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (lang === 'javascript' && c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (lang === 'javascript' && c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    // identifiers (and Python string prefixes)
    if (IDENT_START.test(c)) {
      const start = i;
      while (i < n && IDENT.test(text[i])) i++;
      const word = text.slice(start, i);
      if (lang === 'python' && PY_PREFIX.test(word) && (text[i] === '"' || text[i] === "'")) {
        const s = readPyString(text, i, word.toLowerCase());
        toks.push({ k: 'str', v: s.value, literal: s.literal, pos: start });
        i = s.end;
        continue;
      }
      toks.push({ k: 'name', v: word, pos: start });
      continue;
    }
    if (c === '"' || c === "'") {
      if (lang === 'python') {
        const s = readPyString(text, i, '');
        toks.push({ k: 'str', v: s.value, literal: s.literal, pos: i });
        i = s.end;
      } else {
        const s = readJsString(text, i);
        toks.push({ k: 'str', v: s.value, literal: true, pos: i });
        i = s.end;
      }
      continue;
    }
    if (c === '`' && lang === 'javascript') {
      const s = readTemplate(text, i);
      toks.push({ k: 'str', v: s.value, literal: s.literal, pos: i });
      i = s.end;
      continue;
    }
    toks.push({ k: 'punct', v: c, pos: i });
    i++;
  }
  return toks;
}

function unescape(raw: string): string {
  return raw.replace(/\\(.)/g, (_m, ch: string) => ({ n: '\n', t: '\t', r: '\r', '0': '\0' })[ch] ?? ch);
}

function readPyString(text: string, i: number, prefix: string): { value: string; literal: boolean; end: number } {
  const q = text[i];
  const triple = text.startsWith(q.repeat(3), i);
  const delim = triple ? q.repeat(3) : q;
  let j = i + delim.length;
  const raw = prefix.includes('r');
  let out = '';
  while (j < text.length) {
    if (text.startsWith(delim, j)) {
      j += delim.length;
      break;
    }
    const ch = text[j];
    if (ch === '\n' && !triple) break; // unterminated: stop at the line end
    if (ch === '\\' && j + 1 < text.length) {
      out += raw ? ch + text[j + 1] : unescape(ch + text[j + 1]);
      j += 2;
      continue;
    }
    out += ch;
    j++;
  }
  const fstring = prefix.includes('f');
  const bytes = prefix.includes('b');
  // An f-string is a literal only when it has no replacement field ({{ and }} are braces).
  const literal = !bytes && (!fstring || !/\{(?!\{)/.test(out.replace(/\{\{|\}\}/g, '')));
  return { value: fstring ? out.replace(/\{\{/g, '{').replace(/\}\}/g, '}') : out, literal, end: j };
}

function readJsString(text: string, i: number): { value: string; end: number } {
  const q = text[i];
  let j = i + 1;
  let out = '';
  while (j < text.length && text[j] !== q && text[j] !== '\n') {
    if (text[j] === '\\' && j + 1 < text.length) {
      out += unescape(text.slice(j, j + 2));
      j += 2;
      continue;
    }
    out += text[j++];
  }
  return { value: out, end: Math.min(text.length, j + 1) };
}

function readTemplate(text: string, i: number): { value: string; literal: boolean; end: number } {
  let j = i + 1;
  let out = '';
  let literal = true;
  while (j < text.length && text[j] !== '`') {
    if (text[j] === '\\' && j + 1 < text.length) {
      out += unescape(text.slice(j, j + 2));
      j += 2;
      continue;
    }
    if (text[j] === '$' && text[j + 1] === '{') {
      literal = false;
      let depth = 0;
      for (; j < text.length; j++) {
        if (text[j] === '{') depth++;
        else if (text[j] === '}' && --depth === 0) break;
      }
      j++;
      continue;
    }
    out += text[j++];
  }
  return { value: out, literal, end: Math.min(text.length, j + 1) };
}

// ---------------------------------------------------------------- calls

interface Rule {
  /** Matches the dotted callee. */
  test: (callee: string[]) => boolean;
  /** 0-based positional index of the path argument. */
  index: number;
  /** Keyword names of the path argument (Python). */
  keywords: string[];
}

const eq = (callee: string[], ...tail: string[]) =>
  callee.length >= tail.length && tail.every((t, k) => callee[callee.length - tail.length + k] === t);

const RULES: Rule[] = [
  { test: (c) => eq(c, 'onnx', 'export'), index: 2, keywords: ['f'] },
  // torch.jit.save(scripted, "model.pt") / torch.save(model, "model.pth"): PyTorch files,
  // exported to ONNX with the user's Python when analysed (engine/model/torchExport.ts).
  { test: (c) => eq(c, 'jit', 'save') || (c.length === 2 && c[0] === 'torch' && c[1] === 'save'), index: 1, keywords: ['f'] },
  { test: (c) => eq(c, 'saved_model', 'save'), index: 1, keywords: ['export_dir'] },
  { test: (c) => eq(c, 'converters', 'save_keras_model'), index: 1, keywords: ['artifacts_dir'] },
  { test: (c) => eq(c, 'models', 'save_model') || eq(c, 'saving', 'save_model'), index: 1, keywords: ['filepath'] },
  {
    // model.save(path), self.unet.save(path), await net.save('file://…')
    test: (c) => c.length >= 2 && c[c.length - 1] === 'save' && /model|net/i.test(c[c.length - 2]),
    index: 0,
    keywords: ['filepath', 'path'],
  },
];

/** Splits the tokens between a call's parentheses into top-level arguments. */
function callArgs(toks: Tok[], open: number): { args: Tok[][]; close: number } | null {
  const args: Tok[][] = [];
  let cur: Tok[] = [];
  let depth = 0;
  for (let j = open; j < toks.length; j++) {
    const t = toks[j];
    if (t.k === 'punct' && (t.v === '(' || t.v === '[' || t.v === '{')) {
      depth++;
      if (depth === 1) continue;
    } else if (t.k === 'punct' && (t.v === ')' || t.v === ']' || t.v === '}')) {
      depth--;
      if (depth === 0) {
        if (cur.length) args.push(cur);
        return { args, close: j };
      }
    } else if (depth === 1 && t.k === 'punct' && t.v === ',') {
      args.push(cur);
      cur = [];
      continue;
    }
    cur.push(t);
  }
  return null; // unbalanced: the user is still typing
}

/** The literal string an argument consists of (adjacent literals joined), or null. */
function literalOf(arg: Tok[]): { value: string; pos: number } | null {
  if (arg.length === 0 || !arg.every((t) => t.k === 'str')) return null;
  const strs = arg as Extract<Tok, { k: 'str' }>[];
  if (!strs.every((t) => t.literal)) return null;
  return { value: strs.map((t) => t.v).join(''), pos: strs[0].pos };
}

/** `file://…` becomes a path; other URL schemes (localstorage://, indexeddb://, http://) are not files. */
export function normalizeSavePath(raw: string): string | null {
  let p = raw.trim();
  if (!p) return null;
  if (/^file:\/\//i.test(p)) p = p.replace(/^file:\/\//i, '');
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) return null;
  return p || null;
}

function lineCol(starts: number[], pos: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= pos) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo, column: pos - starts[lo] };
}

/** Every model export/save call in `text` that names its file with a string literal. */
export function findModelSaves(text: string, lang: Language): ModelSave[] {
  const toks = tokenize(text, lang);
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  const out: ModelSave[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (t.k !== 'punct' || t.v !== '(') continue;
    // the dotted name right before "(": a.b.c
    const callee: string[] = [];
    let j = i - 1;
    let first = -1;
    while (j >= 0 && toks[j].k === 'name') {
      callee.unshift(toks[j].v);
      first = j;
      if (j - 1 >= 0 && toks[j - 1].k === 'punct' && toks[j - 1].v === '.') j -= 2;
      else break;
    }
    if (callee.length === 0) continue;
    // `def save(…)` / `function save(…)` are definitions, not calls
    const before = toks[first - 1];
    if (before && before.k === 'name' && (before.v === 'def' || before.v === 'function')) continue;
    const rule = RULES.find((r) => r.test(callee));
    if (!rule) continue;
    const parsed = callArgs(toks, i);
    if (!parsed) continue;
    let found: { value: string; pos: number } | null = null;
    let positional = 0;
    for (const arg of parsed.args) {
      const kw = arg.length >= 2 && arg[0].k === 'name' && arg[1].k === 'punct' && arg[1].v === '=' ? arg[0].v : undefined;
      if (kw !== undefined) {
        if (rule.keywords.includes(kw)) found = literalOf(arg.slice(2));
        continue;
      }
      if (positional === rule.index) found = literalOf(arg);
      positional++;
    }
    if (!found) continue;
    const path = normalizeSavePath(found.value);
    if (!path) continue;
    const at = lineCol(starts, toks[first].pos);
    const pAt = lineCol(starts, found.pos);
    out.push({ call: callee.join('.'), path, line: at.line, column: at.column, pathLine: pAt.line, pathColumn: pAt.column });
  }
  return out;
}

// ---------------------------------------------------------------- the file it names

/**
 * Where a path named in a script may be: absolute as is; relative, first to the script's
 * folder, then to each workspace folder (training scripts are often run from the root).
 */
export function candidatePaths(p: string, scriptDir: string, workspaceRoots: readonly string[], join: (...parts: string[]) => string, isAbsolute: (p: string) => boolean): string[] {
  if (isAbsolute(p)) return [p];
  const out: string[] = [];
  for (const base of [scriptDir, ...workspaceRoots]) {
    const c = join(base, p);
    if (!out.includes(c)) out.push(c);
  }
  return out;
}

export type ModelFormat = EngineModelFormat | 'savedmodel' | 'unknown';

export const FORMAT_LABEL: Record<ModelFormat, string> = {
  onnx: 'ONNX',
  tfjs: 'TF.js (model.json)',
  keras: 'Keras (.h5 / .keras)',
  pytorch: 'PyTorch (.pt / .pth)',
  savedmodel: 'TensorFlow SavedModel',
  unknown: 'this format',
};

/**
 * What an existing file or folder named by a save call is. `entries` lists a folder's
 * file names (to recognise a TF.js folder by its model.json, a SavedModel by
 * saved_model.pb).
 */
export function classifyTarget(p: string, isDirectory: boolean, entries: readonly string[] = []): ModelFormat {
  if (isDirectory) {
    if (entries.includes(TFJS_MODEL_FILE)) return 'tfjs';
    if (entries.includes('saved_model.pb') || entries.includes('saved_model.pbtxt')) return 'savedmodel';
    return 'unknown';
  }
  return modelFileFormat(p) ?? 'unknown';
}

/**
 * The formats UNet Lens can analyze (src/engine/model/contract.ts lists their files).
 * A SavedModel folder is not read directly: convert it with tensorflowjs_converter.
 */
export const ANALYZABLE: ReadonlySet<ModelFormat> = new Set<ModelFormat>(['onnx', 'pytorch', 'tfjs', 'keras']);

/** The file to analyze for a target: the model.json inside a TF.js folder, else the path. */
export function analysisPath(p: string, format: ModelFormat, isDirectory: boolean, join: (...parts: string[]) => string): string {
  return format === 'tfjs' && isDirectory ? join(p, TFJS_MODEL_FILE) : p;
}
