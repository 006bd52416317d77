/**
 * DslError: a mistake a user made while writing a pipeline. Its message is one line that names
 * the call, the bad value, what is allowed and (when we know) what to do instead, e.g.
 * `splitTasks(k): k must be an integer >= 2, got 1.5 (hint: k counts the upstream tasks)`.
 * `userError = true` tells the CLI and notebooks to print the message, not a stack trace.
 */

/** A value out of range: the message reads `<call>: <what> must be <allowed>, got <value> (hint: ...)`. */
export interface DslErrorInit {
  /** The call the mistake was made in, as the user wrote it: 'splitTasks(k)', 'compile(options)'. */
  readonly call: string;
  /** What was wrong, as the subject of the sentence: 'k', 'sigmas', 'option "target"'. */
  readonly what: string;
  /** What is allowed, completing "<what> must be ...": 'an integer >= 2'. */
  readonly allowed: string;
  readonly value: unknown;
  readonly hint?: string;
  /** How to show the value when the default rendering would mislead (e.g. '95.3 GB'). */
  readonly shown?: string;
}

/** A mistake that is not a value out of range: the message reads `<call>: <problem> (hint: ...)`. */
export interface DslProblemInit {
  readonly call: string;
  /** The whole sentence after the call, e.g. 'no engine is loaded'. */
  readonly problem: string;
  readonly value?: unknown;
  readonly allowed?: string;
  readonly hint?: string;
}

export class DslError extends Error {
  readonly userError = true;
  readonly call: string;
  readonly value: unknown;
  readonly allowed: string;
  readonly hint: string | undefined;

  constructor(init: DslErrorInit | DslProblemInit) {
    const body = 'problem' in init ? init.problem : `${init.what} must be ${init.allowed}, got ${init.shown ?? formatValue(init.value)}`;
    super(oneLine(`${init.call}: ${body}${init.hint ? ` (hint: ${init.hint})` : ''}`));
    this.name = 'DslError';
    this.call = init.call;
    this.value = init.value;
    this.allowed = init.allowed ?? '';
    this.hint = init.hint;
  }
}

/** Renders a user's value the way they would write it: strings quoted, arrays bracketed, NaN as NaN. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return `'${truncate(value, 40)}'`;
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === undefined || value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (Array.isArray(value)) {
    const shown = value.slice(0, 8).map(formatValue);
    if (value.length > 8) shown.push(`... ${value.length - 8} more`);
    return `[${shown.join(', ')}]`;
  }
  try {
    return truncate(JSON.stringify(value) ?? String(value), 80);
  } catch {
    return 'an object';
  }
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 3)}...`;
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ');
}
