/**
 * The reproducible experiments by name: each returns an ExperimentResult that the report writer
 * (kernel/report.ts) turns into results/<name>/ (CSV tables, summary.md, figures).
 */
import type { ExperimentResult } from './experiment-result.js';
import { convexConvergence } from './convex-convergence.js';
import { sampleComplexity } from './sample-complexity.js';
import { certifiedRobustness } from './certified.js';
import type { ExperimentOptions } from './common.js';
import { taskRobustCv, taskRobustNlp } from './task-robust.js';
import { taskRobustPilots } from './task-robust-pilots.js';

export const EXPERIMENTS: Readonly<Record<string, { readonly title: string; readonly run: (o: ExperimentOptions) => Promise<ExperimentResult> }>> = {
  'task-robust-pilots': { title: 'Pilots that chose the task-robust setting (paper 1)', run: taskRobustPilots },
  'task-robust-cv': { title: 'Task-robust pre-training on images (paper 1)', run: taskRobustCv },
  'task-robust-nlp': { title: 'Task-robust pre-training on text (paper 1)', run: taskRobustNlp },
  certified: { title: 'Certified robustness from noise-mixture pre-training (paper 2)', run: certifiedRobustness },
  'convex-convergence': { title: 'Convex convergence of softmax-weighted gradient descent (paper 1, theory)', run: async (o) => convexConvergence({ scale: o.scale, seed: o.seeds?.[0] ?? 1 }) },
  'sample-complexity': { title: 'Sample complexity of the hardest downstream task (paper 1, theory)', run: async (o) => sampleComplexity({ scale: o.scale, seed: o.seeds?.[0] ?? 1 }) },
};

export type ExperimentName = keyof typeof EXPERIMENTS;
