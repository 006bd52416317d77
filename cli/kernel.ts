/**
 * `robustlab kernel install`: register the project's Jupyter kernel (tslab started from the
 * project root) under .jupyter/ and say how to start Jupyter with it.
 */
import { installKernel, KERNEL_NAME } from '../kernel/install.js';
import { parseFlags, UsageError, type Command } from './command.js';

const usage = `robustlab kernel install [--prefix DIR]
  --prefix DIR  Jupyter data prefix (the spec goes to DIR/share/jupyter/kernels/${KERNEL_NAME}); default <project>/.jupyter`;

export const kernelCommand: Command = {
  name: 'kernel',
  summary: `install the '${KERNEL_NAME}' Jupyter kernel (TypeScript via tslab, started from the project root)`,
  usage,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { prefix: 'string' });
    if (positionals.length !== 1 || positionals[0] !== 'install') {
      throw new UsageError(`kernel needs the subcommand 'install'${positionals.length > 0 ? `, got '${positionals.join(' ')}'` : ''}; usage: ${usage.split('\n')[0]}`);
    }
    const k = await installKernel({ prefix: flags.prefix as string | undefined });
    process.stdout.write(
      [
        `installed kernel '${KERNEL_NAME}' in ${k.kernelDir}`,
        `  kernel.json runs ${k.wrapper} (cd ${k.projectRoot}; exec tslab kernel)`,
        'start Jupyter with it (any front end; pip install jupyterlab if you have none):',
        `  JUPYTER_PATH=${k.jupyterPath} jupyter lab notebooks/`,
        'or run every notebook headless: npm run notebooks',
        '',
      ].join('\n'),
    );
    return 0;
  },
};
