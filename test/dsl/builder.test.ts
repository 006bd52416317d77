import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DslError, pretrain } from '../../dsl/index.js';
import { MINIMAX_DEFAULTS } from '../../dsl/defaults.js';

describe('pretrain()', () => {
  it('fills image defaults for Fashion-MNIST', () => {
    expect(pretrain().toSpec()).toEqual({
      version: 1,
      pretrain: { dataset: 'fashionMnist', model: 'masked-image-conv', steps: 300, batchSize: 64, lr: 1e-3, seed: 0, maskRatio: 0.5, width: 32, depth: 2, lrSchedule: 'constant', vocabSize: null, groupShares: null, posGroups: null },
      splitTasks: null,
      minimax: null,
      noise: null,
      finetune: null,
      evaluate: null,
      certify: null,
    });
  });

  it('fills text defaults for the Brown corpus and keeps explicit values', () => {
    expect(pretrain({ dataset: 'brown' }).toSpec().pretrain).toEqual({
      dataset: 'brown', model: 'masked-token-transformer', steps: 300, batchSize: 32, lr: 1e-3, seed: 0, maskRatio: 0.15, width: 64, depth: 2,
      lrSchedule: 'constant', vocabSize: 8000, groupShares: null, posGroups: null,
    });
    const p = pretrain({ dataset: 'mnist', steps: 10, batchSize: 8, lr: 0.01, seed: 7, maskRatio: 0.75, width: 16, depth: 3 }).toSpec().pretrain;
    expect(p).toEqual({ dataset: 'mnist', model: 'masked-image-conv', steps: 10, batchSize: 8, lr: 0.01, seed: 7, maskRatio: 0.75, width: 16, depth: 3, lrSchedule: 'constant', vocabSize: null, groupShares: null, posGroups: null });
  });
});

describe('chain methods', () => {
  it('splitTasks defaults by to label for images and pos for text', () => {
    expect(pretrain().splitTasks(4).toSpec().splitTasks).toEqual({ k: 4, by: 'label' });
    expect(pretrain().splitTasks(8, { by: 'cluster' }).toSpec().splitTasks).toEqual({ k: 8, by: 'cluster' });
    expect(pretrain({ dataset: 'brown' }).splitTasks(5).toSpec().splitTasks).toEqual({ k: 5, by: 'pos' });
  });

  it('minimax records eta, method, ema and what the weights see; minimax(0) is allowed (average)', () => {
    expect(pretrain().splitTasks(3).minimax(2).toSpec().minimax).toEqual({ eta: 2, method: 'softmax', ema: MINIMAX_DEFAULTS.ema, losses: MINIMAX_DEFAULTS.losses });
    expect(pretrain().splitTasks(3).minimax(0.5, { method: 'group-dro', ema: 0.9, losses: 'raw' }).toSpec().minimax).toEqual({ eta: 0.5, method: 'group-dro', ema: 0.9, losses: 'raw' });
    expect(pretrain().splitTasks(3).minimax(3, { losses: 'excess', ema: 0 }).toSpec().minimax).toEqual({ eta: 3, method: 'softmax', ema: 0, losses: 'excess' });
    expect(pretrain().noise([0.5]).minimax(0).toSpec().minimax?.eta).toBe(0);
  });

  it('noise defaults to uniform weights over clean and each sigma', () => {
    const n = pretrain().noise([0.25, 0.5, 1]).toSpec().noise!;
    expect(n.sigmas).toEqual([0.25, 0.5, 1]);
    expect(n.weights).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(pretrain().noise([0.5], { weights: [0.75, 0.25] }).toSpec().noise!.weights).toEqual([0.75, 0.25]);
    const third = pretrain().noise([0.5, 1]).toSpec().noise!.weights;
    expect(third.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('noise levels can be the tasks of splitTasks', () => {
    expect(pretrain().noise([0.25, 0.5, 1]).splitTasks(4, { by: 'noise' }).toSpec().splitTasks).toEqual({ k: 4, by: 'noise' });
  });

  it('finetune takes one task or several, with defaults', () => {
    expect(pretrain().finetune('fashion-all').toSpec().finetune).toEqual({
      tasks: ['fashion-all'], steps: 200, batchSize: 64, lr: 1e-3, mode: 'probe', noise: [0], maxExamples: null, labelsPerClass: null,
    });
    const f = pretrain().finetune(['fashion-tops', 'mnist-digits'], { steps: 5, batchSize: 16, lr: 0.1, mode: 'full', noise: 0.5, maxExamples: 100 }).toSpec().finetune;
    expect(f).toEqual({ tasks: ['fashion-tops', 'mnist-digits'], steps: 5, batchSize: 16, lr: 0.1, mode: 'full', noise: [0.5], maxExamples: 100, labelsPerClass: null });
    expect(pretrain().finetune('fashion-all', { noise: [0.25, 0.5, 1] }).toSpec().finetune!.noise).toEqual([0.25, 0.5, 1]);
    expect(pretrain().finetune('fashion-tops', { labelsPerClass: [10, 50, 500] }).toSpec().finetune!.labelsPerClass).toEqual([10, 50, 500]);
    expect(pretrain().finetune('fashion-tops', { labelsPerClass: 20 }).toSpec().finetune!.labelsPerClass).toEqual([20]);
    expect(pretrain().finetune('fashion-all', { noise: 'none' }).toSpec().finetune!.noise).toEqual([0]);
  });

  it('evaluate and certify fill their defaults', () => {
    const s = pretrain().finetune('fashion-all').evaluate().certify().toSpec();
    expect(s.evaluate).toEqual({ maxExamples: null });
    expect(s.certify).toEqual({ sigmas: [0.25, 0.5, 1], n0: 100, n: 1000, alpha: 0.001, radii: [0, 0.25, 0.5, 0.75, 1], points: 100 });
    const c = pretrain().finetune('fashion-all').evaluate({ maxExamples: 500 }).certify({ sigmas: [0.5], n0: 10, n: 200, alpha: 0.01, radii: [0, 1], points: 3 }).toSpec();
    expect(c.evaluate).toEqual({ maxExamples: 500 });
    expect(c.certify).toEqual({ sigmas: [0.5], n0: 10, n: 200, alpha: 0.01, radii: [0, 1], points: 3 });
  });

  it('certify({ sequential }) is recorded only when true, so plans without it keep their hashes', () => {
    const base = pretrain().finetune('fashion-all').certify();
    const sequential = pretrain().finetune('fashion-all').certify({ sequential: true });
    expect(sequential.toSpec().certify).toEqual({ ...base.toSpec().certify, sequential: true });
    expect(pretrain().finetune('fashion-all').certify({ sequential: false }).compile().hash).toBe(base.compile().hash);
    const plan = sequential.compile();
    expect(plan.hash).not.toBe(base.compile().hash);
    expect(plan.data.stages.find((s) => s.kind === 'certify')).toMatchObject({ sequential: true });
    expect(plan.explain()).toContain('alpha 0.001 (sequential: stops early)');
    expect(() => pretrain().finetune('fashion-all').certify({ sequential: 'yes' as never })).toThrow("certify({ sequential }): sequential must be true or false, got 'yes'");
  });

  it('calling a method again replaces that section', () => {
    expect(pretrain().splitTasks(3).splitTasks(5).toSpec().splitTasks).toEqual({ k: 5, by: 'label' });
  });
});

describe('immutability', () => {
  it('every call returns a new frozen builder and leaves the old one unchanged', () => {
    const base = pretrain().splitTasks(4);
    const before = JSON.stringify(base);
    const average = base.minimax(0);
    const robust = base.minimax(5);
    expect(average).not.toBe(base);
    expect(Object.isFrozen(base)).toBe(true);
    expect(Object.isFrozen(average)).toBe(true);
    expect(JSON.stringify(base)).toBe(before);
    expect(base.toSpec().minimax).toBeNull();
    expect(average.toSpec().minimax?.eta).toBe(0);
    expect(robust.toSpec().minimax?.eta).toBe(5);
    // forks share the unchanged sections but cannot change them
    expect(average.toSpec().splitTasks).toEqual(robust.toSpec().splitTasks);
  });

  it('Specs are deep-frozen: writing into one throws and changes nothing', () => {
    const p = pretrain().noise([0.25, 0.5]);
    const spec = p.toSpec();
    expect(() => {
      (spec.pretrain as { steps: number }).steps = 1;
    }).toThrow(TypeError);
    expect(() => {
      (spec.noise!.sigmas as number[]).push(2);
    }).toThrow(TypeError);
    expect(p.toSpec().pretrain.steps).toBe(300);
    expect(p.toSpec().noise!.sigmas).toEqual([0.25, 0.5]);
  });

  it('an array the user passes in is copied, not aliased', () => {
    const sigmas = [0.25, 0.5];
    const p = pretrain().noise(sigmas);
    sigmas.push(1);
    expect(p.toSpec().noise!.sigmas).toEqual([0.25, 0.5]);
  });
});

describe('runtime order checks (for JavaScript callers)', () => {
  it('minimax without tasks, certify without finetune are DslErrors', () => {
    const untyped = pretrain() as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(() => untyped.minimax!.call(pretrain(), 1)).toThrow(
      "minimax(eta): the pipeline must be split into tasks first, got a single task (hint: call .splitTasks(k) or .noise(sigmas) before .minimax(eta))",
    );
    expect(() => untyped.certify!.call(pretrain())).toThrow('certify(options): the pipeline must be fine-tuned to a classifier first, got an encoder only');
    expect(() => untyped.evaluate!.call(pretrain())).toThrow(DslError);
  });
});

describe('the DSL loads no tensor library', () => {
  it('no file under dsl/ imports tfjs or the engine', () => {
    const dir = path.resolve(import.meta.dirname, '../../dsl');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(8);
    let seen = 0;
    for (const f of files) {
      const imports = [...readFileSync(path.join(dir, f), 'utf8').matchAll(/^(?:import|export)\b[^;]*?from '([^']+)'/gm)].map((m) => m[1]!);
      for (const i of imports) expect(i, `${f} imports ${i}`).toMatch(/^(\.\/|\.\.\/datasets\/catalog\.js$|node:crypto$)/);
      seen += imports.length;
    }
    expect(seen).toBeGreaterThan(20);
  });
});
