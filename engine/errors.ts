/** An error the user can cause while running a plan (bad backend request, corrupt checkpoint, NaN loss, ...). */
export class EngineError extends Error {
  readonly userError = true;
  constructor(message: string) {
    super(message);
    this.name = 'EngineError';
  }
}
