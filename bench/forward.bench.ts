/**
 * Inference alone, per image: onnxruntime-node (as the engine runs it, every tap an extra graph
 * output; and plain, the logits only) against PyTorch (forward hooks on the same taps; and
 * plain), on the same model, batch 4, 2 threads. Separates the runtime's share of the
 * "forward" stage of bench/analyze.bench.mjs from the per-point work around it.
 *
 *   node --import tsx bench/forward.bench.ts [--case large|example] [--images 16] [--runs 3]
 *
 * Random inputs in [0, 1) (the timing does not depend on the values). Prints medians of ms per
 * image and the ratios torch/ort.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModel } from '../src/engine/model/load';

const ROOT = resolve(__dirname, '..');
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const CASE = opt('--case', 'large');
const IMAGES = Number(opt('--images', '16'));
const RUNS = Number(opt('--runs', '3'));
const B = 4;
const THREADS = 2;
const cases: Record<string, { onnx: string; pt: string; arch: string; size: number }> = {
  large: { onnx: 'bench/.data/model.onnx', pt: 'bench/.data/model.pt', arch: 'bench', size: 256 },
  example: { onnx: 'examples/synthetic/model.onnx', pt: 'examples/synthetic/model.pt', arch: 'example', size: 64 },
};
const c = cases[CASE];
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function timeRuns(fn: () => Promise<void>): Promise<number> {
  await fn(); // warm-up
  const t: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    await fn();
    t.push((performance.now() - t0) / IMAGES);
  }
  return median(t);
}

async function main() {
  const S = c.size;
  const x = new Float32Array(B * S * S).map(() => Math.random());
  const model = await loadModel(join(ROOT, c.onnx), { taps: 'auto', maxTaps: 64, output: 'auto', inputDims: [1, S, S], threads: THREADS });
  const withTaps = await timeRuns(async () => {
    for (let i = 0; i < IMAGES; i += B) await model.run({ data: x, dims: [B, 1, S, S] });
  });
  const taps = model.taps.length;
  await model.dispose();
  const plain = await ort.InferenceSession.create(join(ROOT, c.onnx), { intraOpNumThreads: THREADS, graphOptimizationLevel: 'all' });
  const feeds = { [plain.inputNames[0]]: new ort.Tensor('float32', x, [B, 1, S, S]) };
  const logitsOnly = await timeRuns(async () => {
    for (let i = 0; i < IMAGES; i += B) await plain.run(feeds);
  });

  const py = `
import sys, time, json, torch
sys.path.insert(0, ${JSON.stringify(join(ROOT, 'scripts'))})
torch.set_num_threads(${THREADS})
if ${JSON.stringify(c.arch)} == 'bench':
    from make_bench_model import BenchUNet as Net
else:
    from example_unet import ExampleUNet as Net
net = Net(); net.load_state_dict(torch.load(${JSON.stringify(join(ROOT, c.pt))}, map_location='cpu')); net.eval()
x = torch.rand(${B}, 1, ${S}, ${S})
def run(hooks):
    store = {}
    hs = []
    if hooks:
        for name, m in net.named_modules():
            if isinstance(m, (torch.nn.ReLU, torch.nn.MaxPool2d, torch.nn.ConvTranspose2d)) or name == 'head':
                hs.append(m.register_forward_hook(lambda m, i, o, name=name: store.__setitem__(name, o.numpy())))
    def once():
        with torch.no_grad():
            for i in range(0, ${IMAGES}, ${B}):
                net(x).numpy()
    once()
    ts = []
    for r in range(${RUNS}):
        t0 = time.perf_counter(); once(); ts.append((time.perf_counter() - t0) * 1000 / ${IMAGES})
    for h in hs: h.remove()
    return sorted(ts)[len(ts) // 2]
print(json.dumps({"hooks": run(True), "plain": run(False)}))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const t = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  const f = (v: number) => `${v.toFixed(1)} ms`;
  console.log(`${CASE}: ${IMAGES} images, batch ${B}, ${THREADS} threads, median of ${RUNS} (ms per image)`);
  console.log(`  onnxruntime, ${taps} taps as outputs   ${f(withTaps)}`);
  console.log(`  onnxruntime, logits only           ${f(logitsOnly)}`);
  console.log(`  PyTorch, hooks on the ${taps} taps     ${f(t.hooks)}   torch/ort ${(t.hooks / withTaps).toFixed(2)}×`);
  console.log(`  PyTorch, plain                     ${f(t.plain)}   torch/ort ${(t.plain / logitsOnly).toFixed(2)}×`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
