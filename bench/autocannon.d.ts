// Just what the bench uses of autocannon (it ships no types).
declare module 'autocannon' {
  interface Result {
    requests: { average: number; total: number };
    throughput: { total: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    /** Requests that got no answer within autocannon's timeout (10 s), counted in `errors` too. */
    timeouts: number;
    errors: number;
  }
  function autocannon(opts: {
    url: string;
    connections: number;
    duration: number;
    pipelining?: number;
    headers?: Record<string, string>;
    /** Sent in turn on each connection. */
    requests?: { method?: string; path?: string; headers?: Record<string, string> }[];
  }): Promise<Result>;
  export default autocannon;
}
