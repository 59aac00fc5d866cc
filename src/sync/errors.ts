/** How a sync run ends early (exported by ./index.ts). */

export class SyncAbortedError extends Error {
  override name = 'SyncAbortedError';
  constructor(public readonly runId: number) {
    super(`sync run ${runId} was aborted; it is resumable from its checkpoint`);
  }
}

/** The run row is no longer 'running' (another process took it over): stop without writing. */
export class SyncRunLostError extends Error {
  override name = 'SyncRunLostError';
}
