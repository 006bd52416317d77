/**
 * Whether the native TensorFlow backend (and our fused kernels in it) is here. Tests of native-only code
 * skip where it is not, as on a machine whose offline build failed; but under CI=true a missing native
 * build fails the suite instead, so those tests can never vanish from CI silently.
 */
import { fusedKernelsAvailable } from '../../engine/backend/fused-kernels.js';
import { initBackend } from '../../engine/backend/selection.js';

const required = process.env['CI'] === 'true';

/** True when the native backend loads; under CI=true, throws (failing the test file) when it does not. */
export async function nativeBackend(): Promise<boolean> {
  try {
    await initBackend('tensorflow');
    return true;
  } catch (e) {
    if (required) throw new Error(`CI=true requires the native backend, which did not load: ${(e as Error).message}`);
    return false;
  }
}

/** True when our fused kernels are registered; under CI=true, throws when the native backend lacks them. */
export async function fusedKernels(): Promise<boolean> {
  if (!(await nativeBackend())) return false;
  const ok = fusedKernelsAvailable();
  if (!ok && required) throw new Error('CI=true requires the fused kernels in the native build; run `npm run setup:native`');
  return ok;
}
