/**
 * The rooms of docs/ARCHITECTURE.md, checked on the import graph of src/ and webview/:
 *
 * - no import cycles (type-only imports and dynamic `import()` count: a cycle through types
 *   is still two files that cannot be understood, moved or tested one without the other);
 * - no view of the panel (webview/views/X.ts or webview/views/X/; `view.ts` and `context.ts` are shared) imports another
 *   view: what two views share lives beside them in webview/;
 * - nothing in src/engine/ imports `vscode`;
 * - the building blocks (src/engine/{metrics,data,model,shift}) never import the pipeline
 *   (src/engine/pipeline/).
 *
 * Imports are read with TypeScript's own pre-processor (`ts.preProcessFile`: import and
 * export-from statements, `import()` and `require()`, comments ignored) and resolved by the
 * small resolver below (relative specifiers only; packages are leaves).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');

// ------------------------------------------------------------------------------ the graph

interface SourceFile {
  /** Repo-relative, forward slashes. */
  file: string;
  /** Resolved repo-relative targets of relative imports. */
  local: string[];
  /** Bare specifiers (packages, node: builtins, `vscode`). */
  packages: string[];
  /** Relative specifiers that resolve to nothing. */
  unresolved: string[];
}

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listTs(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const rel = (abs: string) => path.relative(ROOT, abs).split(path.sep).join('/');

/** TypeScript's node resolution for a relative specifier: the file, then with .ts/.json/.js, then an index. */
function resolveImport(fromAbs: string, spec: string): string | null {
  const base = path.resolve(path.dirname(fromAbs), spec);
  const candidates = [base, `${base}.ts`, `${base}.json`, `${base}.js`, path.join(base, 'index.ts')];
  for (const c of candidates) if (existsSync(c) && statSync(c).isFile()) return c;
  return null;
}

function readGraph(): Map<string, SourceFile> {
  const graph = new Map<string, SourceFile>();
  for (const abs of [...listTs(path.join(ROOT, 'src')), ...listTs(path.join(ROOT, 'webview'))]) {
    const info = ts.preProcessFile(readFileSync(abs, 'utf8'), true, true);
    const node: SourceFile = { file: rel(abs), local: [], packages: [], unresolved: [] };
    for (const { fileName: spec } of info.importedFiles) {
      if (!spec.startsWith('.')) node.packages.push(spec);
      else {
        const target = resolveImport(abs, spec);
        if (target) node.local.push(rel(target));
        else node.unresolved.push(spec);
      }
    }
    graph.set(node.file, node);
  }
  return graph;
}

/** Strongly connected components with a cycle (Tarjan), each sorted. */
function cycles(graph: Map<string, SourceFile>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.local ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)!.local.includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

/** One import path around a cycle, for the failure message: a → b → … → a. */
function cyclePath(graph: Map<string, SourceFile>, scc: string[]): string {
  const inScc = new Set(scc);
  const start = scc[0];
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v)!.local) {
      if (!inScc.has(w)) continue;
      if (w === start) {
        const chain = [start];
        for (let u: string | undefined = v; u && u !== start; u = prev.get(u)) chain.splice(1, 0, u);
        return [...chain, start].join(' → ');
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return scc.join(', ');
}

/** Which view a file belongs to: `webview/views/X.ts` and everything under `webview/views/X/`
 * are view X; the shared contract (`view.ts`, `context.ts`) belongs to none. */
const SHARED_VIEW_FILES = new Set(['webview/views/context.ts', 'webview/views/view.ts']);
const viewOf = (f: string): string | undefined =>
  f.startsWith('webview/views/') && !SHARED_VIEW_FILES.has(f) ? f.slice('webview/views/'.length).split('/')[0].replace(/\.ts$/, '') : undefined;
const isPipeline = (f: string) => f.startsWith('src/engine/pipeline/');
const isBuildingBlock = (f: string) => /^src\/engine\/(metrics|data|model|shift)\//.test(f);

const graph = readGraph();
const found = cycles(graph);
const viewImports = (): [string, string][] =>
  [...graph.values()]
    .filter((n) => viewOf(n.file) !== undefined)
    .flatMap((n) => n.local.filter((t) => viewOf(t) !== undefined && viewOf(t) !== viewOf(n.file)).map((t) => [n.file, t] as [string, string]));

// ------------------------------------------------------------------------------ the tests

describe('architecture: the import graph of src/ and webview/', () => {
  test('the graph is read: every file is seen and every relative import resolves', () => {
    assert.ok(graph.size > 50, `only ${graph.size} files under src/ and webview/`);
    for (const f of ['src/extension.ts', 'src/engine/types.ts', 'webview/main.ts']) assert.ok(graph.has(f), `${f} not read`);
    const bad = [...graph.values()].flatMap((n) => n.unresolved.map((s) => `${n.file}: '${s}'`));
    assert.deepEqual(bad, [], 'relative imports the resolver cannot find');
    // The resolver sees type-only and dynamic imports and run-time requires (cycles can go through them).
    assert.ok(graph.get('src/engine/model/tfjsModel.ts')!.local.includes('src/engine/model/tfjsGraphModel.ts'), 'tfjsModel.ts → tfjsGraphModel.ts (dynamic import) not seen');
    assert.ok(graph.get('src/engine/model/load.ts')!.local.includes('src/engine/model/tfjsLoaders.ts'), 'load.ts → tfjsLoaders.ts (require) not seen');
    assert.ok(graph.get('src/protocol/messages.ts')!.local.includes('src/engine/types.ts'), 'messages.ts → types.ts (type-only import) not seen');
  });

  test('no import cycles', () => {
    assert.deepEqual(
      found.map((scc) => cyclePath(graph, scc)),
      [],
      'import cycles (break them: move what both sides need into a third file)',
    );
  });

  test('no view imports another view (view.ts and context.ts are the shared contract)', () => {
    assert.ok(viewOf('webview/views/withoutLabels/heatStrip.ts') === 'withoutLabels' && viewOf('webview/views/view.ts') === undefined);
    assert.deepEqual(viewImports(), [], 'webview/views/* importing each other: move the shared part to webview/');
  });

  test('src/engine never imports vscode', () => {
    const bad = [...graph.values()].filter((n) => n.file.startsWith('src/engine/') && n.packages.some((p) => p === 'vscode' || p.startsWith('vscode/'))).map((n) => n.file);
    assert.deepEqual(bad, []);
  });

  test('src/engine/{metrics,data,model,shift} never import the pipeline', () => {
    const bad = [...graph.values()].filter((n) => isBuildingBlock(n.file)).flatMap((n) => n.local.filter(isPipeline).map((t) => `${n.file} → ${t}`));
    assert.deepEqual(bad, []);
  });

});
