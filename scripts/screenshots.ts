// The README's screenshots, generated from the current build in real VS Code (code-server
// 4.100.3 + Debian Chromium, as the end-to-end tests run it), never made by hand:
//
//   node --import tsx scripts/screenshots.ts [--out media]      (npm run screenshots)
//
// A clean workspace: a copy of examples/synthetic (without unetlens-out) in a temporary
// folder named like a user's project ("lesion-study"), with a train.py beside the model. The
// analysis runs through the Explorer's "Analyze Generalization", the panel opens beside
// train.py, and the window (1600×1000, the default dark theme) is captured:
//   media/screenshot-panel.png           the verdict above the Overview
//   media/screenshot-unet.png            The U coloured by feature shift on siteB
//   media/screenshot-without-labels.png  the estimates of siteB, the reference line, the cases to label
// Nothing of the machine shows: no temporary path, no test fixture.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { explorerContextMenu, openBrowser, runCommand, startCodeServer, waitForWorkbench, webviewFrame } from '../test/e2e/codeServer';

const ROOT = path.resolve(__dirname, '..');
const outArg = process.argv.indexOf('--out');
const OUT = path.resolve(ROOT, outArg > 0 ? process.argv[outArg + 1] : 'media');
const VIEWPORT = { width: 1600, height: 1000 };

async function main(): Promise<void> {
  const build = spawnSync('node', ['esbuild.mjs'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('the build failed');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-shots-'));
  const workspace = path.join(tmp, 'lesion-study');
  fs.cpSync(path.join(ROOT, 'examples', 'synthetic'), workspace, { recursive: true, filter: (src) => !src.includes('unetlens-out') });
  fs.writeFileSync(
    path.join(workspace, 'train.py'),
    [
      'import torch',
      'from example_unet import ExampleUNet',
      '',
      'model = ExampleUNet()',
      '# ... train on data/train, validate on data/test ...',
      'x = torch.zeros(1, 1, 64, 64)',
      'torch.onnx.export(model, x, "model.onnx", opset_version=13,',
      '                  input_names=["image"], output_names=["logits"],',
      '                  dynamic_axes={"image": {0: "batch"}})',
      '',
    ].join('\n'),
  );

  const server = await startCodeServer({ workspace, extensionDevPath: ROOT });
  const { browser, page } = await openBrowser(server.url, { viewport: VIEWPORT });
  const shots: string[] = [];
  try {
    await waitForWorkbench(page);
    await runCommand(page, 'Go to File...').catch(() => page.keyboard.press('Control+P'));
    const quick = page.locator('.quick-input-widget .quick-input-box input');
    await quick.fill('train.py');
    await page.locator('.quick-input-widget .monaco-list-row.focused', { hasText: 'train.py' }).waitFor({ timeout: 15_000 });
    await quick.press('Enter');
    await page.waitForTimeout(2000); // the editor settles (a menu opened while it takes focus closes again)
    for (let attempt = 1; ; attempt++) {
      try {
        await explorerContextMenu(page, 'model.onnx', 'Analyze Generalization', 30_000);
        break;
      } catch (e) {
        if (attempt >= 3) throw e;
        await page.keyboard.press('Escape');
        await page.waitForTimeout(1000);
      }
    }
    const f = webviewFrame(page, { extensionId: 'unetlens.unet-lens' });
    await f.locator('body[data-state="ready"]').waitFor({ state: 'attached', timeout: 300_000 });
    await f.locator('section[data-role="verdict"][data-verdict="shown"]').waitFor({ timeout: 10_000 });
    // no notification toast over the picture, no focus ring on the Explorer
    await page.keyboard.press('Escape');
    await page.locator('.editor-group-container .monaco-editor .view-lines').first().click({ position: { x: 300, y: 400 } }).catch(() => {});
    await page.waitForTimeout(1500);
    const shot = async (name: string) => {
      const file = path.join(OUT, name);
      await page.screenshot({ path: file, animations: 'disabled' });
      shots.push(file);
    };
    const tab = async (title: string) => {
      await f.getByRole('tab', { name: title, exact: true }).click();
      await f.locator('[role="tab"][aria-selected="true"]', { hasText: title }).waitFor({ timeout: 5000 });
      await page.waitForTimeout(700);
    };
    fs.mkdirSync(OUT, { recursive: true });
    await shot('screenshot-panel.png');

    await tab('The U');
    await f.locator('#unet-metric').selectOption('featureShift');
    await f.locator('#unet-split').selectOption('siteB');
    await f.locator('svg[data-chart="unet"][data-split="siteB"]').scrollIntoViewIfNeeded();
    await page.waitForTimeout(500);
    await shot('screenshot-unet.png');

    await tab('Without labels');
    await f.locator('.nl-split-card[data-split="siteB"]').scrollIntoViewIfNeeded();
    await f.locator('#nl-est-h').evaluate((e) => e.scrollIntoView({ block: 'start' }));
    await page.waitForTimeout(500);
    await shot('screenshot-without-labels.png');
    await tab('Overview');
  } finally {
    await browser.close().catch(() => {});
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  for (const s of shots) console.log(`wrote ${path.relative(ROOT, s)}`);

}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
