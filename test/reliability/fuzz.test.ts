/**
 * Fuzzing what users and crashes feed the toolkit (issue #10): 1,000 mutated Spec documents, and 200
 * truncated or bit-flipped checkpoint and data-set cache files. Every case must end in a typed error
 * (DslError / EngineError / a reported-and-rebuilt cache) or in the correct result — never in another
 * exception, and never in a silently wrong result.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cached, cachePath, readCacheFile, writeCacheFile, type CacheEntry } from '../../datasets/cache.js';
import { DslError, fromJSON, pretrain, Plan, type Spec } from '../../dsl/index.js';
import { initBackend } from '../../engine/backend/selection.js';
import { loadCheckpoint, saveCheckpoint } from '../../engine/store/checkpoint.js';
import { EngineError } from '../../engine/errors.js';
import { runPlan } from '../../engine/run-plan.js';
import { runPaths } from '../../engine/store/run-store.js';
import { seededChooser } from './child-run.js';

const tmp = mkdtempSync(join(tmpdir(), 'rl-fuzz-'));

const SEEDS: Spec[] = [
  pretrain({ dataset: 'fashionMnist', steps: 40, batchSize: 4, width: 4, depth: 1, seed: 3 }).splitTasks(3).minimax(5).finetune('fashion-tops', { steps: 10, maxExamples: 200 }).evaluate({ maxExamples: 100 }).certify({ sigmas: [0.5], n0: 5, n: 40, points: 6, alpha: 0.01 }).toJSON(),
  pretrain({ dataset: 'mnist', steps: 10 }).noise([0.25, 0.5]).splitTasks(3, { by: 'noise' }).minimax(2, { method: 'group-dro', ema: 0.5 }).finetune('fashion-tops', { mode: 'full', noise: 0.25 }).certify({ sigmas: [0.25] }).toJSON(),
  pretrain({ dataset: 'brown', steps: 10, width: 8 }).splitTasks(2).minimax(1).toJSON(),
];

/** Values a mutation may put anywhere: wrong types, edge numbers, structure. */
const ODD: unknown[] = [null, undefined, 0, -0, -1, 1.5, 2 ** 53, 1e308, -1e-308, NaN, Infinity, -Infinity, '', 'x', '5', true, false, [], [1, 2], [-1], [0.5, 0.25], {}, { k: 2 }, 'fashionMnist', 'brown', 'pos', 'noise', 'full', 'probe', 'fashion-tops', 'softmax', 10, 2, 100000, 0.999];

function mutate(spec: Spec, choose: (lo: number, hi: number) => number): unknown {
  const doc = JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
  const rounds = choose(1, 3);
  for (let r = 0; r < rounds; r++) {
    // Walk to a random container, then change one of its entries.
    let node: Record<string, unknown> | unknown[] = doc;
    for (let depth = choose(0, 2); depth > 0; depth--) {
      const keys = Object.keys(node);
      const next = keys.length ? (node as Record<string, unknown>)[keys[choose(0, keys.length - 1)]!] : undefined;
      if (typeof next !== 'object' || next === null) break;
      node = next as Record<string, unknown>;
    }
    const keys = Object.keys(node);
    const key = keys.length ? keys[choose(0, keys.length - 1)]! : 'x';
    const target = node as Record<string, unknown>;
    switch (choose(0, 5)) {
      case 0: target[key] = ODD[choose(0, ODD.length - 1)]; break;
      case 1: if (Array.isArray(node)) node.splice(Number(key), 1); else delete target[key]; break; // JSON has no sparse arrays
      case 2: target[['extra', 'Steps', 'k', 'sigma', '__proto__x'][choose(0, 4)]!] = ODD[choose(0, ODD.length - 1)]; break;
      case 3: { const v = target[key]; delete target[key]; target[key.toUpperCase()] = v; break; }
      case 4: target[key] = typeof target[key] === 'number' ? (target[key] as number) * [-1, 0, 0.5, 1000, 1e9][choose(0, 4)]! : [target[key]]; break;
      default: target[key] = JSON.parse(JSON.stringify(SEEDS[choose(0, SEEDS.length - 1)]![['pretrain', 'noise', 'finetune', 'certify'][choose(0, 3)] as keyof Spec] ?? null));
    }
  }
  if (choose(0, 9) === 0) {
    const text = JSON.stringify(doc);
    return text.slice(0, choose(0, text.length)); // truncated JSON text
  }
  return choose(0, 3) === 0 ? JSON.stringify(doc) : doc;
}

const asArrays = (_k: string, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v);

/** Truncate, flip 1-3 bits anywhere, or flip a bit inside the header (where a checksum of the payload alone sees nothing). */
function corrupt(file: Buffer, headerEnd: number, choose: (lo: number, hi: number) => number): Buffer {
  const kind = choose(0, 2);
  if (kind === 0) return file.subarray(0, choose(0, file.length - 1));
  const b = Buffer.from(file);
  for (let flips = kind === 1 ? choose(1, 3) : 1; flips > 0; flips--) {
    const bit = kind === 1 ? choose(0, b.length * 8 - 1) : choose(0, headerEnd * 8 - 1);
    b[bit >> 3]! ^= 1 << (bit & 7);
  }
  return b;
}

describe('fuzz: malformed input ends in a typed error or the right answer', () => {
  it('1,000 mutated Spec documents: each compiles to a valid Plan or throws a one-line DslError', () => {
    const choose = seededChooser(1010);
    const outcomes = { plan: 0, dslError: 0 };
    for (let i = 0; i < 1000; i++) {
      const doc = mutate(SEEDS[i % SEEDS.length]!, choose);
      let plan: Plan;
      try {
        plan = fromJSON(doc as object).compile({ target: (['cpu', 'gpu', 'auto'] as const)[i % 3] });
      } catch (e) {
        if (!(e instanceof DslError)) throw new Error(`case ${i}: ${String(e)} for ${JSON.stringify(doc)}`);
        expect(e.message).not.toContain('\n');
        outcomes.dslError++;
        continue;
      }
      // A valid plan survives its own round trip.
      expect(Plan.fromJSON(JSON.parse(JSON.stringify(plan.toJSON()))).toJSON().hash, `case ${i}`).toBe(plan.toJSON().hash);
      outcomes.plan++;
    }
    expect(outcomes.plan).toBeGreaterThan(50);
    expect(outcomes.dslError).toBeGreaterThan(500);
  });

  it('100 truncated / bit-flipped checkpoints: each is an EngineError or loads exactly what was saved', () => {
    const path = join(tmp, 'ck.bin');
    const values = Float32Array.from({ length: 300 }, (_, i) => Math.sin(i));
    saveCheckpoint(path, [{ name: 'enc/w', shape: [10, 20], values: values.slice(0, 200) }, { name: 'adam/m', shape: [100], values: values.slice(200) }], {
      step: 40, adamStep: 40, rng: [1, 2, 3, 4], weightingState: [0.2, 0.3, 0.5], history: [{ step: 40, losses: [0.5, 0.25], weights: [0.6, 0.4] }], seconds: 1.5,
    });
    const original = readFileSync(path);
    const expected = JSON.stringify(loadCheckpoint(path), asArrays);
    const headerEnd = 12 + original.readUInt32LE(8);
    const choose = seededChooser(2020);
    const outcomes = { error: 0, same: 0 };
    for (let i = 0; i < 100; i++) {
      writeFileSync(path, corrupt(original, headerEnd, choose));
      try {
        expect(JSON.stringify(loadCheckpoint(path), asArrays)).toBe(expected);
        outcomes.same++;
      } catch (e) {
        if (!(e instanceof EngineError)) throw new Error(`case ${i}: ${String(e)}`);
        expect(e.message).toMatch(/^checkpoint .* is corrupt \(.*\); delete it to retrain that stage$/);
        outcomes.error++;
      }
    }
    expect(outcomes.error).toBeGreaterThan(90);
  });

  // The sha256 covers the header as well as the payload (format 2): a flipped bit anywhere is reported.
  it('100 truncated / bit-flipped data-set caches: each is reported and rebuilt, or reads back exactly', () => {
    const dir = join(tmp, 'cache');
    process.env['ROBUSTLAB_CACHE_DIR'] = dir;
    const build = (): CacheEntry => ({
      arrays: { images: Uint8Array.from({ length: 99 }, (_, i) => i), labels: Int32Array.from([3, 1, 4, 1, 5]), weights: Float32Array.from([0.5, -2.25]) },
      meta: { height: 3, width: 33, classNames: ['a', 'b'] },
    });
    const path = cachePath('fuzz-1');
    writeCacheFile(path, 'fuzz-1', build());
    const original = readFileSync(path);
    const expected = JSON.stringify(build(), asArrays);
    const headerEnd = 16 + original.readUInt32LE(12);
    const choose = seededChooser(3030);
    for (let i = 0; i < 100; i++) {
      writeFileSync(path, corrupt(original, headerEnd, choose));
      const read = readCacheFile(path, 'fuzz-1');
      if (read.entry) expect(JSON.stringify(read.entry, asArrays), `case ${i} read back a wrong entry`).toBe(expected);
      else expect(read.problem, `case ${i}`).toBeTypeOf('string');
      expect(JSON.stringify(cached('fuzz-1', build), asArrays)).toBe(expected);
      expect(readFileSync(path).equals(original) || readCacheFile(path, 'fuzz-1').entry !== undefined).toBe(true);
    }
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('a run whose checkpoint was corrupted stops with an EngineError, writes no result and releases its lock', async () => {
    await initBackend();
    const plan = pretrain({ dataset: 'fashionMnist', steps: 4, batchSize: 2, width: 2, depth: 1, seed: 9 }).compile({ target: 'cpu' }).toJSON();
    const runsDir = join(tmp, 'runs');
    await expect(runPlan(plan, { runsDir, quiet: true, stopAfterStep: 2 })).rejects.toThrow(/stopped at step 2 of 4/);
    const paths = runPaths(join(runsDir, plan.hash));
    const ck = readFileSync(paths.checkpoint);
    ck[ck.length - 3]! ^= 0x10;
    writeFileSync(paths.checkpoint, ck);
    await expect(runPlan(plan, { runsDir, quiet: true })).rejects.toThrow(new EngineError(`checkpoint ${paths.checkpoint} is corrupt (checksum mismatch); delete it to retrain that stage`));
    expect(existsSync(paths.results)).toBe(false);
    expect(existsSync(paths.lock)).toBe(false);
  });
});
