/**
 * End-to-end harness: the extension inside real VS Code.
 *
 * code-server 4.100.3 (VS Code 1.100.3, installed offline by scripts/install-code-server.sh
 * into .cache/code-server) serves the workbench; Debian's /usr/bin/chromium, driven by
 * playwright-core, is the window. Run test files with `node --import tsx --test …`.
 *
 * Lifecycle: ensureCodeServer() → startCodeServer() → openBrowser(server.url) →
 * waitForWorkbench(page) → runCommand / webviewFrame / … → browser.close() → server.stop().
 * The extension host only starts once a browser has connected.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type FrameLocator, type Page } from 'playwright-core';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const CODE_SERVER_VERSION = '4.100.3';
export const CODE_SERVER_DIR =
  process.env.UNETLENS_CODE_SERVER_DIR ?? path.join(REPO_ROOT, '.cache', 'code-server');
export const CODE_SERVER_MARKER = path.join(CODE_SERVER_DIR, `.complete-${CODE_SERVER_VERSION}`);
export const CODE_SERVER_ENTRY = path.join(
  CODE_SERVER_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const INSTALL_SCRIPT = path.join(REPO_ROOT, 'scripts', 'install-code-server.sh');
export const CHROMIUM_PATH = process.env.UNETLENS_CHROMIUM ?? '/usr/bin/chromium';
export const RESULTS_DIR = path.join(REPO_ROOT, 'test-results', 'e2e');

/** Keep temp dirs (user data, logs) after stop() for debugging: UNETLENS_E2E_KEEP=1. */
const KEEP_TEMP = process.env.UNETLENS_E2E_KEEP === '1';
/** Extra diagnostics on stderr: UNETLENS_E2E_DEBUG=1. */
const DEBUG = !!process.env.UNETLENS_E2E_DEBUG;

/** Settings written to <userDataDir>/User/settings.json unless overridden by the caller. */
export const DEFAULT_USER_SETTINGS: Readonly<Record<string, unknown>> = {
  'workbench.colorTheme': 'Default Dark Modern',
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'security.workspace.trust.enabled': false,
  'security.workspace.trust.startupPrompt': 'never',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'chat.commandCenter.enabled': false,
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'files.hotExit': 'off',
  'window.restoreWindows': 'none',
  'editor.minimap.enabled': false,
};

/** Installs code-server if its completion marker is missing; returns the entry script. */
export function ensureCodeServer(): string {
  if (!fs.existsSync(CODE_SERVER_MARKER)) {
    const started = Date.now();
    process.stderr.write(`[e2e] installing code-server ${CODE_SERVER_VERSION} (about a minute)…\n`);
    const r = spawnSync('bash', [INSTALL_SCRIPT], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) {
      throw new Error(`${INSTALL_SCRIPT} failed (exit ${r.status ?? r.signal})`);
    }
    process.stderr.write(`[e2e] code-server installed in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
  if (!fs.existsSync(CODE_SERVER_ENTRY)) {
    throw new Error(`code-server entry missing: ${CODE_SERVER_ENTRY}; rerun ${INSTALL_SCRIPT} --force`);
  }
  return CODE_SERVER_ENTRY;
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface CodeServerOptions {
  /** Folder opened in the workbench. */
  workspace: string;
  /** Unpacked extension folder (its package.json gives publisher.name-version). */
  extensionDevPath: string;
  /** More unpacked extension folders installed beside it (e.g. a stand-in for another extension's API). */
  extraExtensions?: string[];
  /** Merged over DEFAULT_USER_SETTINGS. */
  userSettings?: Record<string, unknown>;
  /** Extra environment for code-server and hence the extension host. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for GET /healthz (ms). Default 60 s. */
  startTimeoutMs?: number;
  /** Keep Workspace Trust on, so the folder opens in Restricted Mode (default: trust disabled). */
  workspaceTrust?: boolean;
}

export interface CodeServer {
  /** Workbench URL with the workspace folder in the query. */
  url: string;
  port: number;
  /** Temp root holding userDataDir, extensionsDir, config.yaml; removed by stop(). */
  tempDir: string;
  userDataDir: string;
  extensionsDir: string;
  /** code-server's stdout and stderr, chunk by chunk, as they arrive. */
  logs: string[];
  /** Concatenated VS Code server logs (<userDataDir>/logs/**), e.g. the extension host's. */
  serverLogs(): string;
  /** The extension's own output channel ("UNet Lens.log" of every extension host), oldest first. */
  extensionLog(): string;
  process: ChildProcess;
  /** Kills the whole process group (server, extension host, pty host, watchers). */
  stop(): Promise<void>;
}

/**
 * Running code-servers (process group → temp dir), killed if the process ends without
 * stop(): on exit, uncaught errors, and SIGINT/SIGTERM/SIGHUP (which then exit the process).
 */
const liveGroups = new Map<number, string>();
let exitHooksInstalled = false;
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const killAll = () => {
    for (const [pgid, dir] of liveGroups) {
      try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ }
      if (!KEEP_TEMP) { try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* busy */ } }
    }
    liveGroups.clear();
  };
  process.on('exit', killAll);
  // Exit on these signals (Playwright only closes its browsers on SIGTERM/SIGHUP and leaves
  // the process running); process.exit() runs Playwright's own exit hook, which kills Chromium.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => { killAll(); process.exit(128 + os.constants.signals[sig]); });
  }
}

function extensionFolderName(extensionDevPath: string): string {
  const pj = JSON.parse(fs.readFileSync(path.join(extensionDevPath, 'package.json'), 'utf8'));
  return `${pj.publisher}.${pj.name}-${pj.version}`.toLowerCase();
}

function readTree(dir: string, only?: (name: string) => boolean): string {
  if (!fs.existsSync(dir)) return '';
  let out = '';
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || (only && !only(e.name))) continue;
    const p = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    out += `==> ${path.relative(dir, p)} <==\n${fs.readFileSync(p, 'utf8')}\n`;
  }
  return out;
}

/** Starts code-server on a free port with throw-away user data and extensions dirs. */
export async function startCodeServer(opts: CodeServerOptions): Promise<CodeServer> {
  const entry = ensureCodeServer();
  const workspace = path.resolve(opts.workspace);
  const extensionDevPath = path.resolve(opts.extensionDevPath);
  const port = await freePort();

  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-cs-'));
  const userDataDir = path.join(tempDir, 'user-data');
  const extensionsDir = path.join(tempDir, 'extensions');
  const xdg = path.join(tempDir, 'xdg');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  for (const d of ['config', 'data', 'cache']) fs.mkdirSync(path.join(xdg, d), { recursive: true });
  fs.writeFileSync(
    path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ ...DEFAULT_USER_SETTINGS, ...opts.userSettings }, null, 2));
  // The extension under test, unpacked: VS Code scans <extensionsDir>/<publisher.name-version>.
  fs.symlinkSync(extensionDevPath, path.join(extensionsDir, extensionFolderName(extensionDevPath)), 'dir');
  for (const extra of opts.extraExtensions ?? []) fs.symlinkSync(path.resolve(extra), path.join(extensionsDir, extensionFolderName(extra)), 'dir');
  // Our own config file, so code-server never reads or creates ~/.config/code-server/config.yaml.
  const configFile = path.join(tempDir, 'config.yaml');
  fs.writeFileSync(configFile, 'auth: none\ncert: false\n');

  const args = [
    entry,
    '--config', configFile,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    ...(opts.workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    '--ignore-last-opened',
    workspace,
  ];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_CONFIG_HOME: path.join(xdg, 'config'),
    XDG_DATA_HOME: path.join(xdg, 'data'),
    XDG_CACHE_HOME: path.join(xdg, 'cache'),
    ...opts.env,
  };
  // Stray variables from an enclosing VS Code terminal confuse the server.
  for (const k of Object.keys(env)) {
    if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE') delete env[k];
  }
  delete env.PORT; delete env.PASSWORD; delete env.HASHED_PASSWORD;

  // detached: own process group, so stop() can kill every descendant at once.
  const child = spawn(process.execPath, args, {
    cwd: workspace, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid) { liveGroups.set(child.pid, tempDir); installExitHooks(); }
  const logs: string[] = [];
  const logFile = fs.createWriteStream(path.join(tempDir, 'code-server.log'));
  const onData = (b: Buffer) => { const s = b.toString(); logs.push(s); logFile.write(s); };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => { exited = { code, signal }; resolve(); });
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (!exited && child.pid) {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
      const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 5000);
      await exitPromise;
      clearTimeout(timer);
      // The group may outlive its leader (extension host children): make sure it is gone.
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    if (child.pid) liveGroups.delete(child.pid);
    await new Promise<void>((r) => logFile.end(r));
    if (!KEEP_TEMP) fs.rmSync(tempDir, { recursive: true, force: true });
    else process.stderr.write(`[e2e] kept ${tempDir}\n`);
  };

  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`code-server exited early (${JSON.stringify(exited)}):\n${logs.join('')}`);
    }
    try {
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer /healthz within the timeout:\n${logs.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    url: `${base}/?folder=${encodeURIComponent(workspace)}`,
    port,
    tempDir,
    userDataDir,
    extensionsDir,
    logs,
    serverLogs: () => readTree(path.join(userDataDir, 'logs')),
    extensionLog: () => readTree(path.join(userDataDir, 'logs'), (name) => name === 'UNet Lens.log'),
    process: child,
    stop,
  };
}

/** Flags Debian's Chromium needs here (root, no GPU, small /dev/shm, no phoning home). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface OpenBrowserOptions {
  viewport?: { width: number; height: number };
  /** Collect the page's console output here (VS Code logs extension errors to it). */
  console?: string[];
}

/**
 * Launches /usr/bin/chromium (headless, fresh temporary profile: Playwright's launch()
 * creates one per browser and deletes it on close) and opens `url`.
 */
export async function openBrowser(url: string, opts: OpenBrowserOptions = {}): Promise<{ browser: Browser; page: Page }> {
  installExitHooks();
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    chromiumSandbox: false,
    args: CHROMIUM_ARGS,
  });
  try {
    const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1600, height: 1000 } });
    const page = await context.newPage();
    if (opts.console) {
      const sink = opts.console;
      page.on('console', (m) => sink.push(`[${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => sink.push(`[pageerror] ${e.message}`));
    }
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    return { browser, page };
  } catch (e) {
    await browser.close();
    throw e;
  }
}

/**
 * Waits until the workbench is usable: the layout is up, the Explorer shows the
 * workspace folder's files, and the extension host has connected (status bar filled).
 */
export async function waitForWorkbench(page: Page, timeoutMs = 90_000): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('.part.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('.explorer-folders-view .monaco-list-row').first()
    .waitFor({ state: 'visible', timeout: timeoutMs });
}

/** Escapes a string for use inside a RegExp. */
function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Runs a command from the palette: F1, type the title, wait until the highlighted entry
 * is that command, Enter. `title` is the palette label, e.g. "UNet Lens: Analyze Model".
 *
 * The palette snapshots the command list when it opens, and the remote extension host
 * registers extension contributions a second or two after the workbench appears; so
 * when the entry is missing the palette is closed and reopened until `timeoutMs`.
 * `opts.onEnter` is called just before Enter runs the command (a benchmark's start time).
 */
export async function runCommand(page: Page, title: string, timeoutMs = 30_000, opts: { onEnter?: () => void } = {}): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  const input = widget.locator('.quick-input-box input');
  const wanted = widget.locator('.monaco-list-row.focused')
    .filter({ hasText: new RegExp(`^\\s*${reEscape(title)}`) });
  const deadline = Date.now() + timeoutMs;
  let rows: string[] = [];
  for (let attempt = 0; ; attempt++) {
    if (await widget.isVisible()) {
      await page.keyboard.press('Escape');
      await widget.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => {});
    }
    // F1 goes nowhere while the focus is inside a webview's iframe: focus the workbench.
    if (attempt > 0) await page.locator('.part.statusbar').click({ position: { x: 2, y: 2 } }).catch(() => {});
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout: Math.max(1000, Math.min(10_000, deadline - Date.now())) })
      .catch(() => {});
    if (await input.isVisible()) {
      await input.fill(`>${title}`);
      const found = await wanted.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false);
      if (found) {
        if (DEBUG && attempt > 0) process.stderr.write(`[e2e] runCommand "${title}": found after ${attempt + 1} attempts\n`);
        break;
      }
      rows = await widget.locator('.monaco-list-row').allInnerTexts().catch(() => []);
    }
    if (Date.now() > deadline) {
      await page.keyboard.press('Escape');
      throw new Error(`command "${title}" not found in the palette within ${timeoutMs} ms; rows: ${JSON.stringify(rows)}`);
    }
  }
  opts.onEnter?.();
  await input.press('Enter');
  // The palette closes, or the command reuses the same widget for its own quick pick
  // (then the input no longer holds the ">title" text).
  await page.waitForFunction(
    () => {
      const w = document.querySelector('.quick-input-widget') as HTMLElement | null;
      const i = w?.querySelector('.quick-input-box input') as HTMLInputElement | null;
      return !w || w.style.display === 'none' || !w.offsetParent || !i || !i.value.startsWith('>');
    },
    undefined,
    { timeout: 10_000 },
  );
}

export interface WebviewFrameOptions {
  /** Only webviews created by this extension, e.g. "unetlens.unet-lens" (matched in the iframe's src). */
  extensionId?: string;
  /** Pick the n-th matching webview (DOM order) when several are open. */
  index?: number;
}

/**
 * The webview's content document (VS Code nests it in two iframes: the host iframe
 * `iframe.webview.ready`, then the extension's HTML in `#active-frame`). With no options
 * exactly one webview must be open (Playwright's strict mode); pass extensionId / index
 * when there are several.
 */
export function webviewFrame(page: Page, opts: WebviewFrameOptions = {}): FrameLocator {
  let sel = 'iframe.webview.ready';
  if (opts.extensionId) sel += `[src*="extensionId=${opts.extensionId.toLowerCase()}&"]`;
  let outer = page.frameLocator(sel);
  if (opts.index !== undefined) outer = outer.nth(opts.index);
  return outer.frameLocator('#active-frame');
}

/**
 * The webview (of `extensionId`) whose page has an element matching `selector`, when several
 * are open: each webview shown is tried in turn until one matches or `timeoutMs` runs out.
 * A webview in a tab that is not shown has no iframe: reveal its tab first.
 */
export async function webviewWith(page: Page, selector: string, opts: { extensionId: string; timeoutMs: number }): Promise<FrameLocator> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const n = await page.locator(`iframe.webview.ready[src*="extensionId=${opts.extensionId.toLowerCase()}&"]`).count();
    for (let i = 0; i < n; i++) {
      const f = webviewFrame(page, { extensionId: opts.extensionId, index: i });
      if ((await f.locator(selector).count().catch(() => 0)) > 0) return f;
    }
    if (Date.now() > deadline) {
      const bodies = await Promise.all(Array.from({ length: n }, (_, i) => webviewFrame(page, { extensionId: opts.extensionId, index: i }).locator('body').evaluate((b) => `${(b as HTMLElement).dataset.state}: ${(b as HTMLElement).innerText.slice(0, 160)}`, undefined, { timeout: 2000 }).catch((e: Error) => `(${e.message.split('\n')[0]})`)));
      throw new Error(`no webview shows ${selector} within ${opts.timeoutMs} ms; the ${n} webviews show ${JSON.stringify(bodies)}`);
    }
    await page.waitForTimeout(500);
  }
}

/** Saves a PNG of the whole window to test-results/e2e/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  // animations: 'disabled' finishes CSS transitions first (notification toasts slide in).
  await page.screenshot({ path: file, animations: 'disabled' });
  return file;
}

/** Texts of the notification toasts currently shown (bottom right). */
export async function notifications(page: Page): Promise<string[]> {
  return page.locator('.notifications-toasts .notification-toast .notification-list-item-message')
    .allInnerTexts();
}

/** Waits for a notification toast containing `text` and returns its full text. */
export async function waitForNotification(page: Page, text: string | RegExp, timeoutMs = 15_000): Promise<string> {
  const loc = page.locator('.notifications-toasts .notification-toast .notification-list-item-message')
    .filter({ hasText: text }).first();
  await loc.waitFor({ state: 'visible', timeout: timeoutMs });
  return loc.innerText();
}

/**
 * Right-clicks `fileName` in the Explorer tree and chooses `menuItemLabel` from the
 * context menu. The file must be visible in the tree (top level, or in an expanded folder).
 * Like runCommand, it reopens the menu until `timeoutMs` when the item is missing, since
 * extension menu contributions arrive a little after the workbench.
 */
export async function explorerContextMenu(page: Page, fileName: string, menuItemLabel: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const row = page.locator('.explorer-folders-view .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${reEscape(fileName)}$`) }) })
    .first();
  await row.waitFor({ state: 'visible', timeout: timeoutMs });
  // VS Code draws its menus inside a shadow root; Playwright's CSS engine pierces it.
  const menu = page.locator('.context-view .monaco-menu');
  const item = menu.locator('.action-item:not(.disabled) .action-label')
    .filter({ hasText: new RegExp(`^${reEscape(menuItemLabel)}$`) })
    .first();
  for (;;) {
    await row.click({ button: 'right' });
    // A right-click can be swallowed (focus still moving, e.g. right after Quick Open closed):
    // no menu within 5 s means right-click again, until the deadline.
    const opened = await menu.first().waitFor({ state: 'visible', timeout: Math.min(5000, Math.max(1000, deadline - Date.now())) })
      .then(() => true, () => false);
    if (!opened) {
      if (Date.now() > deadline) throw new Error(`no context menu opened on ${fileName} in the Explorer within ${timeoutMs} ms`);
      await page.keyboard.press('Escape');
      await page.waitForTimeout(500);
      continue;
    }
    const found = await item.waitFor({ state: 'visible', timeout: Math.min(2000, Math.max(100, deadline - Date.now())) })
      .then(() => true, () => false);
    if (found) {
      // A plain Playwright click (move, down, up at once) right after the menu opens is
      // swallowed: hover first. The menu can also close between finding the item and hovering
      // it (the full run saw a 30 s hover time-out on the first right-click after start): then
      // open it again.
      const hovered = await item.hover({ timeout: Math.min(5000, Math.max(1000, deadline - Date.now())) }).then(() => true, () => false);
      if (hovered) break;
      await page.keyboard.press('Escape');
      if (Date.now() > deadline) throw new Error(`the Explorer context menu of ${fileName} closed before "${menuItemLabel}" could be clicked, until ${timeoutMs} ms`);
      await page.waitForTimeout(500);
      continue;
    }
    const labels = await menu.locator('.action-label').allInnerTexts().catch(() => []);
    await page.keyboard.press('Escape');
    await menu.first().waitFor({ state: 'hidden', timeout: 2000 }).catch(() => {});
    if (Date.now() > deadline) {
      throw new Error(`"${menuItemLabel}" not in the Explorer context menu of ${fileName} within ${timeoutMs} ms; ` +
        `items: ${JSON.stringify(labels.filter((l) => l.trim()))}`);
    }
    await page.waitForTimeout(500);
  }
  // Hovered (above), a pause, and the button held a little: works every time.
  await page.waitForTimeout(250);
  await item.click({ delay: 50 });
  const closed = await menu.first().waitFor({ state: 'hidden', timeout: 3000 }).then(() => true, () => false);
  if (!closed) {
    await item.hover();
    await page.keyboard.press('Enter');
    await menu.first().waitFor({ state: 'hidden', timeout: timeoutMs });
  }
}

/** Pids of UNet Lens analysis workers (dist/worker.js) started under this code-server. */
/**
 * Workspace settings (.vscode/settings.json), merged into what is there: VS Code picks up
 * changes to this file at once (the user settings file in code-server's user-data folder only
 * at the next reload).
 */
export function workspaceSettings(workspace: string, extra: Record<string, unknown>): void {
  const file = path.join(workspace, '.vscode', 'settings.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const cur = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  fs.writeFileSync(file, JSON.stringify({ ...cur, ...extra }, null, 2));
}

export function workerPids(server: CodeServer): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => Number(f[1]) === server.process.pid && f.slice(2).some((a) => /\/dist\/worker\.js$/.test(a)))
    .map((f) => Number(f[0]));
}

/** The UNet Lens panel's webview body once it is in `state` (and, if given, shows `hasText`). */
export async function panelBody(page: Page, timeoutMs: number, state: string, hasText?: string) {
  const frame = webviewFrame(page, { extensionId: 'unetlens.unet-lens' });
  const body = frame.locator(`body[data-state="${state}"]`, hasText ? { hasText } : undefined);
  await body.waitFor({ state: 'attached', timeout: timeoutMs });
  return { frame, body };
}

/**
 * Types a path into VS Code's simple file dialog (code-server) and accepts it. The dialog lists
 * the folder as it reads it, and an Enter before that is ignored: retried. `stuckShot` names the
 * screenshot taken when it never accepts.
 */
export async function answerFileDialog(page: Page, file: string, stuckShot?: string): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  const input = widget.locator('.quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(file);
  for (let attempt = 0; attempt < 5; attempt++) {
    await page.waitForTimeout(500);
    if ((await input.inputValue()) !== file) await input.fill(file);
    await input.press('Enter');
    if (await widget.waitFor({ state: 'hidden', timeout: 3000 }).then(() => true, () => false)) return;
  }
  if (stuckShot) await screenshot(page, stuckShot);
  throw new Error(`the file dialog did not accept ${file}`);
}
