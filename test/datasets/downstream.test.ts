import { describe, expect, it } from 'vitest';
import {
  DatasetError, DOWNSTREAM_TASKS, labelHistogram, loadDownstreamTask, loadMlmCorpus, type TextTask,
} from '../../datasets/index.js';
import { readImdbReviews } from '../../datasets/imdb.js';
import { leakageFreeSplit, normaliseText } from '../../datasets/text-split.js';
import { IMDB_SPLIT_SEED } from '../../datasets/imdb.js';
import { TEXT_TEST_FRACTION } from '../../datasets/downstream.js';

// Uses the project's data set cache (.cache/datasets): the first run builds it, later runs read it.

describe('downstream tasks', () => {
  it('every catalog task loads with the catalog class count and measured sizes', () => {
    for (const info of Object.values(DOWNSTREAM_TASKS)) {
      const t = loadDownstreamTask(info.name);
      expect([t.name, t.kind, t.numClasses, t.classNames.length, t.train.count, t.test.count]).toEqual([
        info.name, info.modality, info.numClasses, info.numClasses, info.trainCount, info.testCount,
      ]);
      expect(Math.max(...t.train.labels, ...t.test.labels)).toBeLessThan(t.numClasses);
      if (t.kind === 'image') expect(t.train.images.length).toBe(t.train.count * 28 * 28);
      else expect(t.train.tokens.length).toBe(t.train.count * t.seqLen);
    }
  });

  it('subsets Fashion-MNIST classes with labels remapped to 0..n-1', () => {
    const t = loadDownstreamTask('fashion-footwear');
    expect(t.classNames).toEqual(['Sandal', 'Sneaker', 'Ankle boot']);
    expect(labelHistogram(t.train.labels, 3)).toEqual([6000, 6000, 6000]);
    expect(labelHistogram(t.test.labels, 3)).toEqual([1000, 1000, 1000]);
    expect(loadDownstreamTask('fashion-tops').classNames).toEqual(['T-shirt/top', 'Pullover', 'Coat', 'Shirt']);
  });

  it('subsamples with a seed: reproducible, seed-dependent, and never across the split', () => {
    const a = loadDownstreamTask('imdb-sentiment', { maxTrain: 300, maxTest: 50, seed: 3 }) as TextTask;
    const b = loadDownstreamTask('imdb-sentiment', { maxTrain: 300, maxTest: 50, seed: 3 }) as TextTask;
    const c = loadDownstreamTask('imdb-sentiment', { maxTrain: 300, maxTest: 50, seed: 4 }) as TextTask;
    expect([a.train.count, a.test.count]).toEqual([300, 50]);
    expect(Buffer.from(a.train.tokens.buffer).equals(Buffer.from(b.train.tokens.buffer))).toBe(true);
    expect(Buffer.from(a.train.tokens.buffer).equals(Buffer.from(c.train.tokens.buffer))).toBe(false);
    const full = loadDownstreamTask('imdb-sentiment') as TextTask;
    const rows = (t: TextTask['train'], L: number) => new Set(Array.from({ length: t.count }, (_, i) => t.tokens.subarray(i * L, (i + 1) * L).join(',')));
    const fullTest = rows(full.test, full.seqLen);
    expect([...rows(a.test, a.seqLen)].every((r) => fullTest.has(r))).toBe(true);
  });

  it('tokenizes text tasks with the MLM corpus vocabulary: [CLS] first, ids below its size', () => {
    const corpus = loadMlmCorpus();
    for (const name of ['imdb-sentiment', 'brown-genre', 'wordnet-lexname', 'wordnet-pos']) {
      const t = loadDownstreamTask(name, { maxTrain: 500, maxTest: 100 }) as TextTask;
      expect(t.vocab.words).toEqual(corpus.vocab.words);
      const L = t.seqLen;
      for (let i = 0; i < t.train.count; i++) expect(t.train.tokens[i * L]).toBe(t.vocab.CLS);
      expect(Math.max(...t.train.tokens)).toBeLessThan(t.vocab.size);
    }
    const gloss = loadDownstreamTask('wordnet-lexname', { maxTrain: 1 }) as TextTask;
    expect(gloss.classNames[0]).toBe('adj.all');
    expect(gloss.classNames[44]).toBe('adj.ppl');
  });

  it('IMDB: cleaned of <br />, and no review text on both sides of the split', () => {
    const { texts, labels } = readImdbReviews();
    expect(texts.length).toBe(50000);
    expect(texts.some((t) => t.includes('<br'))).toBe(false);
    const split = leakageFreeSplit(texts, labels, IMDB_SPLIT_SEED, TEXT_TEST_FRACTION);
    const train = new Set(Array.from(split.train, (i) => normaliseText(texts[i]!)));
    expect(Array.from(split.test).filter((i) => train.has(normaliseText(texts[i]!)))).toEqual([]);
    expect([split.train.length, split.test.length]).toEqual([DOWNSTREAM_TASKS['imdb-sentiment']!.trainCount, DOWNSTREAM_TASKS['imdb-sentiment']!.testCount]);
    expect(labelHistogram(Uint8Array.from(split.test, (i) => labels[i]!), 2).every((n) => n > 2300)).toBe(true);
  });

  it('brown-genre: split by the MLM documents, every genre in test, no test sentence equal to a train sentence', () => {
    const t = loadDownstreamTask('brown-genre') as TextTask;
    const L = t.seqLen;
    const train = new Set(Array.from({ length: t.train.count }, (_, i) => t.train.tokens.subarray(i * L, (i + 1) * L).join(',')));
    let shared = 0;
    for (let i = 0; i < t.test.count; i++) if (train.has(t.test.tokens.subarray(i * L, (i + 1) * L).join(','))) shared++;
    expect(shared).toBe(0);
    expect(labelHistogram(t.test.labels, 15).every((n) => n > 0)).toBe(true);
    expect(t.classNames[0]).toBe('news');
  });

  it('rejects an unknown task and a bad maxTrain with a DatasetError', () => {
    expect(() => loadDownstreamTask('cifar10')).toThrow(DatasetError);
    expect(() => loadDownstreamTask('cifar10')).toThrow(/^unknown downstream task 'cifar10'; known: mnist-digits, fashion-all/);
    expect(() => loadDownstreamTask('fashion-all', { maxTrain: 0 })).toThrow(new DatasetError('maxTrain must be an integer >= 1, got 0'));
  });
});
