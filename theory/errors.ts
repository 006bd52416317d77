/** A mistake a user can make when calling a theory analysis (a size, a sample count, a temperature out of range). */
export class TheoryError extends Error {
  /** Tells the CLI and the notebooks to print the message, not a stack trace. */
  readonly userError = true;
  constructor(message: string) {
    super(message);
    this.name = 'TheoryError';
  }
}
