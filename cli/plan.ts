/**
 * `robustlab plan <file>`: compile a pipeline file and print its plan, without running anything
 * (and without loading a tensor library). The file is a Spec `.json` (what `pipeline.toJSON()`
 * writes; a saved plan.json is accepted too), or a `.js`/`.mjs` module whose default export or
 * `pipeline` export is a builder or a Spec. A `.ts` module loads only when a TypeScript loader is
 * present (e.g. running under tsx).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fromSpec, Plan, type CompileOptions, type Spec } from '../dsl/index.js';
import { parseFlags, UsageError, type Command } from './command.js';

const usage = `robustlab plan <file> [--target gpu|cpu|auto] [--memory-budget GB] [--backend auto|tensorflow|wasm|cpu] [--json]
  <file>  a Spec .json (pipeline.toJSON()), a saved plan.json, or a .js/.mjs module exporting a pipeline
          (default export or 'pipeline'); .ts needs a TypeScript loader such as tsx
  --json  print the plan as JSON (PlanData) instead of the table`;

export const planCommand: Command = {
  name: 'plan',
  summary: 'compile a pipeline file and print its stages, FLOPs and memory (runs nothing)',
  usage,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { target: 'string', 'memory-budget': 'number', backend: 'string', json: 'boolean' });
    if (positionals.length !== 1) throw new UsageError(`plan needs exactly one file, got ${positionals.length}; usage: ${usage.split('\n')[0]}`);
    const options: Record<string, unknown> = {};
    if (flags.target !== undefined) options.target = flags.target;
    if (flags.backend !== undefined) options.backend = flags.backend;
    if (flags['memory-budget'] !== undefined) {
      const gb = flags['memory-budget'] as number;
      if (!(gb > 0)) throw new UsageError(`option --memory-budget must be a positive number of GB, got ${gb}`);
      options.memoryBudget = gb * 1e9;
    }
    const plan = await planFromFile(positionals[0]!, options as CompileOptions);
    process.stdout.write(flags.json === true ? `${JSON.stringify(plan.toJSON(), null, 2)}\n` : `${plan.explain()}\n`);
    return 0;
  },
};

/**
 * The plan a pipeline file describes. A saved plan.json is recompiled only when compile options
 * are given; otherwise it is loaded (and checked) as it is.
 */
export async function planFromFile(file: string, options: CompileOptions = {}): Promise<Plan> {
  const abs = path.resolve(file);
  const ext = path.extname(abs).toLowerCase();
  if (ext === '.json') {
    const data = parseJson(await readText(abs), file);
    if (isObject(data) && 'stages' in data && 'spec' in data) {
      const plan = Plan.fromJSON(data);
      return Object.keys(options).length === 0 ? plan : fromSpec(plan.data.spec).compile(options);
    }
    return fromSpec(data as Spec).compile(options);
  }
  if (ext === '.js' || ext === '.mjs' || ext === '.ts' || ext === '.mts') {
    await readText(abs);
    return pipelineOf(await importModule(abs, ext, file), file).compile(options);
  }
  throw new UsageError(`plan: ${file} must be a .json Spec or a .js/.mjs/.ts module, got extension '${ext || 'none'}'`);
}

async function readText(abs: string): Promise<string> {
  try {
    return await readFile(abs, 'utf8');
  } catch (e) {
    throw new UsageError(`plan: cannot read ${abs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`plan: ${file} is not valid JSON (${(e as Error).message})`);
  }
}

async function importModule(abs: string, ext: string, file: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((ext === '.ts' || ext === '.mts') && code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new UsageError(`plan: ${file} is TypeScript and no TypeScript loader is present; compile it or use a .json Spec (pipeline.toJSON()), or run under tsx`);
    }
    throw e;
  }
}

/** The module's default export, else its `pipeline` export, as something with compile(). */
function pipelineOf(mod: Record<string, unknown>, file: string): { compile(options?: CompileOptions): Plan } {
  const exported = mod.default ?? mod.pipeline;
  if (isObject(exported) && typeof exported.compile === 'function' && typeof exported.toSpec === 'function') {
    // Round-trip through the Spec so a builder from another copy of robustlab is validated here.
    return fromSpec((exported.toSpec as () => Spec)());
  }
  if (isObject(exported) && 'version' in exported && 'pretrain' in exported) return fromSpec(exported as unknown as Spec);
  throw new UsageError(`plan: ${file} must export a pipeline (or a Spec) as its default export or as 'pipeline', found neither`);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}
