import { basename } from 'node:path';
import { DatasetError } from './errors.js';
import { readIdx } from './idx.js';
import type { ImageSet } from './images.js';

/** A user's own image set: four IDX files (as MNIST ships them, optionally gzipped) and optional class names. */
export interface IdxFiles {
  readonly trainImages: string;
  readonly trainLabels: string;
  readonly testImages: string;
  readonly testLabels: string;
  /** One name per class; labels must be below its length. Default: '0', '1', ... up to the largest label. */
  readonly classNames?: readonly string[];
  readonly name?: string;
}

/**
 * Load a user-supplied image set through the same ImageSet interface as MNIST (not cached: IDX is already
 * a flat binary layout). DatasetError on a wrong magic number, a truncated file, trailing bytes, image and
 * label counts that differ, train and test images of different sizes, labels out of range, or an empty split.
 */
export function loadImageSetFromIdx(files: IdxFiles): ImageSet {
  const trImages = readIdx(files.trainImages, 3, 'train images');
  const trLabels = readIdx(files.trainLabels, 1, 'train labels');
  const teImages = readIdx(files.testImages, 3, 'test images');
  const teLabels = readIdx(files.testLabels, 1, 'test labels');
  for (const [split, images, labels, path] of [
    ['train', trImages, trLabels, files.trainImages],
    ['test', teImages, teLabels, files.testImages],
  ] as const) {
    if (images.dims[0] === 0) throw new DatasetError(`the ${split} split is empty: ${path} holds 0 images; supply at least one ${split} example`);
    if (images.dims[0] !== labels.dims[0]) throw new DatasetError(`the ${split} split has ${images.dims[0]} images but ${labels.dims[0]} labels; pass matching images and labels files`);
  }
  const [, height, width] = trImages.dims as [number, number, number];
  if (teImages.dims[1] !== height || teImages.dims[2] !== width) {
    throw new DatasetError(`wrong image size: train images are ${height}x${width} but test images (${basename(files.testImages)}) are ${teImages.dims[1]}x${teImages.dims[2]}; both splits must have one size`);
  }
  let maxLabel = 0;
  for (const l of trLabels.data) maxLabel = Math.max(maxLabel, l);
  for (const l of teLabels.data) maxLabel = Math.max(maxLabel, l);
  const classNames = files.classNames ?? Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  if (classNames.length === 0) throw new DatasetError('classNames is empty; give one name per class or leave it out');
  for (const [split, labels] of [['train', trLabels.data], ['test', teLabels.data]] as const) {
    const bad = labels.findIndex((l) => l >= classNames.length);
    if (bad >= 0) throw new DatasetError(`${split} label ${labels[bad]} at index ${bad} is out of range: there are ${classNames.length} classes (0..${classNames.length - 1}); fix the labels file or pass all class names`);
  }
  return {
    name: files.name ?? 'user',
    classNames,
    numClasses: classNames.length,
    height,
    width,
    train: { images: trImages.data, labels: trLabels.data, count: trLabels.data.length },
    test: { images: teImages.data, labels: teLabels.data, count: teLabels.data.length },
  };
}
