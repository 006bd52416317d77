import { POS_GROUPS, type PosGroup } from './catalog.js';

/**
 * Coarse part-of-speech groups (POS_GROUPS: noun, verb, adjective, adverb, other) from Brown's gold tags
 * and from universal (UD) tags, so the masked-recovery tasks "by part of speech" mean the same thing for
 * gold-tagged and machine-tagged text.
 *
 * Brown tag -> group (after normalising: lowercase; a `+` compound such as `ppss+md` ("I'll") or `vb+ppo`
 * ("let's") keeps its first part, the head of the contraction; the `fw-` foreign-word prefix and the
 * `-tl` (title), `-hl` (headline), `-nc` (cited) suffixes are dropped; a trailing `*` (negated form such
 * as `md*` "can't", `bez*` "isn't") and `$` (possessive such as `nn$`) are dropped):
 *   noun      nn*, np*, nr* (common, proper and adverbial nouns: "home", "Friday")
 *   verb      vb*, and the auxiliaries be*, do*, hv*, md (as in the universal tagset: VERB + AUX)
 *   adjective jj* and od (ordinals "first", universal ADJ)
 *   adverb    rb*, rn ("here"), ql/qlp/wql (qualifiers "very", "enough", "how"), wrb ("when"),
 *             and the bare `*` tag ("not", "n't", traditional grammar and the universal mapping)
 *   other     everything else: determiners, pronouns, prepositions, conjunctions, numbers, particles,
 *             `to`, `ex`, punctuation, interjections.
 */

export const POS_GROUP_ID: Readonly<Record<PosGroup, number>> = Object.freeze(
  Object.fromEntries(POS_GROUPS.map((g, i) => [g, i])) as Record<PosGroup, number>,
);
/** Carried by [PAD], [CLS] and other tokens that are not words of the text. */
export const POS_NONE = 255;

const NOUN = POS_GROUP_ID.noun;
const VERB = POS_GROUP_ID.verb;
const ADJECTIVE = POS_GROUP_ID.adjective;
const ADVERB = POS_GROUP_ID.adverb;
const OTHER = POS_GROUP_ID.other;

/** Group id (index into POS_GROUPS) of a Brown corpus tag. */
export function posGroupOfBrownTag(rawTag: string): number {
  let tag = rawTag.toLowerCase().split('+')[0]!;
  if (tag.startsWith('fw-')) tag = tag.slice(3);
  while (/-(tl|hl|nc)$/.test(tag)) tag = tag.slice(0, -3);
  if (tag === '*') return ADVERB;
  tag = tag.replace(/[*$]+$/, '');
  if (/^(nn|np|nr)/.test(tag)) return NOUN;
  if (/^(vb|be|do|hv|md)/.test(tag)) return VERB;
  if (/^jj/.test(tag) || tag === 'od') return ADJECTIVE;
  if (/^(rb|rn|ql|wql|wrb)/.test(tag)) return ADVERB;
  return OTHER;
}

/**
 * Group id of a universal (UD) tag as wink-nlp emits it: NOUN, PROPN -> noun; VERB, AUX -> verb; ADJ ->
 * adjective; ADV -> adverb; the particle "not"/"n't" -> adverb (as Brown's `*`); everything else -> other.
 */
export function posGroupOfUniversalTag(tag: string, word: string): number {
  switch (tag) {
    case 'NOUN':
    case 'PROPN':
      return NOUN;
    case 'VERB':
    case 'AUX':
      return VERB;
    case 'ADJ':
      return ADJECTIVE;
    case 'ADV':
      return ADVERB;
    case 'PART':
      return /^(not|n't)$/i.test(word) ? ADVERB : OTHER;
    default:
      return OTHER;
  }
}
