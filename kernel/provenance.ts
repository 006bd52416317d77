/**
 * Where a results folder came from: the date, the machine (CPU model, cores, the vector instruction
 * sets that decide which kernels ran), the backend, the git commit of the code and the scale. Written
 * into result.json by writeReport and shown by results/README.md, the README and the results page, so
 * a reader can tell a paper reproduction from a smoke run, and one machine's numbers from another's.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

export interface Machine {
  /** CPU model as the OS reports it, e.g. 'AMD EPYC 9R14'. */
  readonly cpu: string;
  readonly cores: number;
  /** Vector instruction sets present (x86: sse4_2 … avx512f, amx; arm: asimd, sve), in a fixed order. */
  readonly isa: readonly string[];
  readonly memoryGiB: number;
  /** `${process.platform}-${process.arch}`. */
  readonly os: string;
}

export interface Provenance {
  /** ISO time the folder was written. */
  readonly date: string;
  readonly machine: Machine;
  readonly backend: string;
  /** The scale the folder holds: 'full' (the paper reproduction), 'smoke', or 'custom' (full sizes with --only/--seeds). */
  readonly scale: 'full' | 'smoke' | 'custom';
  /** HEAD of the project's git checkout when it was written; null outside a checkout. */
  readonly commit: string | null;
  /** Whether tracked files other than results/ and notebooks/ differed from that commit. */
  readonly dirty: boolean | null;
  readonly node: string;
  /** The command-line choices that made a custom run ('only', 'seeds'). */
  readonly options?: Readonly<Record<string, unknown>>;
}

/** Instruction sets worth recording, in the order they are listed. */
const ISA_FLAGS = ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'asimd', 'sve', 'sve2'];

export function machine(): Machine {
  const list = cpus();
  let flags = new Set<string>();
  let model = list[0]?.model.trim() ?? '';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const line = /^(?:flags|Features)\s*:\s*(.*)$/m.exec(info);
    if (line) flags = new Set(line[1]!.trim().split(/\s+/));
    if (model === '') model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1]?.trim() ?? '';
  } catch {
    // Not Linux: the instruction sets stay unrecorded rather than guessed.
  }
  return {
    cpu: model === '' ? 'unknown CPU' : model,
    cores: list.length,
    isa: ISA_FLAGS.filter((f) => flags.has(f)),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform}-${process.arch}`,
  };
}

/** HEAD and whether code differs from it, for the git checkout at `root`; nulls when git or the checkout is missing. */
export function gitState(root: string): { commit: string | null; dirty: boolean | null } {
  const git = (args: string[]) => spawnSync('git', ['-C', root, ...args], { encoding: 'utf8' });
  const head = git(['rev-parse', '--verify', '--quiet', 'HEAD']);
  if (head.status !== 0 || head.error) return { commit: null, dirty: null };
  // Results and executed notebooks are what a run writes; only the code decides whether the commit describes it.
  const diff = git(['status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)results', ':(exclude)notebooks', ':(exclude)README.md']);
  return { commit: head.stdout.trim(), dirty: diff.status === 0 ? diff.stdout.trim() !== '' : null };
}

export function collectProvenance(o: {
  readonly root: string;
  readonly backend: string;
  readonly scale: Provenance['scale'];
  readonly options?: Readonly<Record<string, unknown>>;
  readonly date?: Date;
}): Provenance {
  return {
    date: (o.date ?? new Date()).toISOString(),
    machine: machine(),
    backend: o.backend,
    scale: o.scale,
    ...gitState(o.root),
    node: process.version,
    ...(o.options && Object.keys(o.options).length > 0 ? { options: o.options } : {}),
  };
}

/** 'AMD EPYC 9R14, 2 cores (avx2, avx512f)' */
export function describeMachine(m: Machine): string {
  const isa = m.isa.filter((f) => ['avx2', 'avx512f', 'amx_tile', 'sve'].includes(f));
  return `${m.cpu}, ${m.cores} core${m.cores === 1 ? '' : 's'}${isa.length ? ` (${isa.join(', ')})` : ''}`;
}
