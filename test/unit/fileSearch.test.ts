/**
 * The analyze command's workspace searches done ahead (src/host/fileSearch.ts): searched
 * once at activation, reused, dropped when the watcher sees a matching file come or go, and
 * searched again when every file it found is gone.
 */
import { fake, EventEmitter, Uri } from './fakeVscode'; // first: installs `vscode`
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileSearch } from '../../src/host/fileSearch';

test('FileSearch: searched ahead once, reused, searched again after a create / delete or when its files are gone', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'unetlens-search-'));
  try {
    const a = path.join(dir, 'a.onnx');
    const b = path.join(dir, 'b.onnx');
    writeFileSync(a, 'x');
    writeFileSync(b, 'x');
    let onDisk = [a, b];
    let searches = 0;
    const created = new EventEmitter<unknown>();
    const deleted = new EventEmitter<unknown>();
    const ws = fake.workspace as Record<string, unknown>;
    ws.findFiles = async () => (searches++, onDisk.map((p) => Uri.file(p)));
    ws.createFileSystemWatcher = () => ({ onDidCreate: created.event, onDidDelete: deleted.event, dispose() {} });
    ws.onDidChangeWorkspaceFolders = () => ({ dispose() {} });
    const search = new FileSearch('**/*.onnx', '', 10);
    search.warm();
    search.warm();
    assert.equal(searches, 1);
    const paths = async () => (await search.files()).map((u) => u.fsPath).sort();
    assert.deepEqual(await paths(), [a, b]);
    assert.equal(searches, 1, 'the search done ahead is used');

    // Deleted without the watcher saying so (yet): left out, no new search.
    rmSync(b);
    onDisk = [a];
    assert.deepEqual(await paths(), [a]);
    assert.equal(searches, 1);

    // The watcher sees a new file: the next use searches again.
    const c = path.join(dir, 'c.onnx');
    writeFileSync(c, 'x');
    onDisk = [a, c];
    created.fire(undefined);
    assert.deepEqual(await paths(), [a, c]);
    assert.equal(searches, 2);

    // Every file found is gone: searched again at once.
    rmSync(a);
    rmSync(c);
    const d = path.join(dir, 'd.onnx');
    writeFileSync(d, 'x');
    onDisk = [d];
    assert.deepEqual(await paths(), [d]);
    assert.equal(searches, 3);
    search.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
