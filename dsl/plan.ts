/**
 * A Plan: frozen PlanData plus the things a person does with it: read it (`explain()`), save it
 * (`toJSON()`), load it back (`Plan.fromJSON()`), and hand it to the engine (`run()`).
 * A plan is a pure function of (spec, target, backend, memory budget), which is what its hash
 * names and what `Plan.fromJSON` checks.
 */
import { compileSpec } from './compile.js';
import { DslError, formatValue } from './errors.js';
import { explainPlan } from './explain.js';
import { deepFreeze } from './freeze.js';
import type { BackendRequest, PlanData, RunOptions, RunResult, Stage, StageKind, Target } from './plan-types.js';
import { currentPlanRunner } from './runner.js';
import { specFromJSON } from './spec-json.js';
import { checkOptions, isPlainObject } from './checks.js';

const PLAN_KEYS = ['version', 'hash', 'target', 'backend', 'dtype', 'memoryBudgetBytes', 'seed', 'spec', 'stages', 'totals'] as const;

export class Plan {
  readonly data: PlanData;

  /** Made by `pipeline.compile()` or `Plan.fromJSON()`; the data is deep-frozen. */
  constructor(data: PlanData) {
    this.data = deepFreeze(data);
    Object.freeze(this);
  }

  get hash(): string {
    return this.data.hash;
  }

  get target(): Target {
    return this.data.target;
  }

  get backend(): BackendRequest {
    return this.data.backend;
  }

  get stages(): readonly Stage[] {
    return this.data.stages;
  }

  /** The stage of a kind, or undefined when the plan has none. */
  stage<K extends StageKind>(kind: K): Extract<Stage, { kind: K }> | undefined {
    return this.data.stages.find((s): s is Extract<Stage, { kind: K }> => s.kind === kind);
  }

  /** A table of the stages with their key parameters, GFLOPs and peak memory, under a header. */
  explain(): string {
    return explainPlan(this.data);
  }

  toJSON(): PlanData {
    return this.data;
  }

  /**
   * Run the plan on the engine (stage by stage, in runs/<hash>/). Needs the full package: the
   * engine registers itself when 'robustlab' is imported; 'robustlab/dsl' alone cannot run.
   */
  run(options?: RunOptions): Promise<RunResult> {
    const o = checkOptions('plan.run(options)', options, ['runsDir', 'resume', 'progress', 'quiet']);
    for (const [key, value] of Object.entries(o)) {
      const want = key === 'runsDir' ? 'string' : 'boolean';
      if (typeof value !== want || (want === 'string' && value === '')) {
        throw new DslError({ call: `plan.run({ ${key} })`, what: key, allowed: want === 'string' ? 'a non-empty folder path' : 'true or false', value });
      }
    }
    const runner = currentPlanRunner();
    if (runner === null) {
      throw new DslError({ call: 'plan.run()', problem: "no engine is loaded — import from 'robustlab' (the full package), not 'robustlab/dsl'" });
    }
    return runner(this.data, o as RunOptions);
  }

  /**
   * Load a saved plan (object or JSON text). The spec is validated like `fromJSON`, then the plan
   * is recompiled from (spec, target, backend, memory budget) and must match exactly, so an edited
   * or stale plan.json is rejected instead of run.
   */
  static fromJSON(json: string | object): Plan {
    const call = 'Plan.fromJSON(json)';
    let data: unknown = json;
    if (typeof json === 'string') {
      try {
        data = JSON.parse(json);
      } catch (e) {
        throw new DslError({ call, what: 'json', allowed: 'a plan as JSON text', value: json, shown: `invalid JSON (${(e as Error).message})` });
      }
    }
    if (!isPlainObject(data)) throw new DslError({ call, what: 'the plan', allowed: 'an object like plan.toJSON() returns', value: data });
    for (const key of Object.keys(data)) {
      if (!(PLAN_KEYS as readonly string[]).includes(key)) throw new DslError({ call, what: 'plan keys', allowed: `among ${PLAN_KEYS.join(', ')}`, value: key });
    }
    if (data.version !== 1) throw new DslError({ call, what: 'version', allowed: '1', value: data.version });
    const spec = specFromJSON(data.spec, call);
    const recompiled = compileSpec(spec, { target: data.target, backend: data.backend, memoryBudget: data.memoryBudgetBytes });
    const difference = firstDifference(recompiled, data, '');
    if (difference !== null) {
      throw new DslError({
        call,
        what: `plan${difference.path}`,
        allowed: `${formatValue(difference.expected)} as compiled from its spec`,
        value: difference.actual,
        hint: 'the plan was edited or written by another robustlab version; compile it again from its spec',
      });
    }
    return new Plan(recompiled);
  }
}

/** The first path (e.g. '.stages[2].batchSize') where two JSON values differ, or null. */
function firstDifference(expected: unknown, actual: unknown, path: string): { path: string; expected: unknown; actual: unknown } | null {
  if (typeof expected !== 'object' || expected === null || typeof actual !== 'object' || actual === null) {
    return expected === actual ? null : { path, expected, actual };
  }
  if (Array.isArray(expected) !== Array.isArray(actual)) return { path, expected, actual };
  if (Array.isArray(expected)) {
    const a = actual as unknown[];
    for (let i = 0; i < Math.max(expected.length, a.length); i++) {
      const d = firstDifference(expected[i], a[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  const e = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  for (const key of [...new Set([...Object.keys(e), ...Object.keys(a)])]) {
    const d = firstDifference(e[key], a[key], `${path}.${key}`);
    if (d) return d;
  }
  return null;
}
