// A command-line mistake (a bad option value, an output folder that may not be replaced): the CLI prints its
// message, which says what to do, and exits with status 2 like any other bad input.
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
