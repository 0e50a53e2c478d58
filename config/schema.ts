// The configuration schema: the single source of keys, types and defaults.
// README's "Configuration reference" is checked against `describeKeys()` by a test.
import { constants as osConstants } from 'node:os';
import { z } from 'zod';
import { AddressError, parseForwardAddress, parseHostPort, type AddressOptions } from './address.js';

const knownSignals = osConstants.signals as unknown as Record<string, number>;

const signal = z
  .string()
  .regex(/^SIG[A-Z0-9]+$/, 'must be a signal name such as SIGTERM')
  .refine((s) => s in knownSignals, 'is not a signal this system knows');

/** A string checked by the run-time address parser (config/address.ts), so both agree. */
const address = (key: string, parse: (s: string, opts: AddressOptions) => unknown, anyPort = false) =>
  z.string().superRefine((s, ctx) => {
    try {
      parse(s, { key, anyPort });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof AddressError ? err.reason : String(err), input: s });
    }
  });

// Port 0 binds any free port; the server logs the one it got.
const listenAddr = address('health.listen', parseHostPort, true);

const forwardTo = address('forward.to', parseForwardAddress);

const command = z.array(z.string().min(1)).min(1, 'must name a program');

/**
 * What fluentd prints while its output cannot deliver: each failed flush of a chunk ("failed to
 * flush the buffer. retry_times=…") and a full buffer with `overflow_action block` making
 * in_forward wait ("failed to write data into buffer by buffer overflow action=:block"), both at
 * warn. `child.backpressure_patterns` unless set (supervisor/backpressure.ts).
 */
export const FLUENTD_BACKPRESSURE_PATTERNS = ['failed to flush the buffer', 'failed to write data into buffer by buffer overflow'];

const budgetPair = z
  .object({
    cpu_millicores: z.number().int().positive(),
    memory_mib: z.number().positive(),
  })
  .strict();

const fileFormats = ['auto', 'docker', 'cri', 'plain'] as const;
const journalKeys = ['units', 'matches', 'journal_dir', 'journal_files'] as const;

/** `forward.flush_interval_ms` unless set: a chunk waits at most this long, and changed files are read at this tick. */
export const DEFAULT_FLUSH_INTERVAL_MS = 500;

/**
 * One input: files by glob (`format` auto | docker | cri | plain, with `paths`), or the systemd
 * journal (`format: journald`, with `units` and/or `matches`, optionally `journal_dir` or
 * `journal_files`). One object for both, checked across fields, so that every key stays a key of
 * `inputs[]` (suggestions, README table); the parsed config splits them into `inputs` (files) and
 * `journal`.
 */
export const inputSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, _ . or -'),
    paths: z.array(z.string().startsWith('/', 'must be an absolute glob')).min(1, 'needs at least one glob').optional(),
    format: z.enum([...fileFormats, 'journald']).default('auto'),
    // journald only
    units: z.array(z.string().regex(/^[^=\s+]+$/, 'must be a unit name such as kubelet.service')).optional(),
    matches: z.array(z.string().regex(/^([A-Z0-9_]+=.*|\+)$/, 'must be FIELD=value (journalctl match, FIELD in capitals) or +')).optional(),
    journal_dir: z.string().startsWith('/', 'must be an absolute path').optional(),
    journal_files: z.array(z.string().startsWith('/', 'must be an absolute path')).min(1, 'needs at least one file').optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message, input: (input as Record<string, unknown>)[key] });
    if (input.format !== 'journald') {
      if (!input.paths) issue('paths', 'is required');
      for (const key of journalKeys) if (input[key] !== undefined) issue(key, 'is only for format: journald');
      return;
    }
    if (input.paths) issue('paths', 'is not for format: journald (select entries with units or matches)');
    // Reading the whole journal would also read warden's own log where warden runs as a systemd service.
    if (!input.units?.length && !input.matches?.length) issue('units', 'format: journald needs units or matches');
    const m = input.matches ?? [];
    if (m[0] === '+' || m[m.length - 1] === '+' || m.some((x, i) => x === '+' && m[i + 1] === '+')) issue('matches', '+ goes only between two matches');
    if (input.journal_dir !== undefined && input.journal_files !== undefined) issue('journal_files', 'journal_dir and journal_files exclude each other');
  });

type RawInput = z.infer<typeof inputSchema>;

export interface FileInputConfig {
  name: string;
  paths: string[];
  format: (typeof fileFormats)[number];
}

export interface JournalInputConfig {
  name: string;
  units: string[];
  matches: string[];
  journal_dir?: string;
  journal_files?: string[];
}

function fileInput(i: RawInput): FileInputConfig {
  return { name: i.name, paths: i.paths!, format: i.format as FileInputConfig['format'] };
}

function journalInput(i: RawInput): JournalInputConfig {
  const out: JournalInputConfig = { name: i.name, units: i.units ?? [], matches: i.matches ?? [] };
  if (i.journal_dir !== undefined) out.journal_dir = i.journal_dir;
  if (i.journal_files !== undefined) out.journal_files = i.journal_files;
  return out;
}

export const defaultInputs = [
  { name: 'containers', paths: ['/var/log/containers/*.log'], format: 'auto' as const },
  { name: 'docker', paths: ['/var/lib/docker/containers/*/*-json.log'], format: 'docker' as const },
  { name: 'host', paths: ['/var/log/*.log'], format: 'plain' as const },
];

export const configSchema = z
  .object({
    node_name: z.string().default(''),
    state_dir: z.string().startsWith('/', 'must be an absolute path').or(z.string().startsWith('.', 'must be absolute or start with ./')).default('/var/lib/warden'),
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') })
      .strict()
      .prefault({}),
    health: z.object({ listen: listenAddr.default('0.0.0.0:9880') }).strict().prefault({}),
    reload: z
      .object({
        watch_interval_ms: z.number().int().min(0).default(1000),
        watch_also: z.array(z.string().startsWith('/', 'must be an absolute path')).default([]),
      })
      .strict()
      .prefault({}),
    inputs: z
      .array(inputSchema)
      .default(defaultInputs)
      .superRefine((inputs, ctx) => {
        const seen = new Set<string>();
        inputs.forEach((input, i) => {
          if (seen.has(input.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: 'is used by another input', input: input.name });
          seen.add(input.name);
        });
      }),
    tail: z
      .object({
        read_from: z.enum(['head', 'end']).default('end'),
        exclude: z.array(z.string()).default([]),
        exclude_self: z.boolean().default(true),
        max_line_bytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(262144),
        max_open_files: z.number().int().min(8).default(1024),
        roots: z.array(z.string().startsWith('/', 'must be absolute')).default(['/var/log', '/var/lib/docker/containers']),
        rescan_interval_ms: z.number().int().min(100).default(5000),
        idle_close_s: z.number().positive().default(60),
        rotated_keep_s: z.number().positive().default(300),
        rotated_max_files: z.number().int().min(1).default(256),
        read_chunk_bytes: z.number().int().min(4096).max(16 * 1024 * 1024).default(256 * 1024),
        partial_flush_ms: z.number().int().min(10).default(5000),
        checkpoint_interval_ms: z.number().int().min(10).default(1000),
      })
      .strict()
      .prefault({}),
    forward: z
      .object({
        to: forwardTo.default('tcp://127.0.0.1:24224'),
        shared_key: z.string().min(1).default('auto'),
        batch_max_records: z.number().int().min(1).default(4096),
        batch_max_bytes: z.number().int().min(1024).default(512 * 1024),
        flush_interval_ms: z.number().int().min(1).default(DEFAULT_FLUSH_INTERVAL_MS),
        max_inflight_batches: z.number().int().min(1).default(8),
        ack_timeout_s: z.number().positive().default(30),
        connect_timeout_ms: z.number().int().min(10).default(5000),
        reject_limit: z.number().int().min(0).default(3),
      })
      .strict()
      .prefault({}),
    child: z
      .object({
        // --no-supervisor: warden is the supervisor; fluentd's own would be a second ~37 MiB process
        // whose SIGUSR2 (since 1.18) replaces it by a new one instead of reloading it.
        command: command.default(['fluentd', '--no-supervisor', '-c', '/etc/fluent/fluent.conf']),
        check_command: command.optional(),
        env: z.record(z.string(), z.string()).default({}),
        stop_signal: signal.default('SIGTERM'),
        reload_signal: signal.default('SIGUSR2'),
        stop_grace_s: z.number().min(0).default(30),
        hang_timeout_s: z.number().positive().default(60),
        // Lines of the child's output that say its own output cannot deliver (supervisor/backpressure.ts).
        backpressure_patterns: z.array(z.string().min(1).max(200)).max(16).default(FLUENTD_BACKPRESSURE_PATTERNS),
        ready_timeout_s: z.number().positive().default(60),
        restart: z
          .object({
            backoff_initial_ms: z.number().int().min(1).default(500),
            backoff_max_ms: z.number().int().min(1).default(30000),
            stable_after_s: z.number().min(0).default(60),
            degraded_after: z.number().int().min(1).default(5),
            give_up_after: z.number().int().min(1).nullable().default(null),
          })
          .strict()
          .prefault({})
          .refine((r) => r.backoff_max_ms >= r.backoff_initial_ms, {
            message: 'backoff_max_ms must be >= backoff_initial_ms',
            path: ['backoff_max_ms'],
          }),
      })
      .strict()
      .prefault({}),
    budgets: z
      .object({
        sample_interval_ms: z.number().int().min(100).default(1000),
        memory_sustain_s: z.number().min(0).default(2),
        cpu_sustain_s: z.number().min(0).default(10),
        cpu_action: z.enum(['throttle', 'duty_cycle', 'none']).default('throttle'),
        memory_hard_share: z.number().gt(0).max(1).default(0.9),
        agent_nice: z.number().int().min(0).max(19).default(5),
        child: budgetPair.optional(),
        agent: budgetPair.optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .transform(({ inputs, ...rest }) => ({
    ...rest,
    inputs: inputs.filter((i) => i.format !== 'journald').map(fileInput),
    journal: inputs.filter((i) => i.format === 'journald').map(journalInput),
  }));

/**
 * The child's commands as the operator wrote them, before `${ENV}` expansion: the only form that
 * is shown, since a secret may be passed into a command through a variable. Plain data on the
 * config, so that every copy of it (the pod's self-excludes, a reload's kept keys) carries it.
 */
export interface CommandsAsWritten {
  command: string[];
  check_command?: string[];
}

/** A parsed configuration; `as_written` is set by config/load.ts, absent where nothing was expanded. */
export type Config = z.infer<typeof configSchema> & { as_written?: CommandsAsWritten };

/** A file input; journald inputs are in `Config['journal']`. */
export type InputConfig = FileInputConfig;

/** Every key path the schema accepts (array elements as `[]`), for suggestions and the README check. */
export function describeKeys(): string[] {
  const out: string[] = [];
  const walk = (schema: z.ZodType, prefix: string) => {
    const obj = unwrapToObject(schema);
    if (obj) {
      for (const [k, v] of Object.entries(obj.shape)) {
        const p = prefix ? `${prefix}.${k}` : k;
        out.push(p);
        walk(v as z.ZodType, p);
      }
      return;
    }
    const arr = unwrapToArray(schema);
    if (arr) walk(arr.element as z.ZodType, `${prefix}[]`);
  };
  walk(configSchema, '');
  return out;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s: any = schema;
  for (let i = 0; i < 10; i++) {
    const def = s?._zod?.def;
    if (!def) break;
    if (def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else break;
  }
  return s;
}

export function unwrapToObject(schema: z.ZodType): z.ZodObject | null {
  const s = unwrap(schema);
  return s instanceof z.ZodObject ? s : null;
}

function unwrapToArray(schema: z.ZodType): z.ZodArray | null {
  const s = unwrap(schema);
  return s instanceof z.ZodArray ? s : null;
}
