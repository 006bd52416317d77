/**
 * The one word tokenizer used for every text in robustlab (Brown, IMDB, WordNet, user text), so that a
 * pre-trained vocabulary means the same thing downstream.
 *
 * Rules: text is lowercased; typographic quotes become ASCII (’ -> ', “ ” -> ", and Brown's `` and '' -> ");
 * a word is a run of letters/digits, joined across single inner apostrophes, periods, hyphens or ampersands
 * ("don't", "atlanta's", "term-end", "3.5", "u.s", "at&t"); any other non-space character is a token,
 * a run of the same character being one token ("--", "...", "!!").
 */
export interface WordToken {
  readonly word: string;
  /** Character offsets in the original text. */
  readonly start: number;
  readonly end: number;
}

const TOKEN = /[\p{L}\p{N}]+(?:['.\-&][\p{L}\p{N}]+)*|([^\s\p{L}\p{N}])\1*/gu;

/** Words of `text`, at most `max` of them (tokenizing stops early, which keeps long reviews cheap). */
export function tokenize(text: string, max = Infinity): string[] {
  return tokenizeWithOffsets(text, max).map((t) => t.word);
}

export function tokenizeWithOffsets(text: string, max = Infinity): WordToken[] {
  const normal = normalizeQuotes(text);
  const out: WordToken[] = [];
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(normal); m !== null && out.length < max; m = TOKEN.exec(normal)) {
    const word = m[0] === '""' ? '"' : m[0].toLowerCase();
    out.push({ word, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

/** True for a token with no letter or digit (punctuation). */
export function isPunctuation(word: string): boolean {
  return !/[\p{L}\p{N}]/u.test(word);
}

/** Quote normalisation that keeps string length (so offsets stay valid); Brown's `` and '' become "" and then one " token. */
function normalizeQuotes(text: string): string {
  return text.replace(/``|''/g, '""').replace(/[’‘]/g, "'").replace(/[“”]/g, '"');
}
