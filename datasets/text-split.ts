import { seededRandom, shuffleInPlace } from './random.js';

/**
 * A leakage-free train/test split of labelled texts: examples whose normalised text is identical (lowercase,
 * whitespace collapsed) form one group and go to the same side; a group whose copies disagree on the label
 * is dropped (its label is ambiguous). Groups are shuffled with `seed` and the first `testFraction` of them
 * (rounded) are test. Returns example indices.
 */
export function leakageFreeSplit(
  texts: readonly string[],
  labels: ArrayLike<number>,
  seed: number,
  testFraction: number,
): { train: Int32Array; test: Int32Array; droppedAmbiguous: number } {
  const groups = new Map<string, number[]>();
  texts.forEach((t, i) => {
    const key = normaliseText(t);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [i]);
    else g.push(i);
  });
  let droppedAmbiguous = 0;
  const usable: number[][] = [];
  for (const members of groups.values()) {
    if (members.every((i) => labels[i] === labels[members[0]!])) usable.push(members);
    else droppedAmbiguous += members.length;
  }
  shuffleInPlace(usable, seededRandom(seed));
  const nTest = Math.round(usable.length * testFraction);
  return {
    test: Int32Array.from(usable.slice(0, nTest).flat()),
    train: Int32Array.from(usable.slice(nTest).flat()),
    droppedAmbiguous,
  };
}

export function normaliseText(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim();
}
