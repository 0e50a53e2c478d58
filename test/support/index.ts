// The test support kit: waiting, log capture, fixtures and temp dirs, /proc, sink output, metrics,
// skip notes (the reporter that lists skipped tests is skipped-reporter.ts, in vitest.config.ts).
// Domain harnesses sit beside it: warden.ts (the CLI process), child.ts (ChildSupervisor),
// tail.ts (TailPipeline), faults.ts (fault configs), pid1.ts (PID namespaces).
export { freePort } from '../../scripts/lib/util.js';
export * from './fixtures.js';
export * from './logs.js';
export * from './metrics.js';
export * from './ndjson.js';
export * from './procfs.js';
export * from './skip.js';
export * from './wait.js';
