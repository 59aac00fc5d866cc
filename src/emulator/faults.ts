/**
 * Faults on demand: the emulator can answer REST requests with injected failures, at given
 * rates, reproducibly from a seed (one PRNG draw per matching request, so the same seed and
 * the same request sequence give the same faults).
 *
 * Spec syntax (CLI `--faults`, `POST /_emulator/faults` with `{"spec": "..."}`), a comma list:
 *
 *   503=0.05          503 QUERY_LIMIT_EXCEEDED "Too many requests"
 *   429=0.01          429 OPERATION_TIME_LIMIT "Method is blocked due to operation time limit."
 *   500=0.01          500 INTERNAL_SERVER_ERROR "Internal server error"
 *   expired=0.02      401 expired_token "The access token provided has expired"
 *   reset=0.01        the TCP connection is destroyed without an answer
 *   timeout=0.01[:MS] no answer: the socket is held MS ms (default: until the client gives up
 *                     or the server closes) and then destroyed
 *   slow=0.1:2000     the request is answered normally after 2000 wall ms
 *   method=crm.deal.list|crm.contact.list   only these methods (default: every REST method)
 *   seed=7            PRNG seed (default 1)
 *
 * Rates are probabilities in [0, 1]; their sum must not exceed 1. `off` or an empty spec
 * disables faults. Faults apply to /rest/ requests only (not to /oauth/ or /_emulator/) and
 * happen before the limits, so an injected 503/429 does not touch the bucket or budgets.
 */
import { z } from 'zod';
import { mulberry32 } from './generator/random.js';

export type FaultKind = '503' | '429' | '500' | 'expired' | 'reset' | 'timeout' | 'slow';

const rate = z.number().min(0, 'a rate must be ≥ 0').max(1, 'a rate must be ≤ 1');

export const FaultConfigSchema = z
  .object({
    '503': rate.default(0),
    '429': rate.default(0),
    '500': rate.default(0),
    expired: rate.default(0),
    reset: rate.default(0),
    timeout: z.object({ rate, ms: z.number().int().positive().nullable().default(null) }).default({ rate: 0, ms: null }),
    slow: z.object({ rate, ms: z.number().int().positive() }).default({ rate: 0, ms: 1000 }),
    methods: z.array(z.string().min(1)).nullable().default(null),
    seed: z.number().int().default(1),
  })
  .strict()
  .refine(
    (c) => c['503'] + c['429'] + c['500'] + c.expired + c.reset + c.timeout.rate + c.slow.rate <= 1 + 1e-9,
    { message: 'the fault rates add up to more than 1' },
  );

export type FaultConfig = z.infer<typeof FaultConfigSchema>;

export class FaultSpecError extends Error {}

const ORDER: FaultKind[] = ['503', '429', '500', 'expired', 'reset', 'timeout', 'slow'];

function num(key: string, v: string): number {
  if (!/^-?\d+(\.\d+)?$/.test(v.trim())) throw new FaultSpecError(`fault spec: ${key}=${v}: not a number`);
  return Number(v);
}

/** Parses the compact spec; throws FaultSpecError with a readable message. */
export function parseFaultSpec(spec: string): FaultConfig {
  const raw: Record<string, unknown> = {};
  const s = spec.trim();
  if (s !== '' && s !== 'off' && s !== 'none') {
    for (const part of s.split(',')) {
      const item = part.trim();
      if (!item) continue;
      const eq = item.indexOf('=');
      if (eq < 0) throw new FaultSpecError(`fault spec: "${item}" is not key=value`);
      const key = item.slice(0, eq).trim().toLowerCase();
      const val = item.slice(eq + 1).trim();
      if (key in raw || (key === 'method' && 'methods' in raw)) throw new FaultSpecError(`fault spec: ${key} given twice`);
      switch (key) {
        case '503': case '429': case '500': case 'expired': case 'reset':
          raw[key] = num(key, val);
          break;
        case 'slow': {
          const [r, ms] = val.split(':');
          if (ms === undefined) throw new FaultSpecError('fault spec: slow needs RATE:MS, e.g. slow=0.1:2000');
          raw.slow = { rate: num(key, r ?? ''), ms: num(key, ms) };
          break;
        }
        case 'timeout': {
          const [r, ms] = val.split(':');
          raw.timeout = { rate: num(key, r ?? ''), ms: ms === undefined ? null : num(key, ms) };
          break;
        }
        case 'method': case 'methods':
          raw.methods = val.split('|').map((m) => m.trim().toLowerCase()).filter(Boolean);
          break;
        case 'seed':
          raw.seed = num(key, val);
          break;
        default:
          throw new FaultSpecError(`fault spec: unknown key "${key}" (known: 503, 429, 500, expired, reset, timeout, slow, method, seed)`);
      }
    }
  }
  return validateFaultConfig(raw);
}

export function validateFaultConfig(raw: unknown): FaultConfig {
  const r = FaultConfigSchema.safeParse(raw);
  if (!r.success) {
    throw new FaultSpecError(`fault spec: ${r.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ` : '') + i.message).join('; ')}`);
  }
  return r.data;
}


export interface FaultDecision {
  kind: FaultKind;
  /** Delay for slow, hold time for timeout (null = hold until closed). */
  ms: number | null;
}

export class Faults {
  private config: FaultConfig;
  private rand: () => number;
  readonly counts: Record<FaultKind, number> = { '503': 0, '429': 0, '500': 0, expired: 0, reset: 0, timeout: 0, slow: 0 };
  draws = 0;

  constructor(config?: FaultConfig | string) {
    this.config = typeof config === 'string' ? parseFaultSpec(config) : config ?? parseFaultSpec('');
    this.rand = mulberry32(this.config.seed);
  }

  /** Replaces the configuration and restarts the PRNG from its seed. */
  set(config: FaultConfig): void {
    this.config = config;
    this.rand = mulberry32(config.seed);
    this.draws = 0;
    for (const k of ORDER) this.counts[k] = 0;
  }

  get(): FaultConfig {
    return this.config;
  }

  get active(): boolean {
    const c = this.config;
    return c['503'] + c['429'] + c['500'] + c.expired + c.reset + c.timeout.rate + c.slow.rate > 0;
  }

  /** Decides the fate of one REST request for `method` (lower case). */
  decide(method: string): FaultDecision | null {
    if (!this.active) return null;
    const c = this.config;
    if (c.methods && !c.methods.includes(method)) return null;
    const u = this.rand();
    this.draws++;
    let acc = 0;
    for (const kind of ORDER) {
      const r = kind === 'slow' ? c.slow.rate : kind === 'timeout' ? c.timeout.rate : c[kind];
      acc += r;
      if (u < acc) {
        this.counts[kind]++;
        return { kind, ms: kind === 'slow' ? c.slow.ms : kind === 'timeout' ? c.timeout.ms : null };
      }
    }
    return null;
  }
}
