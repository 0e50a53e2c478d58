// systeminformation's memory module alone: its index requires every module it has (about 700 KB of
// source, held in the heap for the life of the process) for the one call warden makes.
declare module 'systeminformation/lib/memory.js' {
  export { mem } from 'systeminformation';
}
