/**
 * Type-state: orderings that make no sense must not type-check. `npm test` runs tsc over test/,
 * so each `@ts-expect-error` below fails the build if the line it marks ever compiles.
 */
import { describe, expect, it } from 'vitest';
import { fromJSON, pretrain, type Pipeline } from '../../dsl/index.js';

describe('type-state', () => {
  it('rejects minimax() with nothing to take a max over', () => {
    const base = pretrain();
    // @ts-expect-error minimax needs tasks: splitTasks() or noise() first
    expect(() => base.minimax(1)).toThrow('minimax(eta): the pipeline must be split into tasks first');
    // @ts-expect-error still no tasks after finetune
    expect(typeof base.finetune('fashion-all').minimax).toBe('function');
    // allowed once there are tasks, from either source
    expect(base.splitTasks(3).minimax(1).toSpec().minimax!.eta).toBe(1);
    expect(base.noise([0.5]).minimax(1).toSpec().minimax!.eta).toBe(1);
  });

  it('rejects certify() and evaluate() without a classifier from finetune()', () => {
    const base = pretrain().splitTasks(3).minimax(1);
    // @ts-expect-error certify needs a classifier
    expect(() => base.certify()).toThrow('certify(options): the pipeline must be fine-tuned to a classifier first');
    // @ts-expect-error evaluate needs a classifier
    expect(() => base.evaluate()).toThrow('evaluate(options): the pipeline must be fine-tuned to a classifier first');
    const tuned: Pipeline<'tasks' | 'classifier'> = base.finetune('fashion-all');
    expect(tuned.evaluate().certify().toSpec().certify!.n).toBe(1000);
  });

  it('rejects wrong value types and names at compile time', () => {
    // @ts-expect-error unknown data set name
    expect(() => pretrain({ dataset: 'cifar10' })).toThrow('dataset must be one of');
    // @ts-expect-error k is a number
    expect(() => pretrain().splitTasks('3')).toThrow('k must be an integer >= 2');
    // @ts-expect-error unknown split strategy
    expect(() => pretrain().splitTasks(3, { by: 'random' })).toThrow("by must be one of 'label', 'cluster', 'pos', 'noise'");
    // @ts-expect-error unknown option key
    expect(() => pretrain({ stpes: 3 })).toThrow("did you mean 'steps'?");
    // @ts-expect-error unknown target
    expect(() => pretrain().compile({ target: 'tpu' })).toThrow('target must be one of');
  });

  it('order is free where it makes sense, and capabilities accumulate', () => {
    const a = pretrain().finetune('fashion-all').noise([0.25]).minimax(2).certify({ sigmas: [0.25] });
    const b = pretrain().noise([0.25]).minimax(2).finetune('fashion-all').certify({ sigmas: [0.25] });
    expect(a.toSpec()).toEqual(b.toSpec());
    // a loaded pipeline offers every method; its order is checked at run time
    expect(() => fromJSON(JSON.stringify(pretrain())).certify()).toThrow('fine-tuned to a classifier first');
  });
});
