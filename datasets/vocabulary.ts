import { DatasetError } from './errors.js';
import { tokenize } from './tokenizer.js';

/**
 * A fixed word vocabulary: ids 0 [PAD], 1 [UNK], 2 [MASK], 3 [CLS], then words by descending frequency in
 * the training documents (ties alphabetical), so the same corpus and size always give the same ids.
 */
export interface Vocabulary {
  readonly size: number;
  /** All entries, index = id (the four special tokens first). */
  readonly words: readonly string[];
  readonly PAD: 0;
  readonly UNK: 1;
  readonly MASK: 2;
  readonly CLS: 3;
  /** Id of a word (already tokenized), UNK when unknown. */
  idOf(word: string): number;
  wordOf(id: number): string;
  /** [CLS] + the ids of tokenize(text), truncated to seqLen, padded with PAD. */
  encode(text: string, seqLen: number): Int32Array;
  /** Same as encode(), for words already tokenized. */
  encodeWords(words: readonly string[], seqLen: number): Int32Array;
}

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[MASK]', '[CLS]'] as const;

/** The `size` most frequent words of `sentences` plus the four special tokens. */
export function buildVocabulary(sentences: Iterable<readonly string[]>, size: number): Vocabulary {
  if (!Number.isInteger(size) || size <= SPECIAL_TOKENS.length) throw new DatasetError(`vocabSize must be an integer > ${SPECIAL_TOKENS.length}, got ${size}`);
  const counts = new Map<string, number>();
  for (const s of sentences) for (const w of s) counts.set(w, (counts.get(w) ?? 0) + 1);
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return vocabularyFromWords([...SPECIAL_TOKENS, ...ranked.slice(0, size - SPECIAL_TOKENS.length).map(([w]) => w)]);
}

/** Rebuild a vocabulary from its word list (e.g. read back from the cache). */
export function vocabularyFromWords(words: readonly string[]): Vocabulary {
  const ids = new Map<string, number>();
  words.forEach((w, i) => ids.set(w, i));
  const idOf = (word: string) => ids.get(word) ?? 1;
  const encodeWords = (ws: readonly string[], seqLen: number) => {
    if (!Number.isInteger(seqLen) || seqLen < 2) throw new DatasetError(`seqLen must be an integer >= 2 (room for [CLS] and one word), got ${seqLen}`);
    const out = new Int32Array(seqLen);
    out[0] = 3;
    for (let i = 0; i < ws.length && i + 1 < seqLen; i++) out[i + 1] = idOf(ws[i]!);
    return out;
  };
  return Object.freeze({
    size: words.length,
    words: Object.freeze([...words]),
    PAD: 0 as const,
    UNK: 1 as const,
    MASK: 2 as const,
    CLS: 3 as const,
    idOf,
    wordOf: (id: number) => words[id] ?? '[UNK]',
    encodeWords,
    encode: (text: string, seqLen: number) => encodeWords(tokenize(text, Math.max(0, seqLen - 1)), seqLen),
  });
}
