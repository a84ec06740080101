// The one error a cancelled operation throws: named AbortError, which the CLI turns into exit code 130.

export function abortError(message: string): Error {
  const err = new Error(message);
  err.name = 'AbortError';
  return err;
}
