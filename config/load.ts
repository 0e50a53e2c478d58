// Loading: find the file, parse YAML or JSON, expand ${ENV}, validate, apply defaults.
// Every problem is reported as `key.path: message (got VALUE)`; nothing is half-applied.
import { closeSync, constants as fsc, existsSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import { posix, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { resolveRoot } from '../agent/tail/confine.js';
import { compileGlob, isInside } from '../agent/tail/glob.js';
import { configSchema, describeKeys, type CommandsAsWritten, type Config } from './schema.js';

export const DEFAULT_CONFIG_PATH = '/etc/warden/warden.yaml';
/** A config file larger than this is refused unread (a real one is a few KiB). */
export const CONFIG_MAX_BYTES = 1024 * 1024;

/** Thrown when a configuration cannot be used; `errors` holds one line per problem. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly errors: string[],
  ) {
    super(`invalid configuration in ${source}:\n  ${errors.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: Config;
  /** The file it came from, or `built-in defaults`. */
  source: string;
}

/** `--config`, else $WARDEN_CONFIG, else /etc/warden/warden.yaml, else built-in defaults. */
export function resolveConfigPath(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string | null {
  if (explicit) return explicit;
  if (env.WARDEN_CONFIG) return env.WARDEN_CONFIG;
  if (existsSync(DEFAULT_CONFIG_PATH)) return DEFAULT_CONFIG_PATH;
  return null;
}

export function loadConfig(explicit?: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const path = resolveConfigPath(explicit, env);
  if (path === null) return { config: parseConfig({}, 'built-in defaults', env), source: 'built-in defaults' };
  return { config: parseConfigText(readConfigBytes(path).toString('utf8'), path, env), source: path };
}

/**
 * A config file's bytes, the one reader for check-config, `warden run`, reloads and the watcher
 * (warden's own file and `reload.watch_also`): only a regular file (symlinks followed: ConfigMaps
 * are mounted through them), at most CONFIG_MAX_BYTES, every error naming the file. A path that is
 * no regular file is refused before it is opened (opening a device can act on it); what was
 * opened is checked again, and opened O_NONBLOCK, so a FIFO swapped in meanwhile is refused, not
 * waited on — at start, and in a running warden, whose event loop must not stop.
 */
export function readConfigBytes(path: string): Buffer {
  const fail = (why: string): never => {
    throw new ConfigError(path, [`(file): ${why}`]);
  };
  const cannot = (err: unknown): never => fail(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  const regular = (st: Stats) => {
    if (!st.isFile()) fail(`${path} is not a regular file (a ${st.isDirectory() ? 'directory' : st.isFIFO() ? 'fifo' : st.isSocket() ? 'socket' : 'device'}); never read`);
  };
  const tooLarge = (): never => fail(`${path} is larger than the ${CONFIG_MAX_BYTES}-byte limit for a config file`);
  let fd: number;
  try {
    regular(statSync(path));
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    return cannot(err);
  }
  try {
    const st = fstatSync(fd);
    regular(st);
    if (st.size > CONFIG_MAX_BYTES) tooLarge();
    // Read past the stated size too (it can grow; files in /proc say 0), never past the limit:
    // one byte more tells "exactly the limit" from "more".
    let buf = Buffer.allocUnsafe(st.size + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (got > CONFIG_MAX_BYTES) tooLarge();
        const more = Buffer.allocUnsafe(Math.min(buf.length * 2, CONFIG_MAX_BYTES + 1));
        buf.copy(more, 0, 0, got);
        buf = more;
      }
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    if (got > CONFIG_MAX_BYTES) tooLarge();
    return buf.subarray(0, got);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    return cannot(err);
  } finally {
    closeSync(fd);
  }
}

export function parseConfigText(text: string, source: string, env: NodeJS.ProcessEnv = process.env): Config {
  let raw: unknown;
  try {
    // YAML is a superset of JSON, so one parser serves both. Its warnings are not printed: they
    // quote the source (an unknown tag, `!x`, is one), and the value is taken as yaml takes it.
    raw = parseYaml(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error' }) ?? {};
  } catch (err) {
    throw new ConfigError(source, [`(file): ${source} is not valid YAML or JSON: ${yamlProblem(err)}`]);
  }
  return parseConfig(raw, source, env);
}

/** What yaml's error codes mean, in words; other codes are shown as they are. */
const YAML_PROBLEMS: Record<string, string> = {
  BAD_INDENT: 'bad indentation',
  TAB_AS_INDENT: 'a tab used as indentation',
  DUPLICATE_KEY: 'a key given twice',
  UNEXPECTED_TOKEN: 'unexpected text',
  MISSING_CHAR: 'a missing character: a closing bracket or quote, a comma or a colon',
  BLOCK_AS_IMPLICIT_KEY: 'a mapping nested in a one-line one (a: b: c)',
  MULTILINE_IMPLICIT_KEY: 'a key over more than one line',
  BLOCK_IN_FLOW: 'an indented block inside [ ] or { }',
  BAD_DQ_ESCAPE: 'an invalid escape in a double-quoted string',
  BAD_SCALAR_START: 'a value starting with a reserved character',
  MULTIPLE_DOCS: 'more than one document',
};

/**
 * Where yaml found a problem (line and column) and of what kind (its error code), never the text:
 * yaml's messages quote the source, and a file given as --config by mistake (a shadow file, a
 * key) must not be echoed into the log or /status.
 */
function yamlProblem(err: unknown): string {
  if (err instanceof YAMLParseError) {
    const kind = YAML_PROBLEMS[err.code] ? `${YAML_PROBLEMS[err.code]} (${err.code})` : err.code;
    const at = err.linePos?.[0];
    return at ? `${kind} at line ${at.line}, column ${at.col}` : kind;
  }
  // Thrown while building values, without a position; the messages end in the alias's name.
  const message = err instanceof Error ? err.message : '';
  if (message.startsWith('Unresolved alias')) return 'an alias (*name) with no anchor (&name) before it';
  if (message.startsWith('Excessive alias count')) return 'too many aliases (a resource exhaustion attack?)';
  return `cannot be parsed (${err instanceof Error ? err.name : typeof err})`;
}

export function parseConfig(raw: unknown, source: string, env: NodeJS.ProcessEnv = process.env): Config {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    // Not the value: a file that is no config at all (a shadow file) reads as one string.
    throw new ConfigError(source, [`(root): must be a mapping of keys (got ${kindOf(raw)})`]);
  }
  const expanded = expandEnv(raw, env);
  const result = configSchema.safeParse(expanded);
  // Values are quoted as written: an expanded one may hold a secret passed in through a variable.
  if (!result.success) throw new ConfigError(source, formatIssues(result.error, raw));
  const config: Config = result.data;
  const explicitRoots = (expanded as { tail?: { roots?: unknown } }).tail?.roots !== undefined;
  config.tail.roots = config.tail.roots.map(normalizeDir);
  const outside = rootErrors(config, explicitRoots);
  if (outside.length > 0) throw new ConfigError(source, outside);
  config.as_written = asWritten(raw as RawChild, config);
  if (!config.node_name) config.node_name = hostname();
  if (config.state_dir.startsWith('.')) config.state_dir = resolve(config.state_dir);
  return config;
}

type RawChild = { child?: { command?: unknown; check_command?: unknown } };

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((a) => typeof a === 'string') ? [...v] : undefined);

/** The commands before ${ENV} expansion (the schema passed, so they are lists of strings where set). */
function asWritten(raw: RawChild, config: Config): CommandsAsWritten {
  const command = strings(raw.child?.command) ?? config.child.command;
  const check = strings(raw.child?.check_command);
  return check ? { command, check_command: check } : { command };
}

/**
 * A command of the child as written in the configuration (variables unexpanded): the form to show.
 * A config parsed without expansion shows its commands as they are.
 */
export function configuredCommand(config: Config, key: 'command'): string[];
export function configuredCommand(config: Config, key: 'check_command'): string[] | undefined;
export function configuredCommand(config: Config, key: 'command' | 'check_command'): string[] | undefined {
  if (config.as_written) return config.as_written[key];
  return config.child[key];
}

/**
 * Discovery never walks or watches outside the roots (DESIGN: roots = tail.roots plus the fixed
 * prefix of every input glob). With `tail.roots` set, every glob's prefix must lie inside one of
 * them; without, a prefix outside the default roots is a root of its own. A root or prefix of `/`
 * would allow the whole file system, and is always an error.
 */
export function rootErrors(config: Config, explicitRoots: boolean): string[] {
  const errors: string[] = [];
  const roots = config.tail.roots;
  roots.forEach((r, i) => {
    if (r.replace(/\/+$/, '') === '') errors.push(`tail.roots[${i}]: must not be / (the whole file system); name the log directories (got ${show(r)})`);
  });
  config.inputs.forEach((input, i) => {
    input.paths.forEach((glob, j) => {
      const prefix = compileGlob(glob).prefix;
      const key = `inputs[${i}].paths[${j}]`;
      if (prefix === '/') errors.push(`${key}: the glob's fixed prefix is / (the whole file system); start it with a directory inside tail.roots (got ${show(glob)})`);
      else if (explicitRoots && !roots.some((r) => isInside(prefix, r))) errors.push(`${key}: the glob's fixed prefix ${prefix} is outside every tail.roots entry (${roots.join(', ')}) (got ${show(glob)})`);
      else if (!roots.some((r) => isInside(prefix, r)) && resolveRoot(prefix) === '/') errors.push(`${key}: ${prefix} resolves to / (the whole file system); a glob's prefix outside tail.roots is a root of its own (got ${show(glob)})`);
    });
  });
  if (errors.length > 0) return errors;
  // What a root allows is what it resolves to: the same resolution the tailer makes.
  roots.forEach((r, i) => {
    if (resolveRoot(r) === '/') errors.push(`tail.roots[${i}]: ${r} resolves to / (the whole file system); name the log directories (got ${show(r)})`);
  });
  return errors;
}

/** An absolute directory as one spelling: `/var/log/`, `/var//log` and `/var/./log` are `/var/log`. */
function normalizeDir(dir: string): string {
  const n = posix.normalize(dir);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/** `${NAME}` or `${NAME:-default}`: what expandEnv replaces (groups: the name, the default). */
export const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Expands `${NAME}` and `${NAME:-default}` inside string values (never keys, never structure:
 * a variable cannot inject YAML). An unset variable without a default expands to the empty string.
 */
export function expandEnv<T>(value: T, env: NodeJS.ProcessEnv): T {
  if (typeof value === 'string') {
    return value.replace(ENV_REFERENCE, (_m, name: string, def?: string) => {
      const v = env[name];
      return v !== undefined && v !== '' ? v : (def ?? '');
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => expandEnv(v, env)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandEnv(v, env);
    return out as T;
  }
  return value;
}

function formatIssues(error: z.ZodError, input: unknown): string[] {
  const lines: string[] = [];
  const allKeys = describeKeys();
  for (const issue of error.issues) {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      // An unknown key's value is not shown, only its kind: it is no value of warden's (a
      // misspelt forward.shared_key holds a secret). Nor is a key that is no key name: a file
      // that is no config (a shadow file's lines read as keys) would be echoed.
      const names = issue.keys.filter((k) => KEY_NAME.test(k));
      for (const key of names) {
        const full = joinPath([...path, key]);
        const hint = suggest(full, allKeys);
        lines.push(`${full}: unknown key${hint ? `; did you mean ${hint}?` : ''} (got ${kindOf(valueAt(input, [...path, key]))})`);
      }
      const others = issue.keys.length - names.length;
      if (others > 0) lines.push(`${joinPath(path) || '(root)'}: unknown keys that are no key names; is this a warden configuration? (got ${others} such ${others === 1 ? 'key' : 'keys'}, not shown)`);
      continue;
    }
    const got = valueAt(input, path);
    let message = issue.message;
    if (issue.code === 'invalid_type' && got === undefined) message = 'is required';
    lines.push(`${joinPath(path) || '(root)'}: ${message} (got ${show(got)})`);
  }
  return lines;
}

/** What an unknown key that is shown looks like: a key name, possibly misspelt (`tail.read_frm`, `Log`). */
const KEY_NAME = /^[A-Za-z0-9_.-]{1,40}$/;

/** The kind of a value, for where the value itself is not shown. */
function kindOf(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'boolean') return 'a boolean';
  return `a ${typeof v}`;
}

function joinPath(path: (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number' || /^\d+$/.test(String(p))) out += `[${p}]`;
    else out += out ? `.${p}` : String(p);
  }
  return out;
}

function valueAt(input: unknown, path: (string | number | symbol)[]): unknown {
  let v: any = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = v[p as any];
  }
  return v;
}

/** Renders a user's value for an error line; long values are shortened. */
export function show(v: unknown): string {
  let s: string;
  if (v === undefined) s = 'nothing';
  else if (typeof v === 'string') s = JSON.stringify(v);
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = String(v);
    }
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** The nearest valid key, by edit distance on the full path and on the last segment. */
export function suggest(full: string, keys: string[]): string | null {
  const norm = (k: string) => k.replace(/\[\d+\]/g, '[]');
  const target = norm(full);
  const parent = target.includes('.') ? target.slice(0, target.lastIndexOf('.')) : '';
  const last = target.slice(target.lastIndexOf('.') + 1);
  let best: string | null = null;
  let bestScore = Infinity;
  for (const k of keys) {
    const kParent = k.includes('.') ? k.slice(0, k.lastIndexOf('.')) : '';
    const kLast = k.slice(k.lastIndexOf('.') + 1);
    // Prefer siblings: a typo is usually in the last segment.
    const score = kParent === parent ? levenshtein(last, kLast) : levenshtein(target, k) + 2;
    if (score < bestScore) {
      bestScore = score;
      best = k;
    }
  }
  if (best === null) return null;
  const limit = Math.max(2, Math.floor(last.length / 2));
  return bestScore <= limit ? best.replace(/\[\]/g, '[]') : null;
}

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}
