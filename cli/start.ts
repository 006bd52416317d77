/**
 * `robustlab start` (what `npm start` runs): the project's main job on the bundled default data —
 * task-robust pre-training on Fashion-MNIST (average vs minimax vs Group DRO) at the small scale,
 * printing the comparison table and writing results/quickstart/.
 */
import { join } from 'node:path';
import { projectRoot } from '../engine/project-root.js';
import { taskRobustCv } from '../experiments/task-robust.js';
import { closeFigureRenderer, progressSink, writeReport } from '../kernel/index.js';
import { parseFlags, type Command } from './command.js';

export const startCommand: Command = {
  name: 'start',
  summary: 'the main job: task-robust pre-training on Fashion-MNIST at small scale, with the comparison table',
  usage: 'robustlab start [--scale smoke|full]',
  async run(argv) {
    const { flags } = parseFlags(argv, { scale: 'string' });
    const scale = flags.scale === 'full' ? 'full' : 'smoke';
    process.stderr.write(`robustlab: task-robust pre-training on Fashion-MNIST (scale ${scale}); 'npm run reproduce' runs every experiment at full scale\n`);
    try {
      const result = await taskRobustCv({
        scale,
        onProgress: progressSink(),
        onRun: (label, i, total) => process.stderr.write(`-- run ${i + 1}/${total}: ${label}\n`),
      });
      const files = await writeReport(result, join(projectRoot(), 'results', 'quickstart'));
      process.stdout.write(`\n${result.summary}\n\nTables, figures and summary: ${files.dir} (${result.seconds.toFixed(0)} s on ${result.backend})\n`);
    } finally {
      await closeFigureRenderer();
    }
    return 0;
  },
};
