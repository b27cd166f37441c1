/**
 * The specification lives in the repository: every citation of METHOD.md, CONTRACT.md and
 * ARCHITECTURE.md in the code, tests, scripts, benches and README names a document in docs/
 * and, when it names a section ("METHOD.md §4", "METHOD §1", "METHOD.md §1–§4",
 * "METHOD.md section 4"), a section heading that exists there ("## §4 …"). A citation with a
 * path must point into docs/ (never to a folder outside the repository).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const DOCS = ['METHOD', 'CONTRACT', 'ARCHITECTURE'] as const;
type Doc = (typeof DOCS)[number];
const SCANNED = ['src', 'webview', 'test', 'scripts', 'bench'];
const SKIPPED = new Set(['test/fixtures']);
const TEXT = /\.(ts|mts|cts|js|mjs|cjs|py|sh|md|json)$/;

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (SKIPPED.has(rel) || e.name === 'node_modules') continue;
    if (e.isDirectory()) out.push(...listFiles(rel));
    else if (TEXT.test(e.name)) out.push(rel);
  }
  return out;
}

/** Section numbers of a doc: its headings "## §N …". */
function sections(doc: Doc): Set<number> {
  const file = path.join(ROOT, 'docs', `${doc}.md`);
  if (!existsSync(file)) return new Set();
  const found = new Set<number>();
  for (const m of readFileSync(file, 'utf8').matchAll(/^#{1,6}\s*§(\d+)\b/gm)) found.add(Number(m[1]));
  return found;
}

interface Citation {
  where: string;
  text: string;
  doc: Doc;
  /** Sections cited (a range gives every section in it); empty for a plain mention. */
  sections: number[];
  /** Folder part written before the file name ("docs/", "../shared/docs/"), or "". */
  dir: string;
}

// METHOD.md §4 · METHOD §1 · METHOD §1's · METHOD.md §1–§4 · METHOD.md §2-§4 · METHOD.md section 4 · docs/METHOD.md
const CITATION = new RegExp(
  String.raw`((?:[\w.~-]+/)*)\b(${DOCS.join('|')})(\.md)?(?:'s)?(?:\s*(?:§\s*(\d+)(?:\s*[–-]\s*§?\s*(\d+))?|section\s+(\d+)))?`,
  'g',
);

function citations(): Citation[] {
  const out: Citation[] = [];
  const files = [...SCANNED.flatMap(listFiles), 'README.md'];
  for (const file of files) {
    const lines = readFileSync(path.join(ROOT, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const m of line.matchAll(CITATION)) {
        const [text, dir, doc, ext, from, to, word] = m;
        const first = from ?? word;
        // A bare word (METHOD without .md and without a section) is not a citation: e.g. METHOD_VERSION.
        if (!ext && !first) continue;
        const secs: number[] = [];
        if (first) for (let s = Number(first); s <= Number(to ?? first); s++) secs.push(s);
        out.push({ where: `${file}:${i + 1}`, text: text.trim(), doc: doc as Doc, sections: secs, dir });
      }
    });
  }
  return out;
}

const all = citations();
const headings = Object.fromEntries(DOCS.map((d) => [d, sections(d)])) as Record<Doc, Set<number>>;

describe('docs: the specification the code cites is in docs/', () => {
  test('the documents exist and have numbered sections', () => {
    for (const d of DOCS) assert.ok(existsSync(path.join(ROOT, 'docs', `${d}.md`)), `docs/${d}.md is missing`);
    assert.deepEqual([...headings.METHOD].sort(), [1, 2, 3, 4, 5], 'METHOD.md sections');
    assert.deepEqual([...headings.CONTRACT].sort(), [1, 2, 3, 4], 'CONTRACT.md sections');
  });

  test('the citations are found (the pattern reads every form in use)', () => {
    const withSection = all.filter((c) => c.sections.length > 0);
    assert.ok(withSection.length >= 40, `only ${withSection.length} section citations found`);
    for (const form of ['METHOD.md §5', 'METHOD §1', 'CONTRACT.md §3']) {
      assert.ok(all.some((c) => c.text.startsWith(form)), `no citation of the form "${form}"`);
    }
    assert.ok(all.some((c) => c.sections.length > 1), 'no range citation (METHOD.md §1–§4)');
  });

  test('every cited section exists', () => {
    const bad = all.flatMap((c) => c.sections.filter((s) => !headings[c.doc].has(s)).map((s) => `${c.where}: "${c.text}" (no "§${s}" heading in docs/${c.doc}.md)`));
    assert.deepEqual(bad, []);
  });

  test('a citation with a path points into docs/ of this repository', () => {
    const bad = all
      .filter((c) => c.dir !== '')
      .filter((c) => {
        const file = path.join(ROOT, c.where.split(':')[0]);
        const target = path.join(ROOT, 'docs', `${c.doc}.md`);
        const fromFile = path.resolve(path.dirname(file), c.dir, `${c.doc}.md`);
        const fromRoot = path.resolve(ROOT, c.dir, `${c.doc}.md`);
        return (fromFile !== target && fromRoot !== target) || c.dir.includes('shared');
      })
      .map((c) => `${c.where}: "${c.text}"`);
    assert.deepEqual(bad, [], 'cite docs/METHOD.md (or METHOD.md), not another copy');
  });
});
