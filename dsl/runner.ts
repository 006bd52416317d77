/**
 * The seam between the DSL and the engine. The DSL never imports the engine (arrows go
 * engine -> dsl); instead the engine registers a runner when it is loaded, and `plan.run()`
 * calls whichever runner is registered.
 */
import type { PlanData, RunOptions, RunResult } from './plan-types.js';

export type PlanRunner = (plan: PlanData, options: RunOptions) => Promise<RunResult>;

let registered: PlanRunner | null = null;

/** Install the runner `plan.run()` uses (the last registration wins). Returns a function that restores the previous one. */
export function registerPlanRunner(runner: PlanRunner): () => void {
  if (typeof runner !== 'function') throw new TypeError('registerPlanRunner: runner must be a function (plan, options) => Promise<RunResult>');
  const previous = registered;
  registered = runner;
  return () => {
    registered = previous;
  };
}

/** The registered runner, or null when no engine is loaded. */
export function currentPlanRunner(): PlanRunner | null {
  return registered;
}
