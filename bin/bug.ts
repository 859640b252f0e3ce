/** How an internal error (a bug, not a user mistake) is shown: its stack, or what was thrown. */
export function describeBug(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  try {
    return `thrown: ${typeof err === 'string' ? err : JSON.stringify(err)}`;
  } catch {
    return `thrown: ${String(err)}`;
  }
}
