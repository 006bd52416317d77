import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BROWN_GENRES, DATASETS, DatasetError, POS_GROUPS, POS_NONE, loadMlmCorpus, posGroupOfBrownTag, tagPosGroups,
  tokenize, type MlmCorpus,
} from '../../datasets/index.js';
import { brownDocumentSplit, readBrownDocuments, type BrownDocument } from '../../datasets/brown.js';
import { seededRandom, shuffleInPlace } from '../../datasets/random.js';

let dir: string;
let corpus: MlmCorpus;
let documents: BrownDocument[];
const timing = { first: 0, cached: 0 };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'robustlab-text-'));
  process.env['ROBUSTLAB_CACHE_DIR'] = dir;
  let t = performance.now();
  loadMlmCorpus();
  timing.first = performance.now() - t;
  t = performance.now();
  corpus = loadMlmCorpus();
  timing.cached = performance.now() - t;
  documents = readBrownDocuments();
  process.stdout.write(`MLM corpus load (ms): first ${Math.round(timing.first)}, cached ${Math.round(timing.cached)}\n`);
});
afterAll(() => {
  delete process.env['ROBUSTLAB_CACHE_DIR'];
  rmSync(dir, { recursive: true, force: true });
});

describe('Brown MLM corpus', () => {
  it('holds all 500 documents and 57,340 sentences, split by document 448/52 as the catalog says', () => {
    expect(documents.length).toBe(500);
    expect(documents.reduce((n, d) => n + d.sentences.length, 0)).toBe(57340);
    expect([corpus.documents.train.length, corpus.documents.test.length]).toEqual([448, 52]);
    expect([corpus.train.count, corpus.test.count]).toEqual([DATASETS.brown.trainCount, DATASETS.brown.testCount]);
    expect(corpus.train.count + corpus.test.count).toBe(57340);
  });

  it('has no document on both sides, and every genre in test', () => {
    const train = new Set(corpus.documents.train);
    expect(corpus.documents.test.filter((d) => train.has(d))).toEqual([]);
    expect(new Set(corpus.documents.test.map((d) => corpus.documents.genre[d])).size).toBe(BROWN_GENRES.length);
    expect(brownDocumentSplit(documents)).toEqual({ train: corpus.documents.train, test: corpus.documents.test });
  });

  it('has [CLS]-first sequences of seqLen ids below the vocabulary size, with POS_NONE exactly on [CLS] and [PAD]', () => {
    const { tokens, pos, count } = corpus.train;
    const L = corpus.seqLen;
    expect([L, tokens.length, pos.length, corpus.vocab.size]).toEqual([32, count * 32, count * 32, 8000]);
    expect(corpus.vocab.words.slice(0, 4)).toEqual(['[PAD]', '[UNK]', '[MASK]', '[CLS]']);
    let bad = 0;
    for (let i = 0; i < tokens.length; i++) {
      const special = tokens[i] === corpus.vocab.PAD || tokens[i] === corpus.vocab.CLS;
      if (tokens[i]! < 0 || tokens[i]! >= 8000 || special !== (pos[i] === POS_NONE) || (i % L === 0) !== (tokens[i] === corpus.vocab.CLS)) bad++;
    }
    expect(bad).toBe(0);
  });

  it('gives the first Brown sentence its gold POS groups', () => {
    // The/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd Friday/nr an/at investigation/nn of/in ...
    expect(corpus.documents.train[0]).toBe('ca01');
    const words = Array.from(corpus.train.tokens.subarray(1, 11), (id) => corpus.vocab.wordOf(id));
    expect(words).toEqual(['the', 'fulton', 'county', 'grand', 'jury', 'said', 'friday', 'an', 'investigation', 'of']);
    const groups = Array.from(corpus.train.pos.subarray(1, 11), (g) => POS_GROUPS[g]);
    expect(groups).toEqual(['other', 'noun', 'noun', 'adjective', 'noun', 'verb', 'noun', 'other', 'noun', 'other']);
  });

  it('has a vocabulary covering ~90% of held-out words, built from training documents only', () => {
    expect(corpus.stats.testCoverage).toBeGreaterThan(0.88);
    expect(corpus.stats.testCoverage).toBeLessThan(corpus.stats.trainCoverage);
    // A word that occurs only in test documents is not in the vocabulary.
    const trainWords = new Set(documents.filter((d) => !corpus.documents.test.includes(d.id)).flatMap((d) => d.sentences.flatMap((s) => s.words)));
    const testOnly = documents.filter((d) => corpus.documents.test.includes(d.id)).flatMap((d) => d.sentences.flatMap((s) => s.words)).filter((w) => !trainWords.has(w));
    expect(testOnly.length).toBeGreaterThan(100);
    expect(testOnly.every((w) => corpus.vocab.idOf(w) === corpus.vocab.UNK)).toBe(true);
  });

  it('loads from its cache at least 10x faster than it builds', () => {
    expect(timing.first / timing.cached).toBeGreaterThanOrEqual(10);
  });

  it('rejects a bad seqLen with a DatasetError', () => {
    expect(() => loadMlmCorpus({ seqLen: 1 })).toThrow(new DatasetError('seqLen must be an integer in 2..4096, got 1'));
  });
});

describe('tokenizer and vocabulary', () => {
  it('lowercases, keeps clitics and inner punctuation in words, and turns quotes into one token', () => {
    expect(tokenize("``Don't\u201d Atlanta's term-end 3.5 -- U.S. ''end''")).toEqual(['"', "don't", '"', "atlanta's", 'term-end', '3.5', '--', 'u.s', '.', '"', 'end', '"']);
  });

  it('encodes text as [CLS] + ids, truncated and padded to seqLen', () => {
    const ids = corpus.vocab.encode('The jury said xqzzyq', 6);
    expect(Array.from(ids)).toEqual([3, corpus.vocab.idOf('the'), corpus.vocab.idOf('jury'), corpus.vocab.idOf('said'), 1, 0]);
    expect(Array.from(corpus.vocab.encode('a b c d e f g', 3))).toEqual([3, corpus.vocab.idOf('a'), corpus.vocab.idOf('b')]);
  });
});

describe('POS groups', () => {
  it('maps Brown tags with suffixes, negation, possessives and compounds as documented', () => {
    const cases: [string, string][] = [
      ['nn-tl', 'noun'], ['np$', 'noun'], ['nns-tl-hl', 'noun'], ['nr', 'noun'], ['fw-nn', 'noun'],
      ['vbd', 'verb'], ['bedz*', 'verb'], ['md*', 'verb'], ['hvz', 'verb'], ['vb+ppo', 'verb'],
      ['jjr-hl', 'adjective'], ['od', 'adjective'], ['rb', 'adverb'], ['ql', 'adverb'], ['*', 'adverb'],
      ['ppss+md', 'other'], ['at', 'other'], ['in-tl', 'other'], ['nil', 'other'], ['pn', 'other'], ['.', 'other'],
    ];
    for (const [tag, group] of cases) expect([tag, POS_GROUPS[posGroupOfBrownTag(tag)]]).toEqual([tag, group]);
  });

  it('the wink-nlp tagger agrees with Brown gold groups on >= 85% of ~2,000 held-out tokens', () => {
    const test = documents.filter((d) => corpus.documents.test.includes(d.id)).flatMap((d) => d.sentences);
    shuffleInPlace(test, seededRandom(7));
    let agree = 0;
    let total = 0;
    for (const s of test) {
      if (total >= 2000) break;
      const tagged = tagPosGroups(s.words.join(' '));
      expect(tagged.words).toEqual(s.words);
      for (let i = 0; i < s.words.length; i++) agree += Number(tagged.groups[i] === s.groups[i]);
      total += s.words.length;
    }
    process.stdout.write(`tagger agreement with Brown gold: ${(agree / total).toFixed(4)} on ${total} tokens\n`);
    expect(total).toBeGreaterThanOrEqual(2000);
    expect(agree / total).toBeGreaterThanOrEqual(0.85);
  });

  it('tags raw text aligned with the tokenizer', () => {
    const t = tagPosGroups("The old dog didn't eat the bone quickly.");
    expect(t.words).toEqual(['the', 'old', 'dog', "didn't", 'eat', 'the', 'bone', 'quickly', '.']);
    expect(Array.from(t.groups, (g) => POS_GROUPS[g])).toEqual(['other', 'adjective', 'noun', 'verb', 'verb', 'other', 'noun', 'adverb', 'other']);
  });
});
