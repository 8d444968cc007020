/**
 * The simulator's clock for the hourly points quota: simulated time that runs `time_scale` times
 * faster than real time (60: a simulated hour in one real minute) and can be set to any instant
 * (`sim_time`), so a test reaches the top of the hour in a second. Only the quota window reads it;
 * the burst and per-issue limits count per second in real time, which is what they model.
 */
export class SimClock {
  private scale = 1;
  /** Simulated and real instants at the last change of scale or time. */
  private anchorSim: number;
  private anchorReal: number;

  constructor(private readonly realNow: () => number = Date.now) {
    this.anchorReal = realNow();
    this.anchorSim = this.anchorReal;
  }

  get timeScale(): number {
    return this.scale;
  }

  /** Simulated epoch milliseconds. */
  now(): number {
    return this.anchorSim + (this.realNow() - this.anchorReal) * this.scale;
  }

  /** Real epoch milliseconds. */
  real(): number {
    return this.realNow();
  }

  /** From now on simulated time runs `scale` times as fast as real time; it does not jump. */
  setScale(scale: number): void {
    this.anchor(this.now());
    this.scale = scale;
  }

  /** Simulated time jumps to `simMs` and runs on from there. */
  set(simMs: number): void {
    this.anchor(simMs);
  }

  /** The real milliseconds a simulated span of `simMs` takes. */
  realSpan(simMs: number): number {
    return simMs / this.scale;
  }

  private anchor(simMs: number): void {
    this.anchorReal = this.realNow();
    this.anchorSim = simMs;
  }
}
