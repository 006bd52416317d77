import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DatasetError, loadTextTaskFromFiles } from '../../datasets/index.js';

// Tokenizes with the MLM vocabulary from the project's data set cache (.cache/datasets).
const dir = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'datasets');
const f = (name: string) => join(dir, name);

describe('loadTextTaskFromFiles (a user text task from JSONL / CSV)', () => {
  it('reads JSONL and CSV into a TextTask with sorted class names and the MLM vocabulary', () => {
    const t = loadTextTaskFromFiles({ train: f('tiny-train.jsonl'), test: f('tiny-test.csv'), seqLen: 8 });
    expect([t.kind, t.numClasses, t.train.count, t.test.count, t.seqLen]).toEqual(['text', 2, 3, 2, 8]);
    expect(t.classNames).toEqual(['negative', 'positive']);
    expect(Array.from(t.train.labels)).toEqual([1, 0, 1]);
    expect(Array.from(t.test.labels)).toEqual([0, 1]);
    const words = Array.from(t.test.tokens.subarray(0, 8), (id) => t.vocab.wordOf(id));
    expect(words).toEqual(['[CLS]', '[UNK]', ',', '[UNK]', ',', 'and', '"', 'clever']); // 'boring', 'predictable': not among Brown's 8,000 words
  });

  it('rejects a text on both sides, an unknown label and an empty split', () => {
    expect(() => loadTextTaskFromFiles({ train: f('tiny-train.jsonl'), test: f('leaky-test.jsonl') })).toThrow(
      new DatasetError(`1 test text(s) also appear in train (${f('leaky-test.jsonl')}); remove them from one side so the test set measures generalisation`),
    );
    expect(() => loadTextTaskFromFiles({ train: f('tiny-train.jsonl'), test: f('bad-label-test.csv') })).toThrow(
      new DatasetError("test example 1 has label 'neutral', which is not one of the 2 classes (negative, positive); fix the label or pass classNames"),
    );
    expect(() => loadTextTaskFromFiles({ train: f('tiny-train.jsonl'), test: f('empty-test.csv') })).toThrow(
      new DatasetError(`the test split is empty: ${f('empty-test.csv')} holds no examples; supply at least one test example`),
    );
    expect(() => loadTextTaskFromFiles({ train: f('tiny-train.jsonl'), test: f('README.md') })).toThrow(/must end in \.jsonl or \.csv, got '\.md'/);
  });
});
