// The `warden` command line: parse arguments, dispatch, exit with a code that says what happened.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { EXIT } from './exit-codes.js';
import { VERSION } from './version.js';


const SINK_LISTEN = 'tcp://127.0.0.1:24224';
const CONFIG_LINE = 'config: --config, else $WARDEN_CONFIG, else /etc/warden/warden.yaml, else built-in defaults.\n';
const URL_LINE = 'server: --url, else health.listen of the config (a wildcard address as loopback), else http://127.0.0.1:9880.\n';

/** Each subcommand's own usage, printed by `warden <command> --help`. */
const COMMANDS: Record<string, { line: string; help: string }> = {
  run: {
    line: 'run [--config PATH]                          supervise the child and ship logs (the main job)',
    help: `usage: warden run [--config PATH]

Supervises the child, tails the inputs and ships them over Forward; stops on SIGTERM/SIGINT,
reloads on SIGHUP and when the config file changes.
exit: 0 clean stop, 1 internal error, 2 bad configuration, 128+N killed by signal N.
${CONFIG_LINE}`,
  },
  'check-config': {
    line: 'check-config [--config PATH]                 validate a configuration; exit 2 when invalid',
    help: `usage: warden check-config [--config PATH]

Validates a configuration and prints every error as \`key.path: message (got VALUE)\`.
exit: 0 valid, 2 invalid.
${CONFIG_LINE}`,
  },
  probe: {
    line: 'probe [live|ready] [--url URL] [--config PATH] [--timeout-ms N]   exit 0 when healthy, 1 when not',
    help: `usage: warden probe [live|ready] [--url URL] [--config PATH] [--timeout-ms N]

Asks /healthz (live, the default) or /readyz (ready); for exec probes and Docker HEALTHCHECK.
  --timeout-ms N   give up after N ms (default 2000)
exit: 0 healthy, 1 not (or no answer), 2 bad usage or an invalid --config.
${URL_LINE}${CONFIG_LINE}`,
  },
  status: {
    line: 'status [--url URL] [--config PATH] [--json]  print child, Forward, budgets and lagging files',
    help: `usage: warden status [--url URL] [--config PATH] [--json]

Prints the child, the Forward connection, budgets and the files that lag, as a table.
  --json   print /status as it is, every file included
exit: 0, 1 when warden does not answer, 2 bad usage or an invalid --config.
${URL_LINE}${CONFIG_LINE}`,
  },
  sink: {
    line: 'sink [--listen ADDR] [--out FILE|-] [--count-only]   a Forward receiver that acks and writes NDJSON',
    help: `usage: warden sink [--listen ADDR] [--out FILE|-] [--count-only]

A Forward receiver that acks every chunk and writes each record as NDJSON {tag, time, record}.
  --listen ADDR   tcp://HOST:PORT or unix:///PATH (default $WARDEN_SINK_LISTEN, else ${SINK_LISTEN})
  --out FILE|-    where records go; - is stdout (default -)
  --count-only    count records without decoding or writing them (for benchmarks)
shared key: $WARDEN_FORWARD_SHARED_KEY (as warden hands it to its child); unset or empty = no handshake.
exit: 0 after SIGTERM/SIGINT.
`,
  },
};

const USAGE = `usage: warden <command> [options]

commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.line}\n`)
  .join('')}  --version                                    print the version

\`warden <command> --help\` prints a command's options.
${CONFIG_LINE}`;

class UsageError extends Error {}

// Over 60 lines: one case per subcommand, a dispatch table read top to bottom.
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && command in COMMANDS && rest.some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(COMMANDS[command]!.help);
    return EXIT.OK;
  }
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
      const { values, positionals } = args(rest, { url: { type: 'string' }, config: { type: 'string' }, 'timeout-ms': { type: 'string' } }, true);
      const which = positionals[0] ?? 'live';
      if (which !== 'live' && which !== 'ready') throw new UsageError(`probe: expected live or ready (got ${JSON.stringify(which)})`);
      const timeoutMs = numberArg('timeout-ms', values['timeout-ms'] as string | undefined, 2000);
      const { probe } = await import('../agent/health/client.js');
      return probe(which, { url: values.url as string | undefined, configPath: values.config as string | undefined, timeoutMs });
    }
    case 'status': {
      const { values } = args(rest, { url: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' } });
      const { printStatus } = await import('../agent/health/client.js');
      return printStatus({ url: values.url as string | undefined, configPath: values.config as string | undefined, json: values.json === true });
    }
    case 'sink': {
      const { values } = args(rest, {
        listen: { type: 'string' },
        out: { type: 'string' },
        'count-only': { type: 'boolean' },
      });
      const { runSink } = await import('../agent/forward/sink.js');
      return runSink({
        listen: (values.listen as string | undefined) ?? process.env.WARDEN_SINK_LISTEN ?? SINK_LISTEN,
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
