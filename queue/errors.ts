/** QueueError: a mistake a user can make with the worker pool (a bad URL, an unreachable Redis, a failed job). */
export class QueueError extends Error {
  readonly userError = true;
  constructor(message: string) {
    super(message);
    this.name = 'QueueError';
  }
}
