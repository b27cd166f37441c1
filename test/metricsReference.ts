/**
 * The metric functions' reference values (test/fixtures/metrics-reference.json, written by
 * scripts/make_metric_references.py with NumPy / scikit-learn / SciPy / scikit-image), and its
 * point sets decoded exactly as the script used them (little-endian float32 / float64).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const REF: any = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'metrics-reference.json'), 'utf8'));

export function f32(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

export function f64(b64: string): Float64Array {
  const buf = Buffer.from(b64, 'base64');
  const out = new Float64Array(buf.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = buf.readDoubleLE(i * 8);
  return out;
}

export interface PointSet {
  n: number;
  dim: number;
  points: Float32Array;
  labels: Int32Array | null;
  predicted: Int32Array;
}

/** The fixture's point sets by name (`small`, `large`, `largeQuery`, `ties`). */
export const SETS: Record<string, PointSet> = {};
for (const [name, s] of Object.entries<any>(REF.pointSets)) {
  SETS[name] = {
    n: s.n,
    dim: s.dim,
    points: f32(s.points),
    labels: s.labels ? Int32Array.from(s.labels) : null,
    predicted: Int32Array.from(s.predicted),
  };
}
