/**
 * The dataset file `unetlens.json` (CONTRACT.md §1): read, parse, validate against
 * media/unetlens.schema.json (the same schema VS Code uses for completion and squiggles),
 * apply defaults, resolve paths relative to the file, check that the split paths exist.
 *
 * Every failure is one LensError(kind 'dataset', where = the file) whose message names the
 * file, the field and what was expected, e.g.
 *   unetlens.json: "input.channels" must be an integer ≥ 1 (got "one")
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import schema from '../../../media/unetlens.schema.json';
import { DEFAULT_ANALYSIS, LensError, type DatasetConfig, type ShiftSettings, type SplitConfig, type Task } from '../types';
import { splitMember } from './formats';
import { checkCaseOptions } from './caseFolders';

/** Defaults of `input` (the schema's `default`s say the same; a unit test keeps them in step). */
export const DEFAULT_INPUT: Omit<DatasetConfig['input'], 'size'> = {
  layout: 'NCHW',
  channels: 1,
  scale: 1,
  mean: [0],
  std: [1],
  resize: 'resize',
};

export const DEFAULT_MODEL: DatasetConfig['model'] = { output: 'auto', activation: 'auto' };

/** The JSON schema of unetlens.json (draft-07), as bundled. */
export const DATASET_SCHEMA: Record<string, unknown> = schema as Record<string, unknown>;

let validator: ValidateFunction | undefined;
function getValidator(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true });
    // VS Code's annotation keywords: meaningful to the editor, ignored by validation.
    ajv.addVocabulary(['markdownDescription', 'enumDescriptions', 'defaultSnippets']);
    validator = ajv.compile(DATASET_SCHEMA);
  }
  return validator;
}

/* ------------------------------------------------------------------------------------------ */
/* Messages                                                                                    */
/* ------------------------------------------------------------------------------------------ */

type Json = unknown;
type Schema = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function deref(s: Schema | undefined): Schema | undefined {
  if (s && typeof s.$ref === 'string') {
    const m = /^#\/definitions\/(.+)$/.exec(s.$ref);
    const defs = (DATASET_SCHEMA.definitions ?? {}) as Record<string, Schema>;
    if (m && defs[m[1]]) return { ...defs[m[1]], ...s, $ref: undefined };
  }
  return s;
}

/** The schema that applies at a path of instance keys. */
function schemaAt(segments: string[]): Schema | undefined {
  let s: Schema | undefined = DATASET_SCHEMA as Schema;
  for (const seg of segments) {
    s = deref(s);
    if (!s) return undefined;
    if (Array.isArray(s.anyOf)) {
      const isIndex = /^\d+$/.test(seg);
      s = (s.anyOf as Schema[]).find((b) => (isIndex ? b.items : b.properties)) ?? s;
    }
    if (s.properties && seg in s.properties) s = s.properties[seg];
    else if (s.items && typeof s.items === 'object') s = s.items;
    else if (s.additionalProperties && typeof s.additionalProperties === 'object') s = s.additionalProperties;
    else return undefined;
  }
  return deref(s);
}

function valueAt(obj: Json, segments: string[]): Json {
  let v: Json = obj;
  for (const seg of segments) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, Json>)[seg];
  }
  return v;
}

function pointerSegments(p: string): string[] {
  if (!p) return [];
  return p
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `["splits", "test", "labels"]` → `splits.test.labels`; array indices as `[i]`. */
export function fieldName(segments: string[]): string {
  let out = '';
  for (const seg of segments) {
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function show(v: Json): string {
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

const article = (noun: string): string => (/^[aeiou]/i.test(noun) ? `an ${noun}` : `a ${noun}`);

/** A short phrase for what a schema accepts: "an integer ≥ 1", "an array of 2 to 3 integers ≥ 1"… */
export function describeSchema(s0: Schema | undefined, plural = false): string {
  const s = deref(s0);
  if (!s) return plural ? 'values' : 'a value';
  if (Array.isArray(s.anyOf)) return (s.anyOf as Schema[]).map((b) => describeSchema(b, plural)).join(' or ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) {
    const list = (s.enum as Json[]).map((e) => JSON.stringify(e)).join(', ');
    return plural ? `values among ${list}` : `one of ${list}`;
  }
  if (Array.isArray(s.type)) return (s.type as string[]).map((t) => describeSchema({ ...s, type: t }, plural)).join(' or ');
  const noun = (n: string): string => (plural ? `${n}s` : article(n));
  switch (s.type) {
    case 'integer':
    case 'number': {
      const bounds: string[] = [];
      if (s.minimum !== undefined) bounds.push(`≥ ${s.minimum}`);
      if (s.exclusiveMinimum !== undefined) bounds.push(`> ${s.exclusiveMinimum}`);
      if (s.maximum !== undefined) bounds.push(`≤ ${s.maximum}`);
      if (s.exclusiveMaximum !== undefined) bounds.push(`< ${s.exclusiveMaximum}`);
      return `${noun(s.type)}${bounds.length ? ` ${bounds.join(' and ')}` : ''}`;
    }
    case 'string':
      return noun(s.minLength ? 'non-empty string' : 'string');
    case 'boolean':
      return plural ? 'booleans' : 'true or false';
    case 'array': {
      const lo = s.minItems as number | undefined;
      const hi = s.maxItems as number | undefined;
      const items = describeSchema(s.items, true);
      const uniq = s.uniqueItems ? ', without repeats' : '';
      let count = '';
      if (lo !== undefined && hi !== undefined) count = lo === hi ? `${lo} ` : `${lo} to ${hi} `;
      else if (hi !== undefined) count = `at most ${hi} `;
      else if (lo !== undefined && lo > 1) count = `at least ${lo} `;
      const arr = lo === 1 && hi === undefined ? 'a non-empty array' : 'an array';
      return plural ? `arrays of ${count}${items}${uniq}` : `${arr} of ${count}${items}${uniq}`;
    }
    case 'object': {
      const req = (s.required as string[] | undefined) ?? [];
      const base = plural ? 'objects' : 'an object';
      return req.length ? `${base} with ${req.map((r) => `"${r}"`).join(', ')}` : base;
    }
    default:
      return plural ? 'values' : 'a value';
  }
}

function typeName(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return article(typeof v === 'object' ? 'object' : typeof v);
}

function closest(word: string, options: string[]): string | undefined {
  const dist = (a: string, b: string): number => {
    a = a.toLowerCase();
    b = b.toLowerCase();
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++)
        d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length][b.length];
  };
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const dd = dist(word, o);
    if (dd < bestD) {
      bestD = dd;
      best = o;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** One ajv error → one sentence (without the file name prefix). */
function explain(errors: ErrorObject[], obj: Json): string {
  // A failed anyOf lists every branch's errors first; report the anyOf itself, on its field.
  let err = errors[0];
  const anyOf = errors.find((e) => e.keyword === 'anyOf' && err.instancePath.startsWith(e.instancePath));
  if (anyOf) err = anyOf;
  const segs = pointerSegments(err.instancePath);
  const field = fieldName(segs);
  const value = valueAt(obj, segs);
  switch (err.keyword) {
    case 'required': {
      const missing = (err.params as { missingProperty: string }).missingProperty;
      const full = [...segs, missing];
      const name = fieldName(full);
      if (name === 'splits.train') {
        return `"splits.train" is missing: the split named "train" is required (it is the reference the other splits are measured against)`;
      }
      if (name === 'classes') {
        const task = (obj as { task?: string }).task;
        return `"classes" is required for task "${task}": the class names in index order, e.g. ["background", "lesion"]`;
      }
      return `"${name}" is required: ${describeSchema(schemaAt(full))}`;
    }
    case 'additionalProperties': {
      const extra = (err.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys(schemaAt(segs)?.properties ?? {}).filter((k) => k !== '$schema');
      const guess = closest(extra, known);
      const where = field ? `in "${field}"` : 'at the top level';
      return `unknown field "${fieldName([...segs, extra])}"${guess ? ` (did you mean "${guess}"?)` : ''}: expected ${where} only ${known.map((k) => `"${k}"`).join(', ')}`;
    }
    case 'uniqueItems': {
      const { i, j } = err.params as { i: number; j: number };
      return `"${field}" has a repeated value: items ${Math.min(i, j)} and ${Math.max(i, j)} are both ${show((value as Json[])[i])}`;
    }
    case 'minProperties':
      return `"${field}" must not be empty`;
    default: {
      if (!field) return `the file must hold a JSON object (got ${typeName(value)})`;
      return `"${field}" must be ${describeSchema(schemaAt(segs))} (got ${show(value)})`;
    }
  }
}

function fail(file: string, msg: string): never {
  throw new LensError(`${path.basename(file)}: ${msg}`, 'dataset', file);
}

/* ------------------------------------------------------------------------------------------ */
/* Validation                                                                                  */
/* ------------------------------------------------------------------------------------------ */

interface RawSplit {
  images: string;
  labels?: string;
  cases?: string[];
}
interface RawDataset {
  task: Task;
  classes?: string[];
  input?: Partial<DatasetConfig['input']>;
  splits: Record<string, RawSplit>;
  model?: Partial<DatasetConfig['model']>;
  analysis?: Partial<DatasetConfig['analysis']>;
  checkpoints?: string;
}

/** Resolves a split path relative to the dataset file's folder, keeping an `.npz#member` suffix. */
function resolveSplitPath(dir: string, p: string): string {
  const { file, member } = splitMember(p);
  const abs = path.resolve(dir, file);
  return member !== undefined ? `${abs}#${member}` : abs;
}

/**
 * Validates a parsed unetlens.json against the schema plus the checks a schema cannot express
 * (classes count, mean/std length, size vs layout), applies defaults and resolves paths
 * relative to `file`. Pure: touches no file. `train` comes first in `splits`, the others in
 * file order.
 */
export function validateDatasetJson(obj: unknown, file: string): DatasetConfig {
  const validate = getValidator();
  if (!validate(obj)) fail(file, explain(validate.errors ?? [], obj));
  const raw = obj as RawDataset;
  const abs = path.resolve(file);
  const dir = path.dirname(abs);

  const task = raw.task;
  const classes = raw.classes ?? [];
  if ((task === 'segmentation' || task === 'classification') && classes.length < 2) {
    fail(
      file,
      `"classes" must list at least 2 classes for task "${task}" (got ${show(classes)}); include the background, e.g. ["background", ${JSON.stringify(classes[0] ?? 'lesion')}]`,
    );
  }

  const input: DatasetConfig['input'] = { ...DEFAULT_INPUT, ...(raw.input ?? {}) };
  input.mean = input.mean.slice();
  input.std = input.std.slice();
  for (const key of ['mean', 'std'] as const) {
    const v = input[key];
    if (v.length !== 1 && v.length !== input.channels) {
      fail(
        file,
        `"input.${key}" must have 1 value or one per channel (input.channels is ${input.channels}) (got ${show(v)})`,
      );
    }
  }
  const rank = input.layout === 'NCDHW' || input.layout === 'NDHWC' ? 3 : 2;
  if (input.size && input.size.length !== rank) {
    fail(
      file,
      `"input.size" must be ${rank === 2 ? '[H, W]' : '[D, H, W]'} for layout "${input.layout}" (got ${show(input.size)})`,
    );
  }
  if (input.size) input.size = input.size.slice();
  const caseProblem = checkCaseOptions(input);
  if (caseProblem) fail(file, caseProblem);
  if (input.channelFiles) input.channelFiles = input.channelFiles.slice();
  if (input.normalize) input.normalize = input.normalize.map((n) => (typeof n === 'string' ? n : { clip: [n.clip[0], n.clip[1]] }));

  const names = Object.keys(raw.splits);
  const ordered = ['train', ...names.filter((n) => n !== 'train')];
  const splits: SplitConfig[] = ordered.map((name) => {
    const s = raw.splits[name];
    const out: SplitConfig = { name, images: resolveSplitPath(dir, s.images) };
    if (s.labels !== undefined) out.labels = resolveSplitPath(dir, s.labels);
    if (s.cases !== undefined) out.cases = s.cases.slice();
    return out;
  });

  const { shifts: rawShifts, ...rawAnalysis } = (raw.analysis ?? {}) as Partial<DatasetConfig['analysis']> & { shifts?: boolean | Partial<ShiftSettings> };
  const analysis = { ...DEFAULT_ANALYSIS, ...rawAnalysis, shifts: { ...DEFAULT_ANALYSIS.shifts, families: DEFAULT_ANALYSIS.shifts.families.slice() } };
  if (Array.isArray(analysis.taps)) analysis.taps = analysis.taps.slice();
  // "shifts": false | true | { … } (METHOD.md §5)
  if (typeof rawShifts === 'boolean') analysis.shifts.enabled = rawShifts;
  else if (rawShifts) Object.assign(analysis.shifts, rawShifts, rawShifts.families ? { families: rawShifts.families.slice() } : {});

  return {
    path: abs,
    task,
    classes: classes.slice(),
    input,
    splits,
    model: { ...DEFAULT_MODEL, ...(raw.model ?? {}) },
    analysis,
    ...(raw.checkpoints !== undefined ? { checkpoints: path.resolve(dir, raw.checkpoints) } : {}),
  };
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < Math.min(offset, text.length); i++) {
    if (text[i] === '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  return { line, column: col };
}

/** Parses JSON text; a syntax error becomes `unetlens.json:3:8: not valid JSON: Unexpected number`. */
export function parseDatasetText(text: string, file: string): unknown {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') fail(file, 'the file is empty (expected a JSON object, see the unetlens.json schema)');
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /at position (\d+)/.exec(msg);
    const lc = /\(line (\d+) column (\d+)\)/.exec(msg);
    let pos: { line: number; column: number };
    if (lc) pos = { line: Number(lc[1]), column: Number(lc[2]) };
    else if (m) pos = lineColumn(text, Number(m[1]));
    else pos = lineColumn(text, text.replace(/\s+$/, '').length);
    const detail = msg
      .replace(/\s*\(line \d+ column \d+\)/, '')
      .replace(/\s*in JSON at position \d+/, '')
      .replace(/^Unexpected end of JSON input$/, 'unexpected end of the file');
    throw new LensError(
      `${path.basename(file)}:${pos.line}:${pos.column}: not valid JSON: ${detail}`,
      'dataset',
      file,
    );
  }
}

/** Kind of thing a split path is meant to be, for messages. */
function pathKind(p: string): string {
  const e = path.extname(splitMember(p).file).toLowerCase();
  if (e === '.npy' || e === '.npz') return 'array file';
  if (e === '.csv') return 'CSV file';
  return 'folder';
}

/**
 * Checks that each split's paths exist and are of a usable kind: `images` a folder or an
 * .npy/.npz file; `labels` the same, or a .csv for classification.
 */
export function checkSplitPaths(cfg: DatasetConfig, raw: unknown): void {
  const file = cfg.path;
  const shown = path.basename(file);
  const rawSplits = (raw as RawDataset).splits;
  for (const split of cfg.splits) {
    for (const field of ['images', 'labels'] as const) {
      const abs = split[field];
      if (abs === undefined) continue;
      const written = rawSplits[split.name][field] as string;
      const where = `(${shown}, ${fieldName(['splits', split.name, field])})`;
      const target = splitMember(abs).file;
      let st: fs.Stats;
      try {
        st = fs.statSync(target);
      } catch {
        throw new LensError(
          `split "${split.name}": ${field} ${pathKind(written)} ${splitMember(written).file} does not exist ${where}`,
          'dataset',
          file,
        );
      }
      if (st.isDirectory()) continue;
      if (!st.isFile()) {
        const what = st.isFIFO() ? 'a FIFO (named pipe)' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'not a regular file';
        throw new LensError(`split "${split.name}": ${field} ${written} is ${what}; only regular files and folders are read ${where}`, 'dataset', file);
      }
      const ext = path.extname(target).toLowerCase();
      const okFile = ext === '.npy' || ext === '.npz' || (field === 'labels' && cfg.task === 'classification' && ext === '.csv');
      if (!okFile) {
        const expected =
          field === 'labels' && cfg.task === 'classification'
            ? 'a CSV file,label or a folder with one sub-folder per class'
            : 'a folder, or one .npy/.npz array';
        throw new LensError(
          `split "${split.name}": ${field} ${written} is a single ${ext || 'extension-less'} file; expected ${expected} ${where}`,
          'dataset',
          file,
        );
      }
    }
  }
}

/**
 * Reads, parses and validates a dataset file, applies defaults, resolves paths relative to
 * it and checks they exist. Throws LensError(kind 'dataset', where = the file).
 */
export function loadDatasetFile(file: string): DatasetConfig {
  const abs = path.resolve(file);
  let text: string;
  try {
    const st = fs.statSync(abs);
    if (!st.isFile() && !st.isDirectory()) throw new LensError(`${path.basename(abs)}: not a regular file (${abs}); only regular files are read`, 'dataset', abs);
    if (st.size > 16 * 2 ** 20) throw new LensError(`${path.basename(abs)}: ${(st.size / 2 ** 20).toFixed(0)} MB is too large for a dataset file (limit 16 MB) (${abs})`, 'dataset', abs);
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    if (e instanceof LensError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? `file not found (${abs})` : code === 'EISDIR' ? `is a folder, not a file (${abs})` : `cannot be read: ${(e as Error).message}`;
    throw new LensError(`${path.basename(abs)}: ${why}`, 'dataset', abs);
  }
  const obj = parseDatasetText(text, abs);
  const cfg = validateDatasetJson(obj, abs);
  checkSplitPaths(cfg, obj);
  return cfg;
}
