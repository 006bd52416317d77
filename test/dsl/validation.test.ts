import { describe, expect, it } from 'vitest';
import { DslError, pretrain } from '../../dsl/index.js';

/** Run `f`, expect a DslError, return it. */
function dslError(f: () => unknown): DslError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DslError);
    return e as DslError;
  }
  throw new Error('expected a DslError, nothing was thrown');
}

const any = (x: unknown): never => x as never;
const img = pretrain();
const tuned = pretrain().finetune('fashion-all');

describe('DslError', () => {
  it('names the call, the value, what is allowed and a hint, on one line', () => {
    const e = dslError(() => img.splitTasks(1.5));
    expect(e.message).toBe('splitTasks(k): k must be an integer >= 2, got 1.5 (hint: k counts the representative upstream tasks; leave splitTasks() out for one task)');
    expect(e.userError).toBe(true);
    expect(e.call).toBe('splitTasks(k)');
    expect(e.value).toBe(1.5);
    expect(e.allowed).toBe('an integer >= 2');
    expect(e.hint).toMatch(/upstream tasks/);
    expect(e.name).toBe('DslError');
    expect(e.message).not.toContain('\n');
  });
});

describe('every invalid value class is a one-line DslError naming the value', () => {
  const cases: [string, () => unknown, string][] = [
    // numbers: non-integer, NaN, Infinity, negative, zero, wrong type
    ['k non-integer', () => img.splitTasks(2.5), 'splitTasks(k): k must be an integer >= 2, got 2.5'],
    ['k NaN', () => img.splitTasks(NaN), 'splitTasks(k): k must be an integer >= 2, got NaN'],
    ['k Infinity', () => img.splitTasks(Infinity), 'splitTasks(k): k must be an integer >= 2, got Infinity'],
    ['k negative', () => img.splitTasks(-3), 'got -3'],
    ['k one', () => img.splitTasks(1), 'splitTasks(k): k must be an integer >= 2, got 1'],
    ['k string', () => img.splitTasks(any('3')), "splitTasks(k): k must be an integer >= 2, got '3'"],
    ['steps negative', () => pretrain({ steps: -1 }), 'pretrain({ steps }): steps must be an integer between 0 and 10000000, got -1'],
    ['raw pixels trained', () => pretrain({ model: 'raw-pixels', steps: 10 }), "pretrain({ model, steps }): steps must be 0 for 'raw-pixels' (it has nothing to train), got 10"],
    ['group shares for text', () => pretrain({ dataset: 'brown', groupShares: [0.5, 0.5] }), 'pretrain({ groupShares }): groupShares must be null for text'],
    ['group shares not summing to 1', () => pretrain({ groupShares: [0.5, 0.4] }), 'pretrain({ groupShares }): the sum of groupShares must be 1 (within 1e-9), got 0.9'],
    ['group shares and k disagree', () => pretrain({ groupShares: [0.1, 0.9] }).splitTasks(3), 'splitTasks(k, { by }): k must be 2, the number of pretrain({ groupShares }), got 3'],
    ['unknown POS group', () => pretrain({ dataset: 'brown', posGroups: [any('verbs')] }), "pretrain({ posGroups }): posGroups[0] must be one of 'noun', 'verb', 'adjective', 'adverb', 'other', got 'verbs' (hint: did you mean 'verb'?)"],
    ['POS groups and a POS split', () => pretrain({ dataset: 'brown', posGroups: ['verb'] }).splitTasks(5), "splitTasks(k, { by }): by must be not 'pos' when pretrain({ posGroups }) already picks the masked groups"],
    ['vocabulary for images', () => pretrain({ vocabSize: 2000 }), 'pretrain({ vocabSize }): vocabSize must be null for images'],
    ['unknown minimax losses', () => img.splitTasks(3).minimax(1, { losses: any('log') }), "minimax(eta, { losses }): losses must be one of 'raw', 'relative', 'excess', got 'log'"],
    ['label budgets not increasing', () => img.finetune('fashion-tops', { labelsPerClass: [50, 10] }), 'finetune(tasks, { labelsPerClass }): labelsPerClass must be strictly increasing, got [50, 10]'],
    ['label budgets with maxExamples', () => img.finetune('fashion-tops', { labelsPerClass: [10], maxExamples: 100 }), 'finetune(tasks, { labelsPerClass }): labelsPerClass must be null when maxExamples is given'],
    ['steps fractional', () => pretrain({ steps: 10.5 }), 'got 10.5'],
    ['batchSize negative', () => pretrain({ batchSize: -1 }), 'pretrain({ batchSize }): batchSize must be an integer between 1 and 65536, got -1'],
    ['lr zero', () => pretrain({ lr: 0 }), 'pretrain({ lr }): lr must be a number in (0, 1], got 0'],
    ['lr NaN', () => pretrain({ lr: NaN }), 'pretrain({ lr }): lr must be a number in (0, 1], got NaN'],
    ['maskRatio one', () => pretrain({ maskRatio: 1 }), 'pretrain({ maskRatio }): maskRatio must be a number in (0, 1), got 1'],
    ['seed negative', () => pretrain({ seed: -1 }), 'pretrain({ seed }): seed must be an integer between 0 and 4294967295, got -1'],
    ['image depth too deep', () => pretrain({ depth: 4 }), 'pretrain({ depth }): depth must be an integer between 1 and 3, got 4 (hint: 28x28 images halve to 14, 7 and 4 pixels)'],
    ['width zero', () => pretrain({ width: 0 }), 'pretrain({ width }): width must be an integer between 1 and 4096, got 0'],
    // names
    ['unknown data set', () => pretrain({ dataset: any('cifar10') }), "pretrain({ dataset }): dataset must be one of 'mnist', 'fashionMnist', 'brown', got 'cifar10'"],
    ['misspelt data set', () => pretrain({ dataset: any('fashionmnist') }), "(hint: did you mean 'fashionMnist'?)"],
    ['unknown model', () => pretrain({ model: any('resnet') }), "pretrain({ model }): model must be one of 'masked-image-conv', 'masked-token-transformer', 'raw-pixels', got 'resnet'"],
    ['model of the wrong modality', () => pretrain({ dataset: 'brown', model: 'masked-image-conv' }), "pretrain({ model }): model must be a text model for the text data set 'brown' ('masked-token-transformer'), got 'masked-image-conv'"],
    ['unknown option', () => pretrain(any({ stpes: 10 })), "pretrain(options): option names must be among dataset, model, steps, batchSize, lr, seed, maskRatio, width, depth, lrSchedule, vocabSize, groupShares, posGroups, got 'stpes' (hint: did you mean 'steps'?)"],
    ['options not an object', () => pretrain(any(5)), 'pretrain(options): options must be an object with keys'],
    ['unknown task', () => img.finetune('fashion-al'), "finetune(tasks): tasks[0] must be one of 'mnist-digits', 'fashion-all', 'fashion-tops', 'fashion-footwear', 'fashion-other', got 'fashion-al' (hint: did you mean 'fashion-all'?)"],
    ['task of the wrong modality', () => img.finetune('imdb-sentiment'), "finetune(tasks): tasks[0] must be an image task to follow pre-training on 'fashionMnist'"],
    ['no tasks', () => img.finetune([]), 'finetune(tasks): tasks must be a task name or a non-empty array of task names, got []'],
    ['duplicate tasks', () => img.finetune(['fashion-all', 'fashion-all']), "finetune(tasks): tasks must be free of duplicates, got ['fashion-all', 'fashion-all']"],
    ['finetune mode', () => img.finetune('fashion-all', { mode: any('linear') }), "finetune(tasks, { mode }): mode must be one of 'probe', 'full', got 'linear'"],
    ['finetune noise negative', () => img.finetune('fashion-all', { noise: -0.5 }), 'finetune(tasks, { noise }): noise must be a number in [0, 4], got -0.5'],
    ['finetune noise on text', () => pretrain({ dataset: 'brown' }).finetune('imdb-sentiment', { noise: 0.5 }), 'finetune(tasks, { noise }): noise must be 0 for text tasks, got 0.5'],
    ['maxExamples zero', () => img.finetune('fashion-all', { maxExamples: 0 }), 'finetune(tasks, { maxExamples }): maxExamples must be an integer >= 1, got 0'],
    ['split by pos on images', () => img.splitTasks(3, { by: 'pos' }), "splitTasks(k, { by }): by must be one of 'label', 'cluster', 'noise' for the image data set 'fashionMnist', got 'pos'"],
    ['split by label on text', () => pretrain({ dataset: 'brown' }).splitTasks(3, { by: 'label' }), "by must be one of 'pos' for the text data set 'brown', got 'label'"],
    ['split by noise without noise', () => img.splitTasks(3, { by: 'noise' }), "splitTasks(k, { by }): by must be 'noise' only after noise(sigmas), got 'noise'"],
    ['noise tasks k mismatch', () => img.noise([0.25, 0.5]).splitTasks(4, { by: 'noise' }), 'splitTasks(k): k must be 3 when the tasks are the noise levels (clean and 2 sigmas), got 4'],
    ['replacing noise breaks noise tasks', () => img.noise([0.25, 0.5]).splitTasks(3, { by: 'noise' }).noise([0.5]), 'noise(sigmas): k must be 2 when the tasks are the noise levels (clean and 1 sigma), got 3'],
    // minimax
    ['eta negative', () => img.splitTasks(2).minimax(-1), 'minimax(eta): eta must be a finite number >= 0, got -1'],
    ['eta Infinity', () => img.splitTasks(2).minimax(Infinity), 'minimax(eta): eta must be a finite number >= 0, got Infinity'],
    ['eta NaN', () => img.splitTasks(2).minimax(NaN), 'got NaN'],
    ['ema one', () => img.splitTasks(2).minimax(1, { ema: 1 }), 'minimax(eta, { ema }): ema must be a number in [0, 1), got 1'],
    ['method unknown', () => img.splitTasks(2).minimax(1, { method: any('dro') }), "minimax(eta, { method }): method must be one of 'softmax', 'group-dro', got 'dro'"],
    // sigma lists
    ['empty sigmas', () => img.noise([]), 'noise(sigmas): sigmas must be a non-empty array of at most 64 numbers, got [] (hint: e.g. [0.25, 0.5, 1])'],
    ['unsorted sigmas', () => img.noise([0.5, 0.25]), 'noise(sigmas): sigmas must be strictly increasing, got [0.5, 0.25] (hint: sort them: [0.25, 0.5])'],
    ['duplicate sigmas', () => img.noise([0.25, 0.25, 1]), 'noise(sigmas): sigmas must be free of duplicates, got [0.25, 0.25, 1] (hint: remove the repeated 0.25)'],
    ['zero sigma', () => img.noise([0, 0.5]), 'noise(sigmas): sigmas[0] must be a number in (0, 4], got 0'],
    ['sigma too large', () => img.noise([0.5, 5]), 'noise(sigmas): sigmas[1] must be a number in (0, 4], got 5'],
    ['sigma NaN', () => img.noise([NaN]), 'noise(sigmas): sigmas[0] must be a number in (0, 4], got NaN'],
    ['sigmas not an array', () => img.noise(any(0.5)), 'noise(sigmas): sigmas must be a non-empty array of at most 64 numbers, got 0.5'],
    ['weights wrong length', () => img.noise([0.5], { weights: [1] }), 'noise(sigmas, { weights }): weights must be an array of 2 numbers (clean, then one per sigma), got [1]'],
    ['weights not summing to 1', () => img.noise([0.5], { weights: [0.5, 0.6] }), 'noise(sigmas, { weights }): the sum of weights must be 1 (within 1e-9), got 1.1'],
    ['negative weight', () => img.noise([0.5], { weights: [1.5, -0.5] }), 'noise(sigmas, { weights }): weights[0] must be a number in [0, 1], got 1.5'],
    ['noise on text', () => pretrain({ dataset: 'brown' }).noise([0.5]), "noise(sigmas): the pre-training data set must be an image data set ('mnist' or 'fashionMnist'), got 'brown'"],
    // certify
    ['n0 >= n', () => tuned.certify({ n0: 1000, n: 1000 }), 'certify({ n0, n }): n0 must be smaller than n = 1000, got 1000'],
    ['n0 zero', () => tuned.certify({ n0: 0 }), 'certify({ n0 }): n0 must be an integer between 1 and 10000000, got 0'],
    ['n fractional', () => tuned.certify({ n: 100.5 }), 'certify({ n }): n must be an integer between 1 and 10000000, got 100.5'],
    ['alpha zero', () => tuned.certify({ alpha: 0 }), 'certify({ alpha }): alpha must be a number in (0, 0.5), got 0'],
    ['alpha one half', () => tuned.certify({ alpha: 0.5 }), 'certify({ alpha }): alpha must be a number in (0, 0.5), got 0.5'],
    ['negative radius', () => tuned.certify({ radii: [-0.25, 0.5] }), 'certify({ radii }): radii[0] must be a finite number >= 0, got -0.25'],
    ['decreasing radii', () => tuned.certify({ radii: [0.5, 0.25] }), 'certify({ radii }): radii must be strictly increasing, got [0.5, 0.25]'],
    ['empty radii', () => tuned.certify({ radii: [] }), 'certify({ radii }): radii must be a non-empty array of numbers, got []'],
    ['unsorted certify sigmas', () => tuned.certify({ sigmas: [1, 0.5] }), 'certify({ sigmas }): sigmas must be strictly increasing, got [1, 0.5]'],
    ['points zero', () => tuned.certify({ points: 0 }), 'certify({ points }): points must be an integer between 1 and 1000000, got 0'],
    ['certify on text', () => pretrain({ dataset: 'brown' }).finetune('imdb-sentiment').certify(), "certify(options): the pre-training data set must be an image data set ('mnist' or 'fashionMnist'), got 'brown'"],
    ['evaluate maxExamples', () => tuned.evaluate({ maxExamples: -5 }), 'evaluate({ maxExamples }): maxExamples must be an integer >= 1, got -5'],
    // compile options
    ['unknown target', () => img.compile({ target: any('tpu') }), "compile({ target }): target must be one of 'gpu', 'cpu', 'auto', got 'tpu'"],
    ['bad memory budget', () => img.compile({ memoryBudget: -1 }), 'compile({ memoryBudget }): memoryBudget must be a finite number > 0, got -1'],
    ['gpu target on wasm', () => img.compile({ target: 'gpu', backend: 'wasm' }), "compile({ target, backend }): backend must be 'tensorflow' or 'auto' for the gpu target, got 'wasm'"],
    ['unknown backend', () => img.compile({ backend: any('webgl') }), "compile({ backend }): backend must be one of 'auto', 'tensorflow', 'wasm', 'cpu', got 'webgl'"],
  ];
  it.each(cases)('%s', (_name, f, message) => {
    const e = dslError(f);
    expect(e.message).toContain(message);
    expect(e.message).not.toContain('\n');
    expect(e.userError).toBe(true);
  });
});
