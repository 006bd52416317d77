import { describe, expect, it, vi } from 'vitest';
import { dataCommand } from '../../cli/data.js';
import { DATASETS, DOWNSTREAM_TASKS, listDatasets } from '../../datasets/index.js';

async function output(argv: string[]): Promise<string> {
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    expect(await dataCommand.run(argv)).toBe(0);
    return out.mock.calls.map((c) => String(c[0])).join('');
  } finally {
    out.mockRestore();
  }
}

describe('robustlab data', () => {
  it('list prints every data set and downstream task with its sizes, split and licence', async () => {
    const text = await output(['list']);
    for (const row of listDatasets()) {
      const line = text.split('\n').find((l) => l.startsWith(`${row.name} `));
      expect(line, row.name).toBeDefined();
      expect(line).toContain(row.trainCount.toLocaleString('en-US'));
      expect(line).toContain(row.licence);
      expect(line).toContain(row.split);
    }
    expect(listDatasets()).toHaveLength(Object.keys(DATASETS).length + Object.keys(DOWNSTREAM_TASKS).length);
  });

  it('info prints counts, shapes and the label histogram', async () => {
    const text = await output(['info', 'fashion-other']);
    expect(text).toContain('fashion-other (image): 3 classes, 28x28x1 uint8; train 18000, test 3000');
    expect(text).toContain('train labels: Trouser 6,000, Dress 6,000, Bag 6,000');
  });

  it('rejects an unknown name and a missing subcommand with a usage error', async () => {
    await expect(dataCommand.run(['info', 'cifar10'])).rejects.toThrow(/^data info: unknown name 'cifar10'; known: mnist, fashionMnist, brown/);
    await expect(dataCommand.run([])).rejects.toThrow(/^data: expected 'list' or 'info <name>'/);
  });
});
