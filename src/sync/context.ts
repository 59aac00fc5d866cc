/** What the phases of one run share (built by createRunContext in ./commit.ts). */
import type { B24Client } from '../b24/client.js';
import type { Db } from '../store/db.js';
import type { RunProgress } from './progress.js';
import type { Signal } from './signal.js';
import type { Checkpoint } from './types.js';

export interface RunContext {
  db: Db;
  portalId: number;
  runId: number;
  client: B24Client;
  /** The last COMMITTED checkpoint (read-only: change it through commit()). */
  readonly cp: Checkpoint;
  /** Phase and active streams, as the commits report them. */
  progress: RunProgress;
  /**
   * Runs `write`, applies `mutate` to a copy of the checkpoint (with write's result) and saves
   * checkpoint + progress, all in ONE transaction; the copy becomes `cp` only after COMMIT.
   * Commits are serialised.
   */
  commit<T>(mutate: (cp: Checkpoint, written: T) => void, write: (tx: Db) => Promise<T>): Promise<void>;
  /** Sets the phase and saves it with the progress (an empty commit). */
  setPhase(phase: string): Promise<void>;
  /** Throws the stop reason (abort, another stream's error) if the run is stopping. */
  checkStopped(): void;
  /** Resolves when the run starts stopping. */
  stoppedPromise: Promise<void>;
  /** Starts stopping the run (the first reason wins). */
  stop(reason: unknown): void;
  isStopping(): boolean;
  /** Notified after every committed deals page. */
  dealsCommitted: Signal;
  /** Measured product rows per won deal (sizes the ownerId arrays). */
  rowsPerWonDeal?: number;
}
