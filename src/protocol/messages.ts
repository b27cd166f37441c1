/**
 * Every message that crosses a process boundary, declared once and validated on arrival.
 *
 * Each message is one declaration (after GitLens' `IpcCommandType` / `IpcNotificationType`):
 * `message('selectTap', { tap: str() })` names the message and gives the check of every
 * field; the payload type is derived from those checks, so the TypeScript type the sender
 * builds and the validator the receiver runs cannot drift apart. The four directions are
 * four tables of such declarations:
 *
 *   host    → worker : workerRequests   (process.send)         type WorkerRequest
 *   worker  → host   : workerMessages                           type WorkerMessage
 *   host    → webview: hostToWebview    (webview.postMessage)   type HostToWebview
 *   webview → host   : webviewToHost                            type WebviewToHost
 *
 * The Timeline panel has its own two (hostToTimeline, timelineToHost), and what it keeps
 * to come back after a window reload is declared the same way (savedTimeline: webview
 * state → the host's serializer).
 *
 * Validation looks fields and types up as own properties only (a `type` of `toString`,
 * `constructor` or `__proto__` is an unknown type, not an inherited function), rejects
 * unknown types, missing, extra and wrong-typed fields and oversized strings, and never
 * throws: it returns `{ ok: false, reason }` with a reason fit for a log line.
 *
 * No `vscode` import here: the worker and the webview use this file too.
 */
import type { ProgressEvent, Results } from '../engine/types';
import type { Comparison, Series } from '../engine/series';

// ---------------------------------------------------------------- fields

/** The check of one field: `undefined` when the value is fine, else what is wrong with it. */
export interface Field<T, Optional extends boolean = false> {
  readonly check: (v: unknown) => string | undefined;
  readonly optional: Optional;
  /** Type only (never set): the value type this field checks for. */
  readonly __type?: T;
}
type AnyField = Field<unknown, boolean>;
type Fields = Record<string, AnyField>;
type FieldType<F> = F extends Field<infer T, boolean> ? T : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
/** The object type a set of fields checks for (optional fields become `?:`). */
export type Payload<F extends Fields> = Simplify<
  { [K in keyof F as F[K] extends Field<unknown, true> ? never : K]: FieldType<F[K]> } & {
    [K in keyof F as F[K] extends Field<unknown, true> ? K : never]?: FieldType<F[K]>;
  }
>;

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);
/** A value quoted for a reason, cut short (a reason never carries a huge string). */
const quote = (s: string, max = 60) => JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);

function field<T>(check: (v: unknown) => string | undefined): Field<T> {
  return { check, optional: false };
}

/** Default longest string: names, tap names, paths' worth of text. */
const SHORT = 4096;
/** Paths (Windows allows 32 767 UTF-16 units). */
const PATH = 32_768;
/** Log lines, error and status messages. */
const TEXT = 1 << 20;
/** Exported files (a PNG data URL, a CSV table). */
const FILE = 32 << 20;

/** A string of at most `max` characters. */
export function str(max = SHORT): Field<string> {
  return field((v) =>
    typeof v !== 'string' ? `must be a string (got ${describe(v)})`
    : v.length > max ? `is too long (${v.length} characters, at most ${max})`
    : undefined,
  );
}

/** One of a few strings. */
export function oneOf<const V extends string>(...values: V[]): Field<V> {
  return field((v) => (typeof v === 'string' && (values as string[]).includes(v) ? undefined : `must be one of ${values.map((x) => quote(x)).join(', ')}`));
}

/** A finite number. */
export function num(): Field<number> {
  return field((v) => (typeof v === 'number' && Number.isFinite(v) ? undefined : `must be a finite number (got ${describe(v)})`));
}

export function bool(): Field<boolean> {
  return field((v) => (typeof v === 'boolean' ? undefined : `must be true or false (got ${describe(v)})`));
}

/** A field that may be absent (or `undefined`). */
export function opt<T>(f: Field<T>): Field<T, true> {
  return { check: f.check, optional: true };
}

/** A nested object with exactly these fields (extra fields are rejected). */
export function object<F extends Fields>(fields: F): Field<Payload<F>> {
  return field((v) => {
    if (!isRecord(v)) return `must be an object (got ${describe(v)})`;
    const bad = checkFields(fields, v);
    return bad && `is not right: ${bad}`;
  });
}

/** A list of at most `max` values, each checked by `item` (the first bad one is named by its index). */
export function list<T>(item: Field<T>, max: number): Field<T[]> {
  return field((v) => {
    if (!Array.isArray(v)) return `must be a list (got ${describe(v)})`;
    if (v.length > max) return `has too many entries (${v.length}, at most ${max})`;
    for (let i = 0; i < v.length; i++) {
      const bad = item.check(v[i]);
      if (bad) return `[${i}] ${bad}`;
    }
    return undefined;
  });
}

/**
 * A value of a type declared elsewhere (the engine's Results, ProgressEvent) that is
 * checked only as far as `check` looks: its own fields may grow without breaking messages.
 */
export function shaped<T>(what: string, check: (v: Record<string, unknown>) => boolean): Field<T> {
  return field((v) => (isRecord(v) && check(v) ? undefined : `must be ${what}`));
}

/** Why `raw` does not have exactly `fields` (the first problem), or undefined. */
function checkFields(fields: Fields, raw: Record<string, unknown>, skip?: string): string | undefined {
  for (const k of Object.keys(raw)) {
    if (k !== skip && !hasOwn(fields, k)) return `has an unexpected field ${quote(k)}`;
  }
  for (const k of Object.keys(fields)) {
    const f = fields[k];
    const v = hasOwn(raw, k) ? raw[k] : undefined;
    if (v === undefined) {
      if (!f.optional) return `is missing ${quote(k)}`;
      continue;
    }
    const bad = f.check(v);
    if (bad) return `${quote(k)} ${bad}`;
  }
  return undefined;
}

// ---------------------------------------------------------------- messages

/** One message: its `type` and the checks of its other fields. */
export interface MessageType<T extends string, P> {
  readonly type: T;
  readonly fields: Fields;
  /** Type only (never set). */
  readonly __payload?: P;
}

/** Declares a message: its type name and the checks of its fields (the payload type follows from them). */
export function message<const T extends string, F extends Fields = {}>(type: T, fields?: F): MessageType<T, Payload<F>> {
  return { type, fields: fields ?? {} };
}

/** The message object a declaration describes: `{ type, ...payload }`. */
export type MessageOf<M> = M extends MessageType<infer T, infer P> ? Simplify<{ type: T } & P> : never;

export type Validated<T> = { ok: true; message: T } | { ok: false; reason: string };

/** The messages of one direction, looked up by type (a Map: no inherited keys). */
export class Protocol<M extends MessageType<string, unknown>> {
  private readonly byType = new Map<string, M>();

  constructor(
    /** Who sends to whom, for reasons ("webview → host"). */
    readonly direction: string,
    messages: readonly M[],
  ) {
    for (const m of messages) {
      if (this.byType.has(m.type)) throw new Error(`${direction}: message "${m.type}" is declared twice`);
      if (hasOwn(m.fields, 'type')) throw new Error(`${direction}: message "${m.type}" declares a field named "type"`);
      this.byType.set(m.type, m);
    }
  }

  get types(): string[] {
    return [...this.byType.keys()];
  }

  /** Checks a message that arrived; never throws. */
  parse(raw: unknown): Validated<MessageOf<M>> {
    try {
      if (!isRecord(raw)) return { ok: false, reason: `message is not an object (got ${describe(raw)})` };
      const type = hasOwn(raw, 'type') ? raw.type : undefined;
      if (typeof type !== 'string') return { ok: false, reason: 'message has no string "type"' };
      const decl = this.byType.get(type);
      if (!decl) return { ok: false, reason: `unknown message type ${quote(type)} (${this.direction} knows ${this.types.join(', ')})` };
      const bad = checkFields(decl.fields, raw, 'type');
      if (bad) return { ok: false, reason: `malformed "${type}" message: ${bad}` };
      return { ok: true, message: raw as MessageOf<M> };
    } catch (e) {
      return { ok: false, reason: `message could not be read: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
}

const resultsField = shaped<Results>('a unet-lens/results@1 results object', (v) => v.schema === 'unet-lens/results@1');

// ---------------------------------------------------------------- host → worker

/** What a job runs: the fields an `analyze` job and a `preload` share. */
const jobFields = {
  modelPath: str(PATH),
  datasetPath: str(PATH),
  /** Overrides of the dataset file's `analysis` block (from settings or CLI flags). */
  overrides: opt(
    object({
      maxPoints: opt(num()),
      seed: opt(num()),
      k: opt(num()),
      maxTaps: opt(num()),
      batchSize: opt(num()),
      shifts: opt(object({ enabled: opt(bool()) })),
    }),
  ),
  /** Threads onnxruntime may use (0 = its default). */
  threads: opt(num()),
  /** The per-split cache's folder (engine/pipeline/splitCache.ts; absent: none). */
  cacheDir: opt(str(PATH)),
};

export const Analyze = message('analyze', {
  id: str(),
  ...jobFields,
  /** Where the worker writes results.json and report.html (absent: results only in the reply). */
  outDir: opt(str(PATH)),
});
export type AnalyzeJob = MessageOf<typeof Analyze>;
/**
 * The job likely to come, sent to a worker started ahead while the host still hashes the files
 * and looks up its cache: the worker starts it at once and holds what it sends until the
 * `analyze` job arrives. A job with the same fields, on files unchanged since, takes it over
 * (what was held goes out under the job's id first); any other job runs afresh. A cache hit
 * kills the worker.
 */
export const Preload = message('preload', jobFields);
export type PreloadRequest = MessageOf<typeof Preload>;

export const workerRequests = new Protocol('host → worker', [Analyze, Preload]);
export type WorkerRequest = MessageOf<(typeof workerRequests extends Protocol<infer M> ? M : never)>;

// ---------------------------------------------------------------- worker → host

export const Progress = message('progress', {
  id: str(),
  event: shaped<ProgressEvent>('a progress event with a string "stage" and "message"', (e) => typeof e.stage === 'string' && typeof e.message === 'string'),
});
export const Log = message('log', { id: str(), level: oneOf('info', 'warn'), message: str(TEXT) });
export const Result = message('result', { id: str(), results: resultsField, peakRssBytes: num() });
/** The results so far (the splits measured up to now; `stage`: what was just finished or starts). */
export const Partial = message('partial', { id: str(), results: resultsField, stage: str() });
export const WorkerFailed = message('error', { id: str(), message: str(TEXT), kind: str(), where: opt(str(PATH)) });

export const workerMessages = new Protocol('worker → host', [Progress, Log, Result, Partial, WorkerFailed]);
export type WorkerMessage = MessageOf<(typeof workerMessages extends Protocol<infer M> ? M : never)>;

// ---------------------------------------------------------------- host → webview

export const ShowResults = message('results', {
  results: resultsField,
  /** The results.json shown (the serializer reopens it after a reload). */
  source: str(PATH),
  /** Found in the host's results cache. */
  cached: opt(bool()),
  /** The tap to select, when the host knows one (the last one selected in a panel of this model). */
  tap: opt(str()),
});
/** Results still being computed: drawn as they are, under the loading banner (`stage`). */
export const ShowPartial = message('partial', { results: resultsField, stage: str() });
export const Status = message('status', { state: oneOf('loading', 'error', 'stale'), message: str(TEXT) });

export const hostToWebview = new Protocol('host → webview', [ShowResults, ShowPartial, Status]);
export type HostToWebview = MessageOf<(typeof hostToWebview extends Protocol<infer M> ? M : never)>;

// ---------------------------------------------------------------- webview → host

/** The webview has loaded and listens: the host posts what the panel shows. */
export const Ready = message('ready');
/** A tap was selected (the host remembers it for the next panel of this model). */
export const SelectTap = message('selectTap', { tap: str() });
export const ExportPng = message('exportPng', {
  name: str(),
  dataUrl: field<string>((v) => str(FILE).check(v) ?? ((v as string).startsWith('data:image/png;base64,') ? undefined : 'must be a data:image/png;base64, URL')),
});
export const ExportCsv = message('exportCsv', { name: str(), csv: str(FILE) });
export const Rerun = message('rerun');
export const OpenReport = message('openReport');
/** Save a copy of the self-contained report.html (a save dialog in the host). */
export const ExportReport = message('exportReport');

export const webviewToHost = new Protocol('webview → host', [Ready, SelectTap, ExportPng, ExportCsv, Rerun, OpenReport, ExportReport]);
export type WebviewToHost = MessageOf<(typeof webviewToHost extends Protocol<infer M> ? M : never)>;

// ---------------------------------------------------------------- host ↔ timeline panel

/** The Timeline panel (webview/timeline.ts): a checkpoint series or a comparison (CONTRACT.md §4). */
export const ShowSeries = message('series', {
  series: shaped<Series>('a unet-lens/series@1 document', (v) => v.schema === 'unet-lens/series@1' && Array.isArray(v.checkpoints) && Array.isArray(v.taps)),
  /** What the live watcher is doing ("Analyzing epoch_7.onnx…"). */
  status: opt(str(TEXT)),
});
export const ShowComparison = message('comparison', {
  comparison: shaped<Comparison>('a unet-lens/comparison@1 document', (v) => v.schema === 'unet-lens/comparison@1' && Array.isArray(v.taps)),
});
export const TimelineStatus = message('timelineStatus', { message: str(TEXT) });

/**
 * What a Timeline or Compare panel needs to come back after a window reload. The host sends
 * it (`remember`), the webview keeps it in its state (`setState`, as `restore`), and VS Code
 * hands that state to the serializer (src/host/timelineRestore.ts checks it here first). It
 * names files only: what the panel shows again is read from them, never from the state.
 */
export const MAX_SAVED_CHECKPOINTS = 10_000;
export const SavedSeries = message('series', {
  /** The checkpoint folder or glob; or, with `resultsDir`, the folder of results folders. */
  spec: str(PATH),
  /** The dataset file the checkpoints are analysed with (absent for a results folder). */
  datasetPath: opt(str(PATH)),
  resultsDir: bool(),
  /** The columns shown: each checkpoint, its modification time when analysed, its results file (in the results cache). */
  checkpoints: list(object({ path: str(PATH), mtimeMs: num(), resultsPath: str(PATH) }), MAX_SAVED_CHECKPOINTS),
});
/** The two results files compared (A, B). */
export const SavedComparison = message('comparison', { a: str(PATH), b: str(PATH) });
export const savedTimeline = new Protocol('saved timeline state', [SavedSeries, SavedComparison]);
export type SavedTimeline = MessageOf<(typeof savedTimeline extends Protocol<infer M> ? M : never)>;
export const Remember = message('remember', {
  state: field<SavedTimeline>((v) => {
    const r = savedTimeline.parse(v);
    return r.ok ? undefined : r.reason;
  }),
});
export const hostToTimeline = new Protocol('host → timeline', [ShowSeries, ShowComparison, TimelineStatus, Remember]);
export type HostToTimeline = MessageOf<(typeof hostToTimeline extends Protocol<infer M> ? M : never)>;

/** A heat-map cell was clicked: open that checkpoint's full panel at that tap. */
export const OpenCheckpoint = message('openCheckpoint', { checkpoint: num(), tap: opt(str()) });
export const timelineToHost = new Protocol('timeline → host', [Ready, OpenCheckpoint, ExportPng, ExportCsv]);
export type TimelineToHost = MessageOf<(typeof timelineToHost extends Protocol<infer M> ? M : never)>;

// ---------------------------------------------------------------- validators

export const parseWorkerRequest = (raw: unknown) => workerRequests.parse(raw);
export const parseWorkerMessage = (raw: unknown) => workerMessages.parse(raw);
export const parseWebviewToHost = (raw: unknown) => webviewToHost.parse(raw);
export const parseHostToWebview = (raw: unknown) => hostToWebview.parse(raw);
export const parseHostToTimeline = (raw: unknown) => hostToTimeline.parse(raw);
export const parseTimelineToHost = (raw: unknown) => timelineToHost.parse(raw);
export const parseSavedTimeline = (raw: unknown) => savedTimeline.parse(raw);
