/**
 * Input validation shared by the metric functions. Every error names the function and the
 * argument at fault, in the manner of scikit-learn's `check_array` messages.
 * Pure: no `vscode`, no I/O.
 */

export type FloatArray = Float32Array | Float64Array;
export type IntArray = Int32Array | Uint8Array | Uint16Array | Int16Array | Int8Array | Uint32Array;

/** An argument of a metric function is missing, of the wrong shape, or holds NaN/Inf. */
export class MetricArgumentError extends RangeError {
  constructor(
    /** The function that rejected the argument, e.g. `knnSearch`. */
    public readonly fn: string,
    /** The argument's name, e.g. `points`. */
    public readonly argument: string,
    detail: string,
  ) {
    super(`${fn}: argument '${argument}' ${detail}`);
    this.name = 'MetricArgumentError';
  }
}

export function checkInt(fn: string, name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new MetricArgumentError(fn, name, `must be an integer ${range}, got ${String(v)}`);
  }
  return v;
}

export function checkNumber(fn: string, name: string, v: unknown, opts: { min?: number; positive?: boolean } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new MetricArgumentError(fn, name, `must be a finite number, got ${String(v)}`);
  }
  if (opts.positive && !(v > 0)) throw new MetricArgumentError(fn, name, `must be > 0, got ${v}`);
  if (opts.min !== undefined && v < opts.min) throw new MetricArgumentError(fn, name, `must be >= ${opts.min}, got ${v}`);
  return v;
}

export function isFloatArray(a: unknown): a is FloatArray {
  return a instanceof Float32Array || a instanceof Float64Array;
}

export function isIntArray(a: unknown): a is IntArray {
  return (
    a instanceof Int32Array ||
    a instanceof Uint8Array ||
    a instanceof Uint16Array ||
    a instanceof Int16Array ||
    a instanceof Int8Array ||
    a instanceof Uint32Array
  );
}

/** Index of the first non-finite value, or -1. */
export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    // v - v is NaN for NaN and ±Infinity, 0 otherwise: one comparison per value.
    if (v - v !== 0) return i;
  }
  return -1;
}

/**
 * Checks a row-major n×dim point matrix: type, exact length, and that every value is finite.
 */
export function checkPoints(
  fn: string,
  name: string,
  points: unknown,
  n: number,
  dim: number,
  opts: { float32Only?: boolean } = {},
): void {
  if (!isFloatArray(points) || (opts.float32Only && !(points instanceof Float32Array))) {
    throw new MetricArgumentError(fn, name, `must be a ${opts.float32Only ? 'Float32Array' : 'Float32Array or Float64Array'} of n×dim values`);
  }
  if (points.length !== n * dim) {
    throw new MetricArgumentError(fn, name, `has length ${points.length}, expected n×dim = ${n}×${dim} = ${n * dim}`);
  }
  const bad = firstNonFinite(points);
  if (bad >= 0) {
    throw new MetricArgumentError(
      fn,
      name,
      `holds a non-finite value (${points[bad]}) at point ${Math.floor(bad / dim)}, channel ${bad % dim}`,
    );
  }
}

/** Checks a per-point integer label array of length n. */
export function checkLabels(fn: string, name: string, labels: unknown, n: number): void {
  if (!isIntArray(labels)) throw new MetricArgumentError(fn, name, 'must be an Int32Array (or another integer typed array)');
  if (labels.length !== n) throw new MetricArgumentError(fn, name, `has length ${labels.length}, expected n = ${n}`);
}
