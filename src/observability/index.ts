export {
  consoleObserver,
  type LogEntry,
  type LogLevel,
  memoryObserver,
  noopObserver,
  type Observer,
} from './logger.ts';
