/**
 * The observer interface: core code reports what happens through it and never imports a
 * logging or metrics backend. The default does nothing; the CLI plugs in a console logger.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEntry {
  level: LogLevel;
  /** Who speaks: 'outpost' for the platform, `worker:<name>` for tenant console output. */
  source: string;
  message: string;
  /** Structured fields (request id, limit name, ...). */
  fields?: Record<string, unknown>;
}

export interface Observer {
  log(entry: LogEntry): void;
  /**
   * Whether an entry of this level would be written: callers building costly entries on the
   * hot path (a request's line) ask first. Absent: assume yes.
   */
  wants?(level: LogLevel): boolean;
}

export const noopObserver: Observer = { log() {}, wants: () => false };

export type LogFormat = 'pretty' | 'json';

/**
 * Writes one line per entry: `pretty` for people (warn and error to stderr), `json` for log
 * pipelines — one object per line on stdout with `time`, `level`, `source`, `message` and the
 * entry's fields (a request's line: ray, pop, worker, status, cache, ms, trace).
 */
export function consoleObserver(minLevel: LogLevel = 'info', format: LogFormat = 'pretty'): Observer {
  const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  return {
    wants: (level) => order[level] >= order[minLevel],
    log(entry) {
      if (order[entry.level] < order[minLevel]) return;
      if (format === 'json') {
        const line = {
          time: new Date().toISOString(),
          level: entry.level,
          source: entry.source,
          message: entry.message,
          ...entry.fields,
        };
        process.stdout.write(`${JSON.stringify(line)}\n`);
        return;
      }
      const line = `${prettyLine(entry)}\n`;
      (order[entry.level] >= 2 ? process.stderr : process.stdout).write(line);
    },
  };
}

/** One entry for people: a request as `GET /a 200 (3.1 ms, MISS, FRA, ray …)`, others with their fields. */
export function prettyLine(entry: LogEntry): string {
  const f = entry.fields;
  if (entry.source === 'request' && f) {
    const parts = [`${Number(f.ms).toFixed(1)} ms`];
    if (f.cache && f.cache !== 'none') parts.push(String(f.cache));
    parts.push(String(f.pop), `ray ${f.ray}`);
    return `[request] ${entry.message} (${parts.join(', ')})`;
  }
  const fields = f && Object.keys(f).length > 0 ? ` ${JSON.stringify(f)}` : '';
  return `[${entry.source}] ${entry.level === 'info' ? '' : `${entry.level}: `}${entry.message}${fields}`;
}

/** Collects entries in memory; for tests and the future live tail. */
export function memoryObserver(): Observer & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return { entries, log: (e) => void entries.push(e) };
}
