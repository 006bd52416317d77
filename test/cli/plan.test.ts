import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { planCommand, planFromFile } from '../../cli/plan.js';
import { UsageError } from '../../cli/command.js';
import { DslError, pretrain } from '../../dsl/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'robustlab-plan-'));
const dslUrl = new URL('../../dsl/index.ts', import.meta.url).href;
const pipeline = pretrain().splitTasks(4).minimax(1).noise([0.25, 0.5, 1]).finetune('fashion-all').certify();

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Run the command and capture what it prints. */
async function runPlan(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    const code = await planCommand.run(argv);
    return { code, out };
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('robustlab plan <file>', () => {
  it('prints explain() for a Spec .json, honouring --target and --memory-budget', async () => {
    const spec = file('spec.json', JSON.stringify(pipeline));
    const { code, out } = await runPlan([spec, '--target', 'gpu', '--memory-budget', '40']);
    expect(code).toBe(0);
    const expected = pipeline.compile({ target: 'gpu', memoryBudget: 40e9 });
    expect(out).toBe(`${expected.explain()}\n`);
    expect(out).toContain('memory budget 40.0 GB');
    for (const kind of ['load-data', 'split-tasks', 'pretrain', 'finetune', 'certify']) expect(out).toContain(`\n${kind} `);
  });

  it('--json prints the PlanData', async () => {
    const spec = file('spec2.json', JSON.stringify(pipeline));
    const { out } = await runPlan([spec, '--json', '--target=cpu']);
    expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(pipeline.compile({ target: 'cpu' }))));
  });

  it('loads a saved plan.json as it is, or recompiles it for new options', async () => {
    const saved = pipeline.compile({ target: 'gpu' });
    const f = file('plan.json', JSON.stringify(saved));
    expect((await planFromFile(f)).hash).toBe(saved.hash);
    expect((await planFromFile(f, { target: 'cpu' })).hash).toBe(pipeline.compile({ target: 'cpu' }).hash);
  });

  it('loads a .mjs module exporting a builder (default) or a Spec (pipeline)', async () => {
    const byDefault = file('a.mjs', `const { pretrain } = await import(${JSON.stringify(dslUrl)});\nexport default pretrain().splitTasks(3).minimax(2);\n`);
    expect((await planFromFile(byDefault, { target: 'cpu' })).hash).toBe(pretrain().splitTasks(3).minimax(2).compile({ target: 'cpu' }).hash);
    const byName = file('b.mjs', `export const pipeline = ${JSON.stringify(pipeline)};\n`);
    expect((await planFromFile(byName, { target: 'cpu' })).hash).toBe(pipeline.compile({ target: 'cpu' }).hash);
    const neither = file('c.mjs', 'export const other = 1;\n');
    await expect(planFromFile(neither)).rejects.toThrow("must export a pipeline (or a Spec) as its default export or as 'pipeline', found neither");
  });

  it('turns user mistakes into one-line user errors', async () => {
    await expect(runPlan([])).rejects.toThrow(UsageError);
    await expect(runPlan([path.join(dir, 'missing.json')])).rejects.toThrow(/cannot read .*missing\.json: ENOENT/);
    await expect(runPlan([file('bad.json', '{')])).rejects.toThrow(/bad\.json is not valid JSON/);
    await expect(runPlan([file('x.yaml', 'a: 1')])).rejects.toThrow("must be a .json Spec or a .js/.mjs/.ts module, got extension '.yaml'");
    await expect(runPlan([file('k.json', JSON.stringify({ version: 1, splitTasks: { k: 1.5 } }))])).rejects.toThrow(
      'splitTasks(k): k must be an integer >= 2, got 1.5',
    );
    await expect(runPlan([file('big.json', JSON.stringify(pretrain().splitTasks(11)))])).rejects.toThrow(DslError);
    await expect(runPlan([file('ok.json', JSON.stringify(pipeline)), '--memory-budget', '0'])).rejects.toThrow('--memory-budget must be a positive number of GB');
    await expect(runPlan([file('ok2.json', JSON.stringify(pipeline)), '--target', 'tpu'])).rejects.toThrow("target must be one of 'gpu', 'cpu', 'auto', got 'tpu'");
  });
});
