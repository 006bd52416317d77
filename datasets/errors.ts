/**
 * The error a user can cause while loading data: a missing package, a truncated or corrupt file, a wrong
 * image size, labels out of range, an empty split, more groups asked for than a data set can supply.
 * The message is one line that says what is wrong and what to do; the CLI prints it without a stack.
 */
export class DatasetError extends Error {
  readonly userError = true;
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}
