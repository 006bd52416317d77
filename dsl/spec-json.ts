/**
 * Loading a Spec from JSON: parse, check the envelope (version, known sections), then replay the
 * sections through the same resolvers the builder calls, in an order where every cross-call check
 * has what it needs (noise before splitTasks, finetune before evaluate and certify). A section
 * left out (or null) is absent; a field left out of a section takes the builder's default.
 */
import { DslError } from './errors.js';
import { deepFreeze } from './freeze.js';
import { initialSpec, SPEC_VERSION, type Spec } from './spec.js';
import { isPlainObject } from './checks.js';
import {
  resolveCertify,
  resolveEvaluate,
  resolveFinetune,
  resolveMinimax,
  resolveNoise,
  resolvePretrain,
  resolveSplitTasks,
} from './validate.js';

const SECTIONS = ['version', 'pretrain', 'splitTasks', 'minimax', 'noise', 'finetune', 'evaluate', 'certify'] as const;

export function specFromJSON(json: unknown, call = 'fromJSON(json)'): Spec {
  let data = json;
  if (typeof json === 'string') {
    try {
      data = JSON.parse(json);
    } catch (e) {
      throw new DslError({ call, what: 'json', allowed: 'a Spec as JSON text', value: json, shown: `invalid JSON (${(e as Error).message})` });
    }
  }
  if (!isPlainObject(data)) {
    throw new DslError({ call, what: 'the Spec', allowed: 'an object like pipeline.toJSON() returns', value: data });
  }
  const object = data;
  for (const key of Object.keys(object)) {
    if (!(SECTIONS as readonly string[]).includes(key)) {
      throw new DslError({ call, what: 'Spec keys', allowed: `among ${SECTIONS.join(', ')}`, value: key });
    }
  }
  if (object.version !== SPEC_VERSION) {
    throw new DslError({ call, what: 'version', allowed: `${SPEC_VERSION} (this robustlab reads Spec version ${SPEC_VERSION})`, value: object.version });
  }
  const section = (name: (typeof SECTIONS)[number]): Record<string, unknown> | null => {
    const s = object[name];
    if (s === undefined || s === null) return null;
    if (!isPlainObject(s)) throw new DslError({ call, what: name, allowed: 'an object or null', value: s });
    return s;
  };

  let spec: Spec = initialSpec(resolvePretrain(section('pretrain') ?? undefined));
  const noise = section('noise');
  if (noise) {
    const { sigmas, ...rest } = noise;
    spec = { ...spec, noise: resolveNoise(sigmas, rest, spec) };
  }
  const split = section('splitTasks');
  if (split) {
    const { k, ...rest } = split;
    spec = { ...spec, splitTasks: resolveSplitTasks(k, rest, spec) };
  }
  const minimax = section('minimax');
  if (minimax) {
    const { eta, ...rest } = minimax;
    spec = { ...spec, minimax: resolveMinimax(eta, rest, spec) };
  }
  const finetune = section('finetune');
  if (finetune) {
    const { tasks, ...rest } = finetune;
    spec = { ...spec, finetune: resolveFinetune(tasks, rest, spec) };
  }
  const evaluate = section('evaluate');
  if (evaluate) spec = { ...spec, evaluate: resolveEvaluate(evaluate, spec) };
  const certify = section('certify');
  if (certify) spec = { ...spec, certify: resolveCertify(certify, spec) };
  return deepFreeze(spec);
}
