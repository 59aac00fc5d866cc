/**
 * The emulator's own account of a run (`GET /_emulator/stats`): the portal clock's seconds, the requests,
 * the 503 / 429 answers and, per method, the calls and the seconds charged. A bench reads it before and
 * after a phase and takes the difference.
 */
import axios from 'axios';

export interface MethodStat { requests: number; calls: number; operatingSeconds: number; processingSeconds?: number }
export interface EmulatorStats { elapsed: number; requests: number; rejected503: number; rejected429: number; methods: Record<string, MethodStat> }

export async function emulatorStats(url: string): Promise<EmulatorStats> {
  const s = (await axios.get(`${url}_emulator/stats`)).data as { clock: { elapsedSeconds: number }; limits: { requests: number; rejected503: number; rejected429: number; methods: Record<string, MethodStat> } };
  return { elapsed: s.clock.elapsedSeconds, requests: s.limits.requests, rejected503: s.limits.rejected503, rejected429: s.limits.rejected429, methods: s.limits.methods };
}

/** Clears the stats only: the bucket and the operating windows carry over, as on a real portal. */
export const resetEmulatorStats = (url: string) => axios.post(`${url}_emulator/stats/reset`, { counters: false });

/** What happened between two readings (methods without calls or requests left out). */
export function statsDiff(a: EmulatorStats, b: EmulatorStats): EmulatorStats {
  const methods: EmulatorStats['methods'] = {};
  for (const [m, v] of Object.entries(b.methods)) {
    const o = a.methods[m] ?? { requests: 0, calls: 0, operatingSeconds: 0, processingSeconds: 0 };
    const p = v.processingSeconds === undefined ? undefined : v.processingSeconds - (o.processingSeconds ?? 0);
    if (v.calls - o.calls > 0 || v.requests - o.requests > 0) methods[m] = { requests: v.requests - o.requests, calls: v.calls - o.calls, operatingSeconds: v.operatingSeconds - o.operatingSeconds, processingSeconds: p };
  }
  return { elapsed: b.elapsed - a.elapsed, requests: b.requests - a.requests, rejected503: b.rejected503 - a.rejected503, rejected429: b.rejected429 - a.rejected429, methods };
}
