import { describe, expect, it } from 'vitest';
import { DatasetError, imageTaskGroups, loadImageSet, type ImageSet } from '../../datasets/index.js';

// Uses the project's data set cache (.cache/datasets).
const fashion = loadImageSet('fashionMnist');
const mnist = loadImageSet('mnist');

/** The first n train / m test examples of a set: real images, small enough for a quick k-means. */
function head(set: ImageSet, n: number, m: number): ImageSet {
  const px = set.height * set.width;
  return {
    ...set,
    train: { images: set.train.images.subarray(0, n * px), labels: set.train.labels.subarray(0, n), count: n },
    test: { images: set.test.images.subarray(0, m * px), labels: set.test.labels.subarray(0, m), count: m },
  };
}

describe('imageTaskGroups by label', () => {
  it('Fashion-MNIST k = 3 gives tops / footwear / other', () => {
    const g = imageTaskGroups(fashion, { k: 3, by: 'label', seed: 0 });
    expect(g.groupNames).toEqual(['tops', 'footwear', 'other']);
    const classesOf = (group: number) => [...new Set(Array.from(fashion.train.labels).filter((_, i) => g.train[i] === group))].sort().map((c) => fashion.classNames[c]);
    expect(classesOf(0)).toEqual(['T-shirt/top', 'Pullover', 'Coat', 'Shirt']);
    expect(classesOf(1)).toEqual(['Sandal', 'Sneaker', 'Ankle boot']);
    expect(classesOf(2)).toEqual(['Trouser', 'Dress', 'Bag']);
    expect(g.test.filter((x) => x === 0).length).toBe(4000);
  });

  it('MNIST k = 3 gives loops / curves / strokes, and k = 10 one class per group', () => {
    expect(imageTaskGroups(mnist, { k: 3, by: 'label' }).groupNames).toEqual(['loops', 'curves', 'strokes']);
    const g = imageTaskGroups(mnist, { k: 10, by: 'label' });
    expect(new Set(g.groupNames).size).toBe(10);
    const perClass = new Map<number, Set<number>>();
    mnist.train.labels.forEach((l, i) => perClass.set(l, (perClass.get(l) ?? new Set()).add(g.train[i]!)));
    expect([...perClass.values()].every((s) => s.size === 1)).toBe(true);
  });

  it('rejects k above the number of classes or below 1', () => {
    expect(() => imageTaskGroups(fashion, { k: 11, by: 'label' })).toThrow(
      new DatasetError("imageTaskGroups: fashionMnist has 10 classes, so by 'label' supplies at most 10 groups, got k = 11; use a smaller k or by 'cluster'"),
    );
    expect(() => imageTaskGroups(fashion, { k: 0, by: 'label' })).toThrow(new DatasetError('imageTaskGroups: k must be an integer >= 1, got 0'));
  });
});

describe('imageTaskGroups by cluster', () => {
  const small = head(mnist, 4000, 1000);

  it('is reproducible for a seed, fills every cluster, and follows the digits far above chance', () => {
    const a = imageTaskGroups(small, { k: 10, by: 'cluster', seed: 1 });
    const b = imageTaskGroups(small, { k: 10, by: 'cluster', seed: 1 });
    expect(Buffer.from(a.train.buffer).equals(Buffer.from(b.train.buffer))).toBe(true);
    expect(a.groupNames).toHaveLength(10);
    for (const groups of [a.train, a.test]) expect(new Set(groups).size).toBe(10);
    // Purity: share of examples whose cluster's majority digit is their own digit (chance ~ 0.11).
    const purity = (groups: Int32Array, labels: Uint8Array) => {
      const counts = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
      groups.forEach((g, i) => counts[g]![labels[i]!]!++);
      return counts.reduce((s, row) => s + Math.max(...row), 0) / groups.length;
    };
    expect(purity(a.train, small.train.labels)).toBeGreaterThan(0.4);
    expect(purity(a.test, small.test.labels)).toBeGreaterThan(0.4);
  });

  it('rejects k above what the catalog allows', () => {
    expect(() => imageTaskGroups(small, { k: 65, by: 'cluster' })).toThrow(/by 'cluster' supplies at most 64 groups for mnist, got k = 65/);
  });
});
