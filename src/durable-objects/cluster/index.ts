export {
  type AlarmEntry,
  casCheckedOnApply,
  ObjectCluster,
  type ObjectClusterOptions,
  ObjectElsewhere,
  objectKey,
} from './cluster.ts';
export { FencedError, LOG_STREAM, logSubject } from './journal.ts';
export { OWNERS_BUCKET, type OwnerEntry } from './owners.ts';
export { decodeRecord, type JournalRecord, PART_HEADER, PartJoiner } from './records.ts';
export { ReplicatedStorage } from './replicated.ts';
