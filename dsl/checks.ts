/**
 * Generic value checkers of the DSL: each takes the call and the option it checks, and either returns the
 * value (typed) or throws a one-line DslError naming the call, the value, what is allowed and, for a
 * misspelt name, the closest known one. The resolvers of the seven builder calls (validate.ts) are built
 * from these.
 */
import { DslError } from './errors.js';

/** The options object of a call: undefined is {}, anything else must be a plain object with known keys. */
export function checkOptions(call: string, raw: unknown, known: readonly string[]): Record<string, unknown> {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) {
    throw new DslError({ call, what: 'options', allowed: `an object with keys ${known.join(', ')}`, value: raw });
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!known.includes(key)) {
      const near = closest(key, known);
      throw new DslError({ call, what: 'option names', allowed: `among ${known.join(', ')}`, value: key, ...(near ? { hint: `did you mean '${near}'?` } : {}) });
    }
    if (value !== undefined) out[key] = value;
  }
  return out;
}

export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

export function integer(call: string, what: string, value: unknown, min: number, max?: number, hint?: string): number {
  const ok = typeof value === 'number' && Number.isInteger(value) && value >= min && (max === undefined || value <= max);
  if (!ok) {
    const allowed = max === undefined ? `an integer >= ${min}` : `an integer between ${min} and ${max}`;
    throw new DslError({ call, what, allowed, value, ...(hint ? { hint } : {}) });
  }
  return value;
}

export interface Bounds {
  readonly gt?: number;
  readonly ge?: number;
  readonly lt?: number;
  readonly le?: number;
}

export function bool(call: string, what: string, value: unknown, hint?: string): boolean {
  if (typeof value !== 'boolean') throw new DslError({ call, what, allowed: 'true or false', value, ...(hint ? { hint } : {}) });
  return value;
}

export function real(call: string, what: string, value: unknown, b: Bounds, hint?: string): number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (b.gt === undefined || value > b.gt) &&
    (b.ge === undefined || value >= b.ge) &&
    (b.lt === undefined || value < b.lt) &&
    (b.le === undefined || value <= b.le);
  if (!ok) throw new DslError({ call, what, allowed: describeBounds(b), value, ...(hint ? { hint } : {}) });
  return Object.is(value, -0) ? 0 : value;
}

function describeBounds(b: Bounds): string {
  const lo = b.gt ?? b.ge;
  const hi = b.lt ?? b.le;
  if (lo !== undefined && hi !== undefined) return `a number in ${b.gt !== undefined ? '(' : '['}${lo}, ${hi}${b.lt !== undefined ? ')' : ']'}`;
  if (lo !== undefined) return `a finite number ${b.gt !== undefined ? '>' : '>='} ${lo}`;
  if (hi !== undefined) return `a finite number ${b.lt !== undefined ? '<' : '<='} ${hi}`;
  return 'a finite number';
}

export function oneOf<T extends string>(call: string, what: string, value: unknown, choices: readonly T[]): T {
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  const near = typeof value === 'string' ? closest(value, choices) : undefined;
  throw new DslError({ call, what, allowed: `one of ${quoteList(choices)}`, value, ...(near ? { hint: `did you mean '${near}'?` } : {}) });
}

/** The user's value, or the default when the option was left out (null is a value, and is checked). */
export function orDefault(value: unknown, fallback: unknown): unknown {
  return value === undefined ? fallback : value;
}

export function withArticle(word: string): string {
  return `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;
}

export function quoteList(xs: readonly string[]): string {
  return xs.map((x) => `'${x}'`).join(', ');
}

/** The known name within edit distance 2 of a misspelt one, if any. */
export function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
