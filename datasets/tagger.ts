import { requirePackage } from './packages.js';
import { posGroupOfUniversalTag } from './pos-groups.js';
import { tokenizeWithOffsets } from './tokenizer.js';

/**
 * Coarse POS groups for text without gold tags (IMDB, WordNet, a user's text), from wink-nlp's English
 * lite model (universal tags, mapped as in pos-groups.ts). The result is aligned with OUR tokenizer, so
 * `groups[i]` belongs to `words[i]` and to position i + 1 of `vocab.encode(text)`: each of our words takes
 * the tag of the wink token that starts where it starts (or, failing that, the one covering its start).
 */
export interface TaggedText {
  readonly words: string[];
  /** Index into POS_GROUPS per word. */
  readonly groups: Uint8Array;
}

interface WinkDoc {
  tokens(): { out(what: unknown): string[] };
}
interface Wink {
  readDoc(text: string): WinkDoc;
  its: { value: unknown; pos: unknown; precedingSpaces: unknown };
}

let wink: Wink | undefined;

function tagger(): Wink {
  if (wink === undefined) {
    const needed = 'the POS tagger (tagPosGroups)';
    const winkNLP = requirePackage<(model: unknown, pipe: string[]) => Wink>('wink-nlp', needed);
    const model = requirePackage<unknown>('wink-eng-lite-web-model', needed);
    wink = winkNLP(model, ['sbd', 'pos']);
  }
  return wink;
}

export function tagPosGroups(text: string): TaggedText {
  const nlp = tagger();
  const tokens = nlp.readDoc(text).tokens();
  const values = tokens.out(nlp.its.value);
  const tags = tokens.out(nlp.its.pos);
  const spaces = tokens.out(nlp.its.precedingSpaces);
  const starts: number[] = [];
  let at = 0;
  for (let i = 0; i < values.length; i++) {
    at += spaces[i]!.length;
    starts.push(at);
    at += values[i]!.length;
  }
  const ours = tokenizeWithOffsets(text);
  const groups = new Uint8Array(ours.length);
  let j = 0;
  ours.forEach((t, i) => {
    while (j + 1 < starts.length && starts[j + 1]! <= t.start) j++;
    groups[i] = posGroupOfUniversalTag(tags[j] ?? 'X', values[j] ?? '');
  });
  return { words: ours.map((t) => t.word), groups };
}
