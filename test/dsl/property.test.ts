import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DslError, fromJSON, pretrain, type LoadedPipeline } from '../../dsl/index.js';

/** A strictly increasing list of sigmas in (0, 4]. */
const sigmas = fc
  .uniqueArray(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 5 })
  .map((xs) => [...xs].sort((a, b) => a - b).map((x) => x / 4));

const imageChain = fc.record({
  dataset: fc.constantFrom('mnist' as const, 'fashionMnist' as const),
  steps: fc.integer({ min: 1, max: 5000 }),
  batchSize: fc.integer({ min: 1, max: 256 }),
  width: fc.integer({ min: 1, max: 64 }),
  depth: fc.integer({ min: 1, max: 3 }),
  split: fc.option(fc.record({ k: fc.integer({ min: 2, max: 10 }), by: fc.constantFrom('label' as const, 'cluster' as const) }), { nil: undefined }),
  noise: fc.option(sigmas, { nil: undefined }),
  eta: fc.option(fc.double({ min: 0, max: 1e4, noNaN: true }), { nil: undefined }),
  tasks: fc.option(fc.subarray(['fashion-all', 'fashion-tops', 'mnist-digits'], { minLength: 1 }), { nil: undefined }),
  certify: fc.option(fc.record({ sigmas, n0: fc.integer({ min: 1, max: 100 }), extra: fc.integer({ min: 1, max: 5000 }), alpha: fc.double({ min: 1e-6, max: 0.49, noNaN: true }) }), { nil: undefined }),
  target: fc.constantFrom('cpu' as const, 'gpu' as const),
});

describe('property: random valid chains compile', () => {
  it('every valid image chain compiles to ordered stages with finite estimates and round-trips', () => {
    fc.assert(
      fc.property(imageChain, (c) => {
        let p = pretrain({ dataset: c.dataset, steps: c.steps, batchSize: c.batchSize, width: c.width, depth: c.depth }) as unknown as LoadedPipeline;
        if (c.noise) p = p.noise(c.noise);
        if (c.split) p = p.splitTasks(c.split.k, { by: c.split.by });
        if (c.eta !== undefined && (c.split || c.noise)) p = p.minimax(c.eta);
        if (c.tasks) {
          p = p.finetune(c.tasks).evaluate();
          if (c.certify) p = p.certify({ sigmas: c.certify.sigmas, n0: c.certify.n0, n: c.certify.n0 + c.certify.extra, alpha: c.certify.alpha });
        }
        const plan = p.compile({ target: c.target });
        const kinds = plan.stages.map((s) => s.kind);
        const order = ['load-data', 'split-tasks', 'pretrain', 'finetune', 'evaluate', 'certify'];
        expect(kinds).toEqual(order.slice(0, kinds.length));
        for (const s of plan.stages) {
          expect(Number.isFinite(s.estimate.flops) && s.estimate.flops >= 0).toBe(true);
          expect(s.estimate.peakBytes).toBeLessThanOrEqual(plan.data.memoryBudgetBytes);
        }
        expect(fromJSON(JSON.stringify(p)).compile({ target: c.target }).hash).toBe(plan.hash);
      }),
      { numRuns: 150, seed: 20231 },
    );
  });
});

/** Values no numeric, name or list parameter accepts in the slot they are put in. */
const junk = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -1, 0.5, -0.5, 1e12, '', 'x', null, true, [], {}, [NaN], [-1], [1, 1], [2, 1]),
  fc.string({ maxLength: 5 }),
  fc.double().filter((x) => !Number.isInteger(x) || x < 0),
  fc.object({ maxDepth: 1 }),
);

const invalidCalls: readonly ((x: unknown) => unknown)[] = [
  (x) => pretrain({ steps: x as number }),
  (x) => pretrain({ batchSize: x as number }),
  (x) => pretrain({ dataset: x as 'mnist' }),
  (x) => pretrain({ lr: (typeof x === 'number' && x > 0 && x <= 1 ? -x : x) as number }),
  (x) => pretrain().splitTasks(x as number).compile(),
  (x) => pretrain().splitTasks(3).minimax((typeof x === 'number' && x >= 0 ? -1 - x : x) as number),
  (x) => pretrain().noise(x as number[]),
  (x) => pretrain().finetune(x as string),
  (x) => pretrain().finetune('fashion-all').certify({ n0: x as number }),
  (x) => pretrain().finetune('fashion-all').certify({ radii: x as number[] }),
  (x) => pretrain().finetune('fashion-all').certify({ alpha: (typeof x === 'number' && x > 0 && x < 0.5 ? x + 0.5 : x) as number }),
  (x) => pretrain().compile({ memoryBudget: (typeof x === 'number' && x > 0 ? -x : x) as number }),
  (x) => fromJSON({ version: 1, pretrain: { width: x } }),
  (x) => fromJSON(typeof x === 'string' ? `{${x}` : { version: 1, splitTasks: x }),
];

describe('property: random invalid values raise DslError, never a TypeError', () => {
  it('each parameter rejects junk with a one-line DslError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: invalidCalls.length - 1 }), junk, (i, x) => {
        let error: unknown = null;
        try {
          invalidCalls[i]!(x);
        } catch (e) {
          error = e;
        }
        // The one valid value among the junk: a null section in a JSON Spec means the section is absent.
        if (i === invalidCalls.length - 1 && x === null) return;
        expect(error).toBeInstanceOf(DslError);
        expect((error as DslError).message).not.toContain('\n');
      }),
      { numRuns: 400, seed: 7 },
    );
  });

  it('junk that is never valid for a numeric parameter is always rejected', () => {
    fc.assert(
      fc.property(junk.filter((x) => x !== 1e12), (x) => {
        expect(() => pretrain().splitTasks(x as number)).toThrow(DslError);
        expect(() => pretrain().noise(x as number[])).toThrow(DslError);
      }),
      { numRuns: 200, seed: 11 },
    );
  });
});
