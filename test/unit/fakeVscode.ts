/**
 * A small fake of the `vscode` API surface the results panel, the analyze command and the
 * Timeline's serializer use (webview panels, event emitters, Uri, messages, progress,
 * settings, file watchers), installed as the module `vscode` for code that `require`s it.
 *
 * Import this file BEFORE anything that imports `vscode` (the test files compile to
 * CommonJS, so imports run in order). Every emitter counts its live listeners, so a test
 * can check that disposing something released what it registered.
 */
import Module from 'node:module';
import * as path from 'node:path';

type Listener<T> = (e: T) => unknown;

export class EventEmitter<T> {
  private listeners = new Set<Listener<T>>();
  disposed = false;
  static live = new Set<EventEmitter<unknown>>();

  constructor() {
    EventEmitter.live.add(this as EventEmitter<unknown>);
  }

  readonly event = (listener: Listener<T>) => {
    if (this.disposed) return { dispose() {} };
    this.listeners.add(listener);
    return { dispose: () => void this.listeners.delete(listener) };
  };

  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  dispose(): void {
    this.disposed = true;
    this.listeners.clear();
    EventEmitter.live.delete(this as EventEmitter<unknown>);
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
    readonly fragment = '',
  ) {}
  static file(p: string): Uri {
    return new Uri('file', p);
  }
  static joinPath(base: Uri, ...segments: string[]): Uri {
    return new Uri(base.scheme, path.join(base.path, ...segments));
  }
  get fsPath(): string {
    return this.path;
  }
  with(change: { fragment?: string }): Uri {
    return new Uri(this.scheme, this.path, change.fragment ?? this.fragment);
  }
  toString(): string {
    return `${this.scheme}://${this.path}${this.fragment ? `#${this.fragment}` : ''}`;
  }
}

export class FakeWebviewPanel {
  readonly onMessage = new EventEmitter<unknown>();
  readonly onViewState = new EventEmitter<{ webviewPanel: FakeWebviewPanel }>();
  readonly onDispose = new EventEmitter<void>();
  /** Messages the host posted to the webview. */
  readonly posted: unknown[] = [];
  visible = true;
  active = true;
  disposed = false;
  readonly webview = {
    options: {} as unknown,
    html: '',
    cspSource: 'vscode-resource:',
    asWebviewUri: (u: Uri) => u,
    postMessage: async (m: unknown) => {
      if (this.disposed) throw new Error('Webview is disposed');
      this.posted.push(m);
      return true;
    },
    onDidReceiveMessage: this.onMessage.event,
  };
  readonly onDidChangeViewState = this.onViewState.event;
  readonly onDidDispose = this.onDispose.event;

  private name: string;
  constructor(
    readonly viewType: string,
    title: string,
  ) {
    this.name = title;
  }

  /** As VS Code's: reading or setting it after dispose throws. */
  get title(): string {
    if (this.disposed) throw new Error('Webview is disposed');
    return this.name;
  }
  set title(t: string) {
    if (this.disposed) throw new Error('Webview is disposed');
    this.name = t;
  }

  reveal(): void {
    this.visible = true;
  }

  /** As VS Code: fires onDidDispose once, then is inert. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.onDispose.fire();
  }

  /** What the webview would send (validated by the host like any message). */
  receive(m: unknown): void {
    this.onMessage.fire(m);
  }

  /** The listeners the host still holds on this panel. */
  get listenerCount(): number {
    return this.onMessage.listenerCount + this.onViewState.listenerCount + this.onDispose.listenerCount;
  }
}

/** A file watcher that never fires by itself: `watchers` lists the folders watched. */
export class RelativePattern {
  constructor(
    readonly base: Uri,
    readonly pattern: string,
  ) {}
}

export interface FakeState {
  /** The folders file watchers were created on (RelativePattern base), in order. */
  watchers: string[];
  panels: FakeWebviewPanel[];
  messages: { kind: 'error' | 'info' | 'warning'; text: string }[];
  progress: { message?: string }[];
  config: Record<string, unknown>;
}

export const state: FakeState = { watchers: [], panels: [], messages: [], progress: [], config: {} };

export function reset(): void {
  state.watchers.length = 0;
  state.panels.length = 0;
  state.messages.length = 0;
  state.progress.length = 0;
  state.config = {};
}

const message = (kind: 'error' | 'info' | 'warning') => async (text: string) => {
  state.messages.push({ kind, text });
  return undefined;
};

export const fake = {
  EventEmitter,
  Uri,
  RelativePattern,
  ViewColumn: { Active: -1, Beside: -2, One: 1 },
  ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
  window: {
    createWebviewPanel(viewType: string, title: string) {
      const p = new FakeWebviewPanel(viewType, title);
      state.panels.push(p);
      return p;
    },
    showErrorMessage: message('error'),
    showInformationMessage: message('info'),
    showWarningMessage: message('warning'),
    showSaveDialog: async () => undefined,
    async withProgress<R>(_opts: unknown, task: (p: { report(v: { message?: string }): void }, token: unknown) => Promise<R>): Promise<R> {
      const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };
      return task({ report: (v) => void state.progress.push(v) }, token);
    },
  },
  workspace: {
    isTrusted: true,
    workspaceFolders: undefined,
    getConfiguration: () => ({ get: (k: string, d?: unknown) => (k in state.config ? state.config[k] : d) }),
    asRelativePath: (u: Uri | string) => (typeof u === 'string' ? u : u.fsPath),
    fs: { writeFile: async () => undefined, copy: async () => undefined },
    createFileSystemWatcher(pattern: RelativePattern) {
      state.watchers.push(pattern.base.fsPath);
      const never = () => ({ dispose() {} });
      return { onDidCreate: never, onDidChange: never, onDidDelete: never, dispose() {} };
    },
  },
  env: { openExternal: async () => true },
  commands: { executeCommand: async () => undefined },
};

const mod = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
const load = mod._load;
mod._load = function (request: string, parent: unknown, isMain: boolean) {
  if (request === 'vscode') return fake;
  return load.call(this, request, parent, isMain);
};
