// esbuild options both bundles share: dist/warden.mjs (scripts/build.mjs) and the single
// executable's CommonJS bundle (scripts/build-binary.mjs).
//
// Whitespace only, names kept (stack traces and profiles stay readable): V8 keeps the whole
// bundle's source text in the heap for lazy compilation, and without comments it is smaller and
// all Latin-1 (one byte per character, not two; a single em dash in a comment makes it two). Idle
// RSS of a bare `warden run` 70.8 → 67.1 MiB; full minify measured worse (77 MiB).
export const sharedBundleOptions = {
  bundle: true,
  platform: 'node',
  minifyWhitespace: true,
  logLevel: 'warning',
};

// Fails the build if the bundle would be stored as a two-byte string after all.
export function assertLatin1(text, file) {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) {
      const line = text.slice(0, i).split('\n').length;
      throw new Error(`${file}:${line}: character U+${text.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')} is not Latin-1; V8 would keep the whole bundle as a two-byte string`);
    }
  }
}
