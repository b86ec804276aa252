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
}

export const noopObserver: Observer = { log() {} };

/** Writes one line per entry to stderr (warn/error) or stdout. */
export function consoleObserver(minLevel: LogLevel = 'info'): Observer {
  const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  return {
    log(entry) {
      if (order[entry.level] < order[minLevel]) return;
      const fields =
        entry.fields && Object.keys(entry.fields).length > 0 ? ` ${JSON.stringify(entry.fields)}` : '';
      const line = `[${entry.source}] ${entry.level === 'info' ? '' : `${entry.level}: `}${entry.message}${fields}\n`;
      (order[entry.level] >= 2 ? process.stderr : process.stdout).write(line);
    },
  };
}

/** Collects entries in memory; for tests and the future live tail. */
export function memoryObserver(): Observer & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return { entries, log: (e) => void entries.push(e) };
}
