/**
 * One CLI command per file under cli/. Each exports a Command; cli.ts dispatches by name.
 * Errors a user can cause carry `userError = true` (DslError, DatasetError, EngineError, UsageError):
 * the CLI prints their one-line message and exits 2; anything else is our bug and shows its stack.
 */
export interface Command {
  readonly name: string;
  /** One line for `robustlab help`. */
  readonly summary: string;
  /** Usage line(s) shown by `robustlab help <name>` and on a UsageError. */
  readonly usage: string;
  run(argv: readonly string[]): Promise<number>;
}

export class UsageError extends Error {
  readonly userError = true;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function isUserError(e: unknown): e is Error & { userError: true } {
  return e instanceof Error && (e as { userError?: unknown }).userError === true;
}

/** Minimal flag parser: --key value, --key=value, --flag (boolean); the rest are positionals. */
export function parseFlags(argv: readonly string[], known: Readonly<Record<string, 'string' | 'number' | 'boolean'>>): {
  flags: Record<string, string | number | boolean>;
  positionals: string[];
} {
  const flags: Record<string, string | number | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const key = a.slice(2, eq < 0 ? undefined : eq);
    const type = known[key];
    if (type === undefined) throw new UsageError(`unknown option --${key}; known: ${Object.keys(known).map((k) => `--${k}`).join(', ') || 'none'}`);
    if (type === 'boolean') {
      flags[key] = eq < 0 ? true : a.slice(eq + 1) !== 'false';
      continue;
    }
    const raw = eq < 0 ? argv[++i] : a.slice(eq + 1);
    if (raw === undefined) throw new UsageError(`option --${key} needs a value`);
    if (type === 'number') {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`option --${key} must be a number, got '${raw}'`);
      flags[key] = n;
    } else flags[key] = raw;
  }
  return { flags, positionals };
}
