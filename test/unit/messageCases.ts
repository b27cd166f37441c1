/**
 * Messages for the protocol tests: one well-formed example of every declared message, and
 * the malformed messages every receiver must reject (with a reason, never a throw).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Results } from '../../src/engine/types';
import { hostToWebview, webviewToHost, workerMessages, workerRequests, type Protocol, type MessageType } from '../../src/protocol/messages';

export const sampleResults = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'results-sample.json'), 'utf8')) as Results;

/** Longer than any string field allows (the largest limit is 32 MiB). */
export const HUGE = 'x'.repeat(33 * 2 ** 20);

export const examples = {
  workerRequests: [
    { type: 'analyze', id: 'j1', modelPath: '/m/model.onnx', datasetPath: '/m/unetlens.json', overrides: { maxPoints: 256, shifts: { enabled: false } }, threads: 2, outDir: '/tmp/out' },
    { type: 'preload', modelPath: '/m/model.onnx', datasetPath: '/m/unetlens.json', overrides: { maxPoints: 256, shifts: { enabled: false } }, threads: 2 },
  ],
  workerMessages: [
    { type: 'progress', id: 'j1', event: { stage: 'load', message: 'Loading the model' } },
    { type: 'log', id: 'j1', level: 'info', message: 'hello' },
    { type: 'result', id: 'j1', results: sampleResults, peakRssBytes: 123456 },
    { type: 'partial', id: 'j1', results: sampleResults, stage: 'split test' },
    { type: 'error', id: 'j1', message: 'no such file', kind: 'model', where: '/m/model.onnx' },
  ],
  hostToWebview: [
    { type: 'results', results: sampleResults, source: '/r/results.json', cached: true, tap: '/enc1/relu2/Relu_output_0' },
    { type: 'partial', results: sampleResults, stage: 'calibrating' },
    { type: 'status', state: 'loading', message: 'Analyzing…' },
  ],
  webviewToHost: [
    { type: 'ready' },
    { type: 'selectTap', tap: '/enc1/relu2/Relu_output_0' },
    { type: 'exportPng', name: 'overview-db', dataUrl: 'data:image/png;base64,iVBORw0KGgo=' },
    { type: 'exportCsv', name: 'metrics', csv: 'a,b\n1,2\n' },
    { type: 'rerun' },
    { type: 'openReport' },
    { type: 'exportReport' },
  ],
} satisfies Record<string, Record<string, unknown>[]>;

export const protocols = { workerRequests, workerMessages, hostToWebview, webviewToHost } as const;

/** Malformed whatever the direction: not objects, no type, inherited or unknown types. */
export function genericMalformed(): { what: string; raw: unknown }[] {
  const inheritedType = Object.create({ type: 'ready' }) as object;
  return [
    { what: 'undefined', raw: undefined },
    { what: 'null', raw: null },
    { what: 'a number', raw: 42 },
    { what: 'a string', raw: 'ready' },
    { what: 'a boolean', raw: true },
    { what: 'an array', raw: [{ type: 'ready' }] },
    { what: 'a function', raw: () => ({ type: 'ready' }) },
    { what: 'an empty object', raw: {} },
    { what: 'a numeric type', raw: { type: 1 } },
    { what: 'a null type', raw: { type: null } },
    { what: 'an object type', raw: { type: { toString: () => 'ready' } } },
    { what: 'an inherited type', raw: inheritedType },
    { what: 'an unknown type', raw: { type: 'nope' } },
    { what: 'an empty type', raw: { type: '' } },
    { what: 'type toString', raw: { type: 'toString' } },
    { what: 'type constructor', raw: { type: 'constructor' } },
    { what: 'type hasOwnProperty', raw: { type: 'hasOwnProperty' } },
    { what: 'type valueOf', raw: { type: 'valueOf' } },
    { what: 'type __proto__', raw: { type: '__proto__' } },
    { what: 'type __proto__ (JSON)', raw: JSON.parse('{"type":"__proto__","__proto__":{"type":"ready"}}') },
    { what: 'own __proto__ key only (JSON)', raw: JSON.parse('{"__proto__":{"type":"ready"}}') },
    { what: 'a huge type', raw: { type: HUGE } },
  ];
}

/** Malformed variants of each declared message: missing, extra and wrong-typed fields, huge strings. */
export function fieldMalformed(protocol: Protocol<MessageType<string, unknown>>, list: Record<string, unknown>[]): { what: string; raw: unknown }[] {
  const out: { what: string; raw: unknown }[] = [];
  for (const ex of list) {
    const type = ex.type as string;
    const decl = (protocol as unknown as { byType: Map<string, MessageType<string, unknown>> }).byType.get(type)!;
    const withField = (k: string, v: unknown) => ({ ...ex, [k]: v });
    out.push({ what: `${type} + an extra field`, raw: withField('extra', 1) });
    out.push({ what: `${type} + a field "constructor"`, raw: withField('constructor', 'x') });
    out.push({ what: `${type} + an own "__proto__" field (JSON)`, raw: { ...JSON.parse('{"__proto__":{"x":1}}'), ...ex } });
    for (const [k, f] of Object.entries(decl.fields)) {
      if (!f.optional) {
        const { [k]: _, ...rest } = ex;
        out.push({ what: `${type} without "${k}"`, raw: rest });
        // The field only on the prototype: not the message's own field.
        out.push({ what: `${type} with "${k}" inherited`, raw: Object.assign(Object.create({ [k]: ex[k] }), rest) });
      }
      out.push({ what: `${type} with "${k}" null`, raw: withField(k, null) });
      out.push({ what: `${type} with "${k}" an array`, raw: withField(k, []) });
      const isString = /must be a string/.test(f.check(1) ?? '');
      if (isString) {
        out.push({ what: `${type} with "${k}" a number`, raw: withField(k, 7) });
        out.push({ what: `${type} with "${k}" huge`, raw: withField(k, HUGE) });
      } else {
        out.push({ what: `${type} with "${k}" a string`, raw: withField(k, 'x') });
        if (f.check(1) === undefined) {
          out.push({ what: `${type} with "${k}" NaN`, raw: withField(k, NaN) });
          out.push({ what: `${type} with "${k}" Infinity`, raw: withField(k, Infinity) });
        }
      }
    }
  }
  return out;
}

/** Every malformed message for one direction. */
export function malformedFor(name: keyof typeof protocols): { what: string; raw: unknown }[] {
  return [...genericMalformed(), ...fieldMalformed(protocols[name] as unknown as Protocol<MessageType<string, unknown>>, examples[name])];
}
