import { describe, expect, it } from 'vitest';
import { DslError, fromJSON, fromSpec, pretrain, type Spec } from '../../dsl/index.js';

const full = pretrain({ dataset: 'mnist', steps: 50, seed: 3 })
  .noise([0.25, 0.5, 1], { weights: [0.4, 0.2, 0.2, 0.2] })
  .splitTasks(4, { by: 'noise' })
  .minimax(2.5, { method: 'group-dro', ema: 0.5 })
  .finetune(['mnist-digits'], { mode: 'full', noise: 0.25, maxExamples: 1000 })
  .evaluate({ maxExamples: 200 })
  .certify({ sigmas: [0.25, 1], n0: 50, n: 5000, alpha: 0.01, radii: [0, 0.5, 1.5], points: 20 });

describe('Spec JSON round trip', () => {
  it('toJSON -> JSON text -> fromJSON gives back the identical Spec and text', () => {
    const text = JSON.stringify(full);
    const back = fromJSON(text);
    expect(back.toSpec()).toEqual(full.toSpec());
    expect(JSON.stringify(back)).toBe(text);
    expect(JSON.stringify(fromJSON(full.toJSON()))).toBe(text);
    expect(JSON.stringify(fromSpec(full.toSpec()))).toBe(text);
  });

  it('round-trips text pipelines and pipelines with non-representable-looking floats exactly', () => {
    const p = pretrain({ dataset: 'brown', lr: 0.1 + 0.2 }).splitTasks(5).minimax(1 / 3).finetune(['imdb-sentiment', 'wordnet-pos']).evaluate();
    const back = fromJSON(JSON.stringify(p));
    expect(back.toSpec().pretrain.lr).toBe(0.1 + 0.2);
    expect(back.toSpec().minimax!.eta).toBe(1 / 3);
    expect(JSON.stringify(back)).toBe(JSON.stringify(p));
  });

  it('a loaded pipeline compiles to the same plan hash and keeps chaining', () => {
    expect(fromJSON(JSON.stringify(full)).compile({ target: 'cpu' }).hash).toBe(full.compile({ target: 'cpu' }).hash);
    const loaded = fromJSON(JSON.stringify(pretrain().splitTasks(3)));
    expect(loaded.minimax(1).toSpec().minimax!.eta).toBe(1);
  });

  it('a hand-written Spec may leave out sections and fields; defaults fill them exactly as the builder does', () => {
    const hand = fromJSON({ version: 1, pretrain: { dataset: 'mnist' }, splitTasks: { k: 3 }, minimax: { eta: 1 } });
    expect(hand.toSpec()).toEqual(pretrain({ dataset: 'mnist' }).splitTasks(3).minimax(1).toSpec());
  });
});

describe('fromJSON validates like the builder', () => {
  const base = (): Record<string, unknown> => JSON.parse(JSON.stringify(pretrain().splitTasks(3).finetune('fashion-all').certify())) as Record<string, unknown>;
  const withSection = (name: string, patch: Record<string, unknown>): Record<string, unknown> => {
    const s = base();
    s[name] = { ...(s[name] as object), ...patch };
    return s;
  };
  const cases: [string, unknown, string][] = [
    ['invalid JSON text', '{"version": 1,', 'fromJSON(json): json must be a Spec as JSON text, got invalid JSON'],
    ['not an object', '[1, 2]', 'fromJSON(json): the Spec must be an object like pipeline.toJSON() returns, got [1, 2]'],
    ['unknown top-level key', { ...base(), extra: 1 }, "fromJSON(json): Spec keys must be among version, pretrain, splitTasks, minimax, noise, finetune, evaluate, certify, got 'extra'"],
    ['wrong version', { ...base(), version: 2 }, 'fromJSON(json): version must be 1 (this robustlab reads Spec version 1), got 2'],
    ['missing version', (() => { const s = base(); delete s.version; return s; })(), 'version must be 1 (this robustlab reads Spec version 1), got undefined'],
    ['section not an object', { ...base(), splitTasks: 3 }, 'fromJSON(json): splitTasks must be an object or null, got 3'],
    ['unknown key in a section', withSection('pretrain', { steppes: 3 }), "pretrain(options): option names must be among dataset, model, steps, batchSize, lr, seed, maskRatio, width, depth, lrSchedule, vocabSize, groupShares, posGroups, got 'steppes' (hint: did you mean 'steps'?)"],
    ['bad k', withSection('splitTasks', { k: 1.5 }), 'splitTasks(k): k must be an integer >= 2, got 1.5'],
    ['unsorted certify sigmas', withSection('certify', { sigmas: [1, 0.5] }), 'certify({ sigmas }): sigmas must be strictly increasing, got [1, 0.5]'],
    ['n0 >= n', withSection('certify', { n0: 2000 }), 'certify({ n0, n }): n0 must be smaller than n = 1000, got 2000'],
    ['minimax without tasks', { ...base(), splitTasks: null, minimax: { eta: 1, method: 'softmax', ema: 0 } }, 'minimax(eta): the pipeline must be split into tasks first'],
    ['certify without finetune', { ...base(), finetune: null }, 'certify(options): the pipeline must be fine-tuned to a classifier first'],
    ['task of the wrong modality', withSection('finetune', { tasks: ['brown-genre'] }), "finetune(tasks): tasks[0] must be an image task to follow pre-training on 'fashionMnist'"],
    ['unknown data set', withSection('pretrain', { dataset: 'cifar' }), "pretrain({ dataset }): dataset must be one of 'mnist', 'fashionMnist', 'brown', got 'cifar'"],
  ];
  it.each(cases)('%s', (_name, json, message) => {
    expect(() => fromJSON(json as object)).toThrow(DslError);
    expect(() => fromJSON(json as object)).toThrow(message);
  });

  it('fromSpec names itself in envelope errors', () => {
    expect(() => fromSpec({ ...base(), version: 0 } as unknown as Spec)).toThrow('fromSpec(spec): version must be 1');
  });
});
