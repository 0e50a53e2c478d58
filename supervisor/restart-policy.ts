// The restart policy of core/restart-policy.ts, at the path the child supervisor imports it from.
export * from '../core/restart-policy.js';
