// The `warden` command line: parse arguments, dispatch, exit with a code that says what happened.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { EXIT } from './exit-codes.js';
import { VERSION } from './version.js';


const USAGE = `usage: warden <command> [options]

commands:
  run [--config PATH]                          supervise the child and ship logs (the main job)
  check-config [--config PATH]                 validate a configuration; exit 2 when invalid
  probe [live|ready] [--url URL] [--timeout-ms N]   exit 0 when healthy, 1 when not
  status [--url URL]                           print child, budgets and files as a table
  sink [--listen ADDR] [--out FILE|-] [--count-only]   a Forward receiver that acks and writes NDJSON
  --version                                    print the version

config: --config, else $WARDEN_CONFIG, else /etc/warden/warden.yaml, else built-in defaults.
`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case '--version':
    case 'version':
      process.stdout.write(`warden ${VERSION}\n`);
      return EXIT.OK;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? EXIT.USAGE : EXIT.OK;
    case 'run': {
      const { values } = args(rest, { config: { type: 'string' } });
      const { runWarden } = await import('./run.js');
      return runWarden({ configPath: values.config as string | undefined });
    }
    case 'check-config': {
      const { values } = args(rest, { config: { type: 'string' } });
      try {
        const { source } = loadConfig(values.config as string | undefined);
        process.stdout.write(`${source}: valid\n`);
        return EXIT.OK;
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`${err.source}: invalid\n${err.errors.map((e) => `  ${e}\n`).join('')}`);
        return EXIT.USAGE;
      }
    }
    case 'probe': {
      const { values, positionals } = args(rest, { url: { type: 'string' }, 'timeout-ms': { type: 'string' } }, true);
      const which = positionals[0] ?? 'live';
      if (which !== 'live' && which !== 'ready') throw new UsageError(`probe: expected live or ready (got ${JSON.stringify(which)})`);
      const timeoutMs = numberArg('timeout-ms', values['timeout-ms'] as string | undefined, 2000);
      const { probe } = await import('../agent/health/client.js');
      return probe(which, { url: values.url as string | undefined, timeoutMs });
    }
    case 'status': {
      const { values } = args(rest, { url: { type: 'string' }, json: { type: 'boolean' } });
      const { printStatus } = await import('../agent/health/client.js');
      return printStatus({ url: values.url as string | undefined, json: values.json === true });
    }
    case 'sink': {
      const { values } = args(rest, {
        listen: { type: 'string' },
        out: { type: 'string' },
        'count-only': { type: 'boolean' },
      });
      const { runSink } = await import('../agent/forward/sink.js');
      return runSink({
        listen: (values.listen as string | undefined) ?? process.env.WARDEN_SINK_LISTEN ?? 'tcp://127.0.0.1:24224',
        out: (values.out as string | undefined) ?? '-',
        countOnly: values['count-only'] === true,
        sharedKey: process.env.WARDEN_FORWARD_SHARED_KEY || null,
      });
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

function args(rest: string[], options: Record<string, { type: 'string' | 'boolean' }>, allowPositionals = false) {
  try {
    return parseArgs({ args: rest, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function numberArg(name: string, v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name}: must be a positive number (got ${JSON.stringify(v)})`);
  return n;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    if (err instanceof UsageError) {
      process.stderr.write(`warden: ${err.message}\n\n${USAGE}`);
      process.exitCode = EXIT.USAGE;
      return;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.source}: invalid\n${err.errors.map((e) => `  ${e}\n`).join('')}`);
      process.exitCode = EXIT.USAGE;
      return;
    }
    process.stderr.write(`warden: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
