/**
 * An admin endpoint read now and every `everyMs` while the view is shown (and `path` is not
 * null); `refresh()` reads it again at once (after an action). An error shows until a read
 * succeeds.
 */
import { useEffect, useState } from 'preact/hooks';
import { getJson } from './api.ts';

export function usePoll<T>(
  path: string | null,
  everyMs: number,
): { data: T | null; error: string; refresh(): Promise<void> } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    void tick; // a refresh() runs this again
    let stopped = false;
    const read = () =>
      getJson<T>(path).then(
        (r) => {
          if (stopped) return;
          setData(r);
          setError('');
        },
        (err) => {
          if (!stopped) setError((err as Error).message);
        },
      );
    read();
    const timer = setInterval(read, everyMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [path, everyMs, tick]);
  return { data, error, refresh: async () => setTick((t) => t + 1) };
}
