/**
 * The portal clock. Portal time runs `timeScale` times faster than wall time
 * (`--time-scale 100`: a portal second passes in 10 ms), so limits, token lifetimes and
 * benchmarks are measured in portal seconds. Tests can also jump it forward.
 */
export class PortalClock {
  private readonly wallStart: number;
  private offsetMs = 0;

  constructor(
    /** Portal time at construction, epoch ms. */
    private readonly portalStart: number = Date.now(),
    public readonly timeScale = 1,
    private readonly wallNow: () => number = () => performance.now(),
  ) {
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new Error(`time scale must be a positive number, got ${timeScale}`);
    this.wallStart = this.wallNow();
  }

  /** Portal time now, epoch ms. */
  now(): number {
    return this.portalStart + (this.wallNow() - this.wallStart) * this.timeScale + this.offsetMs;
  }

  /** Portal seconds elapsed since the clock started (advances included). */
  elapsedSeconds(): number {
    return (this.now() - this.portalStart) / 1000;
  }

  /** Jumps portal time forward (tests: token expiry, limit windows). */
  advance(ms: number): void {
    if (ms < 0) throw new Error('the portal clock cannot go back');
    this.offsetMs += ms;
  }

  /** Wall milliseconds that `portalMs` of portal time takes. */
  toWallMs(portalMs: number): number {
    return portalMs / this.timeScale;
  }
}
