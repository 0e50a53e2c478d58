// Bundles the CLI into dist/warden.mjs: one file that `node` runs without tsx, so that
// `warden sink` children and tests start fast. The single executable (scripts/build-binary.mjs)
// uses its own CommonJS bundle.
import { build } from 'esbuild';
import { mkdirSync, chmodSync, readFileSync } from 'node:fs';
import { assertLatin1, sharedBundleOptions } from './bundle-options.mjs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
mkdirSync('dist', { recursive: true });
await build({
  entryPoints: ['supervisor/main.ts'],
  outfile: 'dist/warden.mjs',
  ...sharedBundleOptions,
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  define: { WARDEN_VERSION: JSON.stringify(pkg.version) },
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __wardenCreateRequire } from 'node:module';\nconst require = __wardenCreateRequire(import.meta.url);",
  },
});
assertLatin1(readFileSync('dist/warden.mjs', 'utf8'), 'dist/warden.mjs');
chmodSync('dist/warden.mjs', 0o755);
