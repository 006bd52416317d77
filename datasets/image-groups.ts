import { DATASETS, isDatasetName } from './catalog.js';
import { DatasetError } from './errors.js';
import type { ImageSet } from './images.js';
import { gaussian, seededRandom, subsample } from './random.js';

/**
 * Representative tasks for the CV experiment: every train and test example gets a group id 0..k-1, and
 * task g is "the upstream objective on group g".
 *
 * by 'label': the classes in a fixed semantic order, cut into k contiguous runs of near-equal size (the first
 *   n mod k runs one class longer). Fashion-MNIST's order is tops (T-shirt/top, Pullover, Coat, Shirt),
 *   footwear (Sandal, Sneaker, Ankle boot), other (Trouser, Dress, Bag), so k = 3 gives exactly those groups;
 *   MNIST's is loops (0, 6, 8, 9), curves (2, 3, 5), strokes (1, 4, 7); other sets use class order.
 * by 'cluster': pixels / 255 projected to 32 dimensions by a fixed Gaussian random matrix (seed
 *   PROJECTION_SEED, entries N(0, 1/32)), then k-means (k-means++ initialisation, seeded by `seed`) fitted
 *   on a seeded sample of at most 10,000 training images; every train and test image goes to its nearest
 *   centroid. A cluster that empties during fitting is re-seeded with the point farthest from its centroid.
 */

export interface ImageTaskGroups {
  /** Group id per training example. */
  readonly train: Int32Array;
  /** Group id per test example. */
  readonly test: Int32Array;
  readonly groupNames: string[];
}

export interface ImageTaskGroupOptions {
  readonly k: number;
  readonly by: 'label' | 'cluster';
  readonly seed?: number;
}

export const PROJECTION_SEED = 784032;
export const PROJECTION_DIM = 32;
export const KMEANS_FIT_SAMPLE = 10000;
const KMEANS_MAX_ITERATIONS = 50;

const SEMANTIC_ORDER: Readonly<Record<string, { order: number[]; named: Record<string, number[]> }>> = {
  fashionMnist: { order: [0, 2, 4, 6, 5, 7, 9, 1, 3, 8], named: { tops: [0, 2, 4, 6], footwear: [5, 7, 9], other: [1, 3, 8] } },
  mnist: { order: [0, 6, 8, 9, 2, 3, 5, 1, 4, 7], named: { loops: [0, 6, 8, 9], curves: [2, 3, 5], strokes: [1, 4, 7] } },
};

export function imageTaskGroups(set: ImageSet, options: ImageTaskGroupOptions): ImageTaskGroups {
  const { k, by } = options;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(k) || k < 1) throw new DatasetError(`imageTaskGroups: k must be an integer >= 1, got ${k}`);
  const catalogMax = isDatasetName(set.name) ? DATASETS[set.name].maxGroups[by] : undefined;
  if (by === 'label') {
    const max = Math.min(set.numClasses, catalogMax ?? Infinity);
    if (k > max) throw new DatasetError(`imageTaskGroups: ${set.name} has ${set.numClasses} classes, so by 'label' supplies at most ${max} groups, got k = ${k}; use a smaller k or by 'cluster'`);
    return byLabel(set, k);
  }
  if (by === 'cluster') {
    const max = Math.min(catalogMax ?? Infinity, Math.min(set.train.count, KMEANS_FIT_SAMPLE));
    if (k > max) throw new DatasetError(`imageTaskGroups: by 'cluster' supplies at most ${max} groups for ${set.name}, got k = ${k}; use a smaller k`);
    return byCluster(set, k, seed);
  }
  throw new DatasetError(`imageTaskGroups: by must be 'label' or 'cluster', got '${String(by)}'`);
}

function byLabel(set: ImageSet, k: number): ImageTaskGroups {
  const semantic = SEMANTIC_ORDER[set.name];
  const order = semantic?.order.length === set.numClasses ? semantic.order : Array.from({ length: set.numClasses }, (_, i) => i);
  const groupOf = new Int32Array(256).fill(-1);
  const groupNames: string[] = [];
  let at = 0;
  for (let g = 0; g < k; g++) {
    const size = Math.floor(order.length / k) + (g < order.length % k ? 1 : 0);
    const members = order.slice(at, at + size);
    at += size;
    for (const c of members) groupOf[c] = g;
    const named = Object.entries(semantic?.named ?? {}).find(([, cs]) => cs.length === members.length && cs.every((c) => members.includes(c)));
    groupNames.push(named?.[0] ?? members.map((c) => set.classNames[c]).join('+'));
  }
  const assign = (labels: Uint8Array) => Int32Array.from(labels, (l) => groupOf[l]!);
  return { train: assign(set.train.labels), test: assign(set.test.labels), groupNames };
}

function byCluster(set: ImageSet, k: number, seed: number): ImageTaskGroups {
  const pixels = set.height * set.width;
  const random = seededRandom(PROJECTION_SEED);
  const projection = new Float32Array(pixels * PROJECTION_DIM);
  for (let i = 0; i < projection.length; i++) projection[i] = gaussian(random) / Math.sqrt(PROJECTION_DIM);
  const train = project(set.train.images, set.train.count, pixels, projection);
  const test = project(set.test.images, set.test.count, pixels, projection);
  const sample = subsample(Int32Array.from({ length: set.train.count }, (_, i) => i), KMEANS_FIT_SAMPLE, seed);
  const centroids = kMeans(train, sample, k, seed);
  return {
    train: nearest(train, set.train.count, centroids, k),
    test: nearest(test, set.test.count, centroids, k),
    groupNames: Array.from({ length: k }, (_, g) => `cluster ${g}`),
  };
}

/** x * R for every image; skips zero pixels, which are most of an MNIST-like image. */
function project(images: Uint8Array, count: number, pixels: number, r: Float32Array): Float32Array {
  const out = new Float32Array(count * PROJECTION_DIM);
  const acc = new Float64Array(PROJECTION_DIM);
  for (let n = 0; n < count; n++) {
    acc.fill(0);
    const base = n * pixels;
    for (let p = 0; p < pixels; p++) {
      const v = images[base + p]!;
      if (v === 0) continue;
      const x = v / 255;
      const row = p * PROJECTION_DIM;
      for (let d = 0; d < PROJECTION_DIM; d++) acc[d]! += x * r[row + d]!;
    }
    out.set(acc, n * PROJECTION_DIM);
  }
  return out;
}

function distance2(a: Float32Array, i: number, c: Float32Array, g: number): number {
  let s = 0;
  for (let d = 0; d < PROJECTION_DIM; d++) {
    const t = a[i * PROJECTION_DIM + d]! - c[g * PROJECTION_DIM + d]!;
    s += t * t;
  }
  return s;
}

function nearest(x: Float32Array, count: number, c: Float32Array, k: number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let best = 0;
    let bestD = Infinity;
    for (let g = 0; g < k; g++) {
      const dd = distance2(x, i, c, g);
      if (dd < bestD) {
        bestD = dd;
        best = g;
      }
    }
    out[i] = best;
  }
  return out;
}

/** Lloyd's algorithm with k-means++ initialisation on the rows of `x` listed in `sample`. */
function kMeans(x: Float32Array, sample: Int32Array, k: number, seed: number): Float32Array {
  const random = seededRandom(seed ^ 0x5eed);
  const n = sample.length;
  const pts = new Float32Array(n * PROJECTION_DIM);
  sample.forEach((s, i) => pts.set(x.subarray(s * PROJECTION_DIM, (s + 1) * PROJECTION_DIM), i * PROJECTION_DIM));
  const c = new Float32Array(k * PROJECTION_DIM);
  const setCentroid = (g: number, i: number) => c.set(pts.subarray(i * PROJECTION_DIM, (i + 1) * PROJECTION_DIM), g * PROJECTION_DIM);
  setCentroid(0, Math.floor(random() * n));
  const d2 = new Float64Array(n).fill(Infinity);
  for (let g = 1; g < k; g++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      d2[i] = Math.min(d2[i]!, distance2(pts, i, c, g - 1));
      total += d2[i]!;
    }
    let r = random() * total;
    let pick = n - 1;
    for (let i = 0; i < n; i++) {
      r -= d2[i]!;
      if (r <= 0) {
        pick = i;
        break;
      }
    }
    setCentroid(g, pick);
  }
  let assign = new Int32Array(n).fill(-1);
  for (let it = 0; it < KMEANS_MAX_ITERATIONS; it++) {
    const next = nearest(pts, n, c, k);
    const changed = next.some((g, i) => g !== assign[i]);
    assign = next;
    const sums = new Float64Array(k * PROJECTION_DIM);
    const counts = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      const g = assign[i]!;
      counts[g]!++;
      for (let d = 0; d < PROJECTION_DIM; d++) sums[g * PROJECTION_DIM + d]! += pts[i * PROJECTION_DIM + d]!;
    }
    for (let g = 0; g < k; g++) {
      if (counts[g] === 0) {
        let far = 0;
        let farD = -1;
        for (let i = 0; i < n; i++) {
          const dd = distance2(pts, i, c, assign[i]!);
          if (dd > farD) {
            farD = dd;
            far = i;
          }
        }
        setCentroid(g, far);
        continue;
      }
      for (let d = 0; d < PROJECTION_DIM; d++) c[g * PROJECTION_DIM + d] = sums[g * PROJECTION_DIM + d]! / counts[g]!;
    }
    if (!changed && counts.every((m) => m > 0)) break;
  }
  return c;
}

/** Seed of the upstream pool's subsample: the pool is part of the data set, the same for every run seed. */
export const POOL_SEED = 20231210;

/**
 * The upstream pool with fixed shares of the groups: the largest subsample of the training examples in which
 * group g makes up shares[g] (rounded down), drawn with POOL_SEED. Returns the chosen indices, sorted.
 * E.g. Fashion-MNIST's 24,000 tops, 18,000 footwear and 18,000 other with shares [0.0625, 0.46875, 0.46875]
 * keep 2,400 tops and every footwear and other image (tops are 6% of the pool).
 */
export function poolWithShares(groupOf: Int32Array, shares: readonly number[]): Int32Array {
  const members = shares.map((_, g) => Int32Array.from(groupOf.keys()).filter((i) => groupOf[i] === g));
  members.forEach((m, g) => {
    if (m.length === 0) throw new DatasetError(`poolWithShares: group ${g} has no training example`);
  });
  const total = Math.min(...members.map((m, g) => m.length / shares[g]!));
  const chosen = members.flatMap((m, g) => Array.from(subsample(m, Math.floor(shares[g]! * total + 1e-9), POOL_SEED + g)));
  return Int32Array.from(chosen).sort();
}
