export { Follower, type FollowerOptions } from './follower.js';
export {
  ObjectStoreArchive,
  type ObjectStoreArchiveOptions,
} from './object-store-archive.js';
export {
  ReplicatedWal,
  type ReplicatedWalOptions,
  type ReplicationAck,
} from './replicated-wal.js';
export type { StreamSetup } from './stream.js';
