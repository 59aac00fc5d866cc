/**
 * The structured logger: pino, one JSON line per entry, `{"level":"info","t":"<ISO time>","msg":…,
 * …fields}`. Credentials never reach a line (./log-redact.ts, applied to every entry). Request
 * bodies are never logged.
 *
 * Where lines go: stderr (always, unless a `sink` replaces it in tests), and with `files` also
 * into LOG_DIR through pino-roll (in a worker thread, off the event loop): one file per day,
 * `app.YYYY-MM-DD.N.log` (N counts restarts/rolls within the day; a restart on the same day
 * appends to the day's file), a `current.log` symlink to the active file, and at each daily roll
 * every file but the newest `retentionDays + 1` is removed (today's plus `retentionDays` whole
 * days; LOG_RETENTION_DAYS ≥ 3). Give each process its own LOG_DIR (or `name`): the roll of one
 * process would otherwise remove another's files.
 */
import pino, { type DestinationStream } from 'pino';
import type { LogLevel } from '../config.js';
import { redact, scrubText } from './log-redact.js';

export { redact } from './log-redact.js';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A logger the process owns: `close()` flushes and ends its file output (graceful shutdown). */
export interface OwnedLogger extends Logger {
  close(): Promise<void>;
}

export interface LogFiles {
  /** the directory (created when missing) */
  dir: string;
  /** whole days kept besides today (≥ 3 in production, src/config.ts) */
  retentionDays: number;
  /** file name before the date (default 'app') */
  name?: string;
  /** rotation period: 'daily' (default) or milliseconds (tests) */
  frequency?: 'daily' | number;
}

export interface LoggerSetup {
  level?: LogLevel;
  /** receives each line (without its newline) instead of stderr */
  sink?: (line: string) => void;
  files?: LogFiles;
}

/** pino-roll's options for `files` (exported for the guide's numbers and the tests). */
export function rollOptions(f: LogFiles) {
  return {
    file: `${f.dir.replace(/\/+$/, '')}/${f.name ?? 'app'}`,
    extension: '.log',
    frequency: f.frequency ?? 'daily',
    dateFormat: 'yyyy-MM-dd',
    mkdir: true,
    // in pino's worker thread: a line the worker took is on disk (flush() means written)
    sync: true,
    symlink: true,
    limit: { count: Math.max(1, Math.floor(f.retentionDays)) + 1, removeOtherLogFiles: true },
  };
}

/** pino.transport's ThreadStream, as far as it is used here. */
type FileStream = DestinationStream & { flush(cb: (err?: Error | null) => void): void };

function streamsOf(setup: LoggerSetup): { stream: DestinationStream; file: FileStream | null } {
  const level = setup.level ?? 'info';
  const main: DestinationStream = setup.sink ? { write: (s: string) => setup.sink!(s.endsWith('\n') ? s.slice(0, -1) : s) } : pino.destination({ dest: 2, sync: true });
  if (!setup.files) return { stream: main, file: null };
  const file = pino.transport({ target: 'pino-roll', options: rollOptions(setup.files) }) as unknown as FileStream;
  return { stream: pino.multistream([{ level, stream: main }, { level, stream: file }]), file };
}

/**
 * `createLogger('warn')`, `createLogger('debug', (line) => lines.push(line))` (tests), or
 * `createLogger({ level, files: { dir, retentionDays } })` (the app with LOG_DIR).
 */
export function createLogger(setup: LogLevel | LoggerSetup = 'info', sink?: (line: string) => void): OwnedLogger {
  const s: LoggerSetup = typeof setup === 'string' ? { level: setup, ...(sink ? { sink } : {}) } : setup;
  const { stream, file } = streamsOf(s);
  const p = pino(
    {
      level: s.level ?? 'info',
      base: null,
      messageKey: 'msg',
      timestamp: () => `,"t":"${new Date().toISOString()}"`,
      // errors are already {name, message} (./log-redact.ts): no second serializer
      serializers: { err: (e: unknown) => e },
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => redact(obj) as Record<string, unknown>,
      },
    },
    stream,
  );
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => p[lvl](fields ?? {}, scrubText(msg));
  let closed: Promise<void> | null = null;
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    close() {
      // The lines written so far reach the file (the worker flushes its stream); pino ends the
      // transport itself when the process exits.
      closed ??= new Promise<void>((resolve) => {
        if (!file) return resolve();
        file.flush((err) => (err ? resolve() : resolve()));
      });
      return closed;
    },
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
