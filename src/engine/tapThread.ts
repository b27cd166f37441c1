/**
 * One thread of the tap pool (pipeline/tapPool.ts), bundled as dist/tapThread.js: one-thread
 * onnxruntime sessions of the kNN and k-means kernels (metrics/gemm-onnx.ts) and the per-tap
 * jobs of pipeline/tapJobs.ts, the same functions the main thread runs without a pool. Every
 * request gets an answer: the job's result, or the message of what went wrong (the pool then
 * runs that job in the main thread, which gives the same error with its kind).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { createOnnxGemm, createOnnxTopk } from './metrics/gemm-onnx';
import type { JobContext, MapJob, TapJob } from './pipeline/jobTypes';
import { runMapJob, runTapJob } from './pipeline/tapJobs';
import type { PoolReply, PoolRequest } from './pipeline/tapPool';

const port = parentPort;
if (!port) throw new Error('tapThread.js runs as a worker thread of the analysis');

const opts = { ...((workerData as { sessionOptions?: object } | undefined)?.sessionOptions ?? {}), intraOpNumThreads: 1, interOpNumThreads: 1 };
const kernels = Promise.all([createOnnxGemm(ort, opts), createOnnxTopk(ort, opts)]);
const { settings, numClasses, task } = (workerData as { run: Omit<JobContext, 'gemm' | 'topk'> }).run;

port.on('message', (req: PoolRequest) => {
  void (async () => {
    try {
      const [gemm, topk] = await kernels;
      const ctx: JobContext = { settings, numClasses, task, gemm, topk };
      const result = req.kind === 'tap' ? await runTapJob(ctx, req.job as TapJob) : await runMapJob(ctx, req.job as MapJob);
      const reply: PoolReply = { id: req.id, result };
      port.postMessage(reply);
    } catch (e) {
      const reply: PoolReply = { id: req.id, error: e instanceof Error ? e.message : String(e) };
      port.postMessage(reply);
    }
  })();
});
