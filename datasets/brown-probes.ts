import { BROWN_GENRES, brownDocumentSplit, readBrownDocuments, type BrownDocument } from './brown.js';
import { seededRandom, shuffleInPlace } from './random.js';
import type { Vocabulary } from './vocabulary.js';

/**
 * Downstream tasks that depend on specific upstream tasks (the part-of-speech mask tasks): context-only probes.
 * An example is a Brown sentence with one word replaced by [MASK]; the label is that word's fine Brown tag
 * within one part-of-speech group, so only the context tells it:
 *   brown-noun-form        nn singular, nns plural, np proper singular, nps proper plural
 *   brown-verb-form        vb base, vbd past, vbg -ing, vbn past participle, vbz 3rd person singular
 *   brown-adjective-degree jj positive, jjr comparative, jjt superlative
 *   brown-adverb-kind      rb plain, rbr comparative, wrb wh-adverb, ql qualifier, * negation
 * Train examples come from the training documents and test examples from the test documents (the MLM
 * corpus' document split). Classes are balanced by a seeded cap per class (the rarest class sets it), so
 * chance is 1 / classes. A word is eligible only when the tokenizer kept it as one word and it lies within
 * the first seqLen - 1 words (after [CLS]).
 *
 * And one sentence task: brown-fiction, imaginative prose (fiction, mystery, science fiction, adventure,
 * romance, humour) against informative prose, balanced the same way.
 */

export const BROWN_TOKEN_TASKS: Readonly<Record<string, { readonly group: string; readonly classes: Readonly<Record<string, string>> }>> = {
  'brown-noun-form': { group: 'noun', classes: { nn: 'singular', nns: 'plural', np: 'proper singular', nps: 'proper plural' } },
  'brown-verb-form': { group: 'verb', classes: { vb: 'base', vbd: 'past', vbg: '-ing', vbn: 'past participle', vbz: '3rd singular' } },
  'brown-adjective-degree': { group: 'adjective', classes: { jj: 'positive', jjr: 'comparative', jjt: 'superlative' } },
  'brown-adverb-kind': { group: 'adverb', classes: { rb: 'plain', rbr: 'comparative', wrb: 'wh-adverb', ql: 'qualifier', '*': 'negation' } },
};

export const BROWN_FICTION_CLASSES = ['informative', 'imaginative'] as const;
const IMAGINATIVE = new Set(['fiction', 'mystery', 'science_fiction', 'adventure', 'romance', 'humor']);

/** Seed of the balancing caps (part of the task's definition, not of a run). */
export const BROWN_PROBE_SEED = 1967;
/** Most examples kept per class on each side. */
export const BROWN_PROBE_CAP = { train: 2000, test: 200 } as const;

export interface TokenProbeSplit {
  readonly tokens: Int32Array;
  readonly labels: Uint8Array;
  /** Position (0..seqLen-1) of the masked word in each example. */
  readonly positions: Int32Array;
}

/** The task's train and test examples, tokenized with `vocab` to seqLen. */
export function brownTokenTask(name: string, vocab: Vocabulary, seqLen: number): { train: TokenProbeSplit; test: TokenProbeSplit; classNames: string[] } {
  const task = BROWN_TOKEN_TASKS[name]!;
  const tags = Object.keys(task.classes);
  const documents = readBrownDocuments();
  const split = brownDocumentSplit(documents);
  const byId = new Map(documents.map((d) => [d.id, d]));
  const side = (ids: readonly string[], cap: number, seed: number): TokenProbeSplit => {
    const candidates: { doc: BrownDocument; s: number; j: number }[][] = tags.map(() => []);
    for (const id of ids) {
      const doc = byId.get(id)!;
      doc.sentences.forEach((sentence, s) => {
        const n = Math.min(sentence.words.length, seqLen - 1);
        for (let j = 0; j < n; j++) {
          const c = tags.indexOf(sentence.tags[j]!);
          if (c >= 0) candidates[c]!.push({ doc, s, j });
        }
      });
    }
    const perClass = Math.min(cap, ...candidates.map((c) => c.length));
    const random = seededRandom(seed);
    const chosen = candidates.flatMap((c, label) => shuffleInPlace([...c], random).slice(0, perClass).map((x) => ({ ...x, label })));
    shuffleInPlace(chosen, random);
    const tokens = new Int32Array(chosen.length * seqLen);
    const labels = new Uint8Array(chosen.length);
    const positions = new Int32Array(chosen.length);
    chosen.forEach((x, i) => {
      const row = vocab.encodeWords(x.doc.sentences[x.s]!.words, seqLen);
      row[1 + x.j] = vocab.MASK;
      tokens.set(row, i * seqLen);
      labels[i] = x.label;
      positions[i] = 1 + x.j;
    });
    return { tokens, labels, positions };
  };
  return {
    train: side(split.train, BROWN_PROBE_CAP.train, BROWN_PROBE_SEED),
    test: side(split.test, BROWN_PROBE_CAP.test, BROWN_PROBE_SEED + 1),
    classNames: tags.map((t) => task.classes[t]!),
  };
}

export const BROWN_TENSE_CLASSES = ['present', 'past'] as const;
const PAST = new Set(['vbd', 'bed', 'bedz', 'hvd', 'dod']);
const PRESENT = new Set(['vbz', 'bez', 'ber', 'bem', 'hvz', 'doz']);

/** brown-fiction: sentences of imaginative vs informative documents, classes balanced per side. */
export function brownFiction(vocab: Vocabulary, seqLen: number) {
  return brownSentenceTask(vocab, seqLen, BROWN_PROBE_SEED + 2, (doc) => (IMAGINATIVE.has(doc.genre) ? 1 : 0));
}

/**
 * brown-tense: sentences whose finite verbs are all past (vbd, bed, bedz, hvd, dod) or all present (vbz, bez,
 * ber, bem, hvz, doz) tense; sentences with both or neither are left out. Classes balanced per side.
 */
export function brownTense(vocab: Vocabulary, seqLen: number) {
  return brownSentenceTask(vocab, seqLen, BROWN_PROBE_SEED + 4, (_doc, tags) => {
    const past = tags.some((t) => PAST.has(t.replace(/\*$/, '')));
    const present = tags.some((t) => PRESENT.has(t.replace(/\*$/, '')));
    return past === present ? -1 : past ? 1 : 0;
  });
}

/** A balanced binary sentence task on the document split: `labelOf` gives 0, 1, or -1 (left out). */
function brownSentenceTask(
  vocab: Vocabulary,
  seqLen: number,
  seed: number,
  labelOf: (doc: BrownDocument, tags: readonly string[]) => number,
): { trainTokens: Int32Array; trainLabels: Uint8Array; testTokens: Int32Array; testLabels: Uint8Array } {
  const documents = readBrownDocuments();
  const split = brownDocumentSplit(documents);
  const byId = new Map(documents.map((d) => [d.id, d]));
  const side = (ids: readonly string[], seed: number) => {
    const rows: Int32Array[][] = [[], []];
    for (const id of ids) {
      const doc = byId.get(id)!;
      for (const s of doc.sentences) {
        const label = labelOf(doc, s.tags);
        if (label >= 0) rows[label]!.push(vocab.encodeWords(s.words, seqLen));
      }
    }
    const random = seededRandom(seed);
    const n = Math.min(rows[0]!.length, rows[1]!.length);
    const chosen = rows.flatMap((r, label) => shuffleInPlace([...r], random).slice(0, n).map((tokens) => ({ tokens, label })));
    shuffleInPlace(chosen, random);
    const tokens = new Int32Array(chosen.length * seqLen);
    chosen.forEach((x, i) => tokens.set(x.tokens, i * seqLen));
    return { tokens, labels: Uint8Array.from(chosen, (x) => x.label) };
  };
  const train = side(split.train, seed);
  const test = side(split.test, seed + 1);
  return { trainTokens: train.tokens, trainLabels: train.labels, testTokens: test.tokens, testLabels: test.labels };
}

/** Genres counted as imaginative prose by brown-fiction (the rest of BROWN_GENRES are informative). */
export const BROWN_IMAGINATIVE_GENRES: readonly string[] = BROWN_GENRES.filter((g) => IMAGINATIVE.has(g));
