/**
 * The isolate entries the task ring runs, by code: their index here (the host's IsolateCalls in
 * calls.ts sends the code, the isolate's ring in isolate/ring.ts looks the entry up by it).
 * Each is called with a batch of one item, as the host's direct applies called it.
 */
export const RING_ENTRIES = [
  'dispatch',
  'pull',
  'settle',
  'rpc',
  'event',
  'warmup',
  'hostDone',
  'wsEvent',
  'cancel',
  'forget',
] as const;

export type RingEntry = (typeof RING_ENTRIES)[number];
