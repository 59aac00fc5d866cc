/**
 * A run's stop switch: the first reason wins (abort signal, a failed stream, an error of the
 * run); the phases check it between page batches and wait on `stopped` while idle.
 */
export class StopSwitch {
  /** null while the run is not stopping. */
  reason: unknown = null;
  /** Resolves when the run starts stopping. */
  readonly stopped: Promise<void>;
  private resolveStopped!: () => void;

  constructor() {
    this.stopped = new Promise<void>((r) => { this.resolveStopped = r; });
  }

  stop(reason: unknown): void {
    if (this.reason !== null) return;
    this.reason = reason ?? new Error('stopped');
    this.resolveStopped();
  }

  get isStopping(): boolean {
    return this.reason !== null;
  }

  /** Throws the stop reason if the run is stopping. */
  check(): void {
    if (this.reason !== null) throw this.reason;
  }
}
