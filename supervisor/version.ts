// Replaced at bundle time (scripts/build.mjs, scripts/build-binary.mjs) with package.json's version.
declare const WARDEN_VERSION: string;
export const VERSION: string = typeof WARDEN_VERSION === 'string' ? WARDEN_VERSION : '0.0.0-dev';
