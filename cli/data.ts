/**
 * `robustlab data list`: every data set and downstream task with its size, splits and licence (from the
 * catalog; loads nothing). `robustlab data info <name>`: loads one (building its cache on first use) and
 * prints counts, shapes and label histograms.
 */
import {
  DATASETS, DOWNSTREAM_TASKS, POS_GROUPS, POS_NONE, describeDownstreamTask, describeImageSet, describeMlmCorpus,
  isDatasetName, isDownstreamTaskName, labelHistogram, listDatasets, loadDownstreamTask, loadImageSet, loadMlmCorpus,
} from '../datasets/index.js';
import { parseFlags, UsageError, type Command } from './command.js';

const usage = `robustlab data list [--json]
robustlab data info <name>
  <name>  a data set (${Object.keys(DATASETS).join(', ')}) or a downstream task (${Object.keys(DOWNSTREAM_TASKS).join(', ')})`;

export const dataCommand: Command = {
  name: 'data',
  summary: 'list the data sets and downstream tasks (sizes, splits, licences), or show one in detail',
  usage,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { json: 'boolean' });
    const [sub, name, ...rest] = positionals;
    if (sub === 'list' && name === undefined) {
      const rows = listDatasets();
      process.stdout.write(flags.json === true ? `${JSON.stringify(rows, null, 2)}\n` : `${table(rows)}\n`);
      return 0;
    }
    if (sub === 'info' && name !== undefined && rest.length === 0) {
      process.stdout.write(`${info(name)}\n`);
      return 0;
    }
    throw new UsageError(`data: expected 'list' or 'info <name>', got '${positionals.join(' ')}'; usage: ${usage.split('\n')[0]} | robustlab data info <name>`);
  },
};

function table(rows: ReturnType<typeof listDatasets>): string {
  const header = ['name', 'kind', 'train', 'test', 'shape', 'classes', 'split', 'licence'];
  const cells = rows.map((r) => [r.name, `${r.modality} ${r.kind}`, fmt(r.trainCount), fmt(r.testCount), r.shape, String(r.numClasses || '-'), r.split, r.licence]);
  const width = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const line = (row: string[]) => row.map((v, c) => (c === 2 || c === 3 || c === 5 ? v.padStart(width[c]!) : v.padEnd(width[c]!))).join('  ').trimEnd();
  return [line(header), line(width.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function info(name: string): string {
  if (name === 'brown') {
    const c = loadMlmCorpus();
    const counts = new Array<number>(POS_GROUPS.length).fill(0);
    for (const g of c.train.pos) if (g !== POS_NONE) counts[g]!++;
    return [
      describeMlmCorpus(c),
      `train tokens ${c.train.count}x${c.seqLen} int32, pos ${c.train.count}x${c.seqLen} uint8; test ${c.test.count}x${c.seqLen}`,
      `POS groups (train words): ${POS_GROUPS.map((g, i) => `${g} ${fmt(counts[i]!)}`).join(', ')}`,
    ].join('\n');
  }
  if (isDatasetName(name)) {
    const set = loadImageSet(name as 'mnist' | 'fashionMnist');
    return [describeImageSet(set), histogram('train', set.classNames, labelHistogram(set.train.labels, set.numClasses)), histogram('test', set.classNames, labelHistogram(set.test.labels, set.numClasses))].join('\n');
  }
  if (isDownstreamTaskName(name)) {
    const t = loadDownstreamTask(name);
    return [describeDownstreamTask(t), histogram('train', t.classNames, labelHistogram(t.train.labels, t.numClasses)), histogram('test', t.classNames, labelHistogram(t.test.labels, t.numClasses))].join('\n');
  }
  throw new UsageError(`data info: unknown name '${name}'; known: ${[...Object.keys(DATASETS), ...Object.keys(DOWNSTREAM_TASKS)].join(', ')}`);
}

function histogram(split: string, classNames: readonly string[], counts: number[]): string {
  return `${split} labels: ${counts.map((n, i) => `${classNames[i]} ${fmt(n)}`).join(', ')}`;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
