// What a command's `${VAR}` references expanded to, so that text a command printed (a check
// command's verdict names its arguments: "invalid option --token=…") can be shown with the
// references in place of the values, like the command itself.
import { ENV_REFERENCE } from '../../config/load.js';
import type { ShownCommand } from './options.js';

/** Shorter values are left in place: they are no secret, and would hit unrelated text. */
const MIN_VALUE_CHARS = 4;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Each expanded value of `cmd.run` with the text to show instead, longest first: the value of each
 * reference where the argument's literal parts tell them apart, and every changed argument whole.
 */
export function expansions(cmd: ShownCommand): Array<[value: string, shown: string]> {
  const out = new Map<string, string>();
  cmd.shown.forEach((shown, i) => {
    const run = cmd.run[i];
    if (run === undefined || run === shown) return;
    out.set(run, shown);
    const refs = [...shown.matchAll(ENV_REFERENCE)];
    const literals: string[] = [];
    let at = 0;
    for (const r of refs) {
      literals.push(shown.slice(at, r.index));
      at = r.index + r[0].length;
    }
    literals.push(shown.slice(at));
    const m = new RegExp(`^${literals.map(escape).join('([\\s\\S]*?)')}$`).exec(run);
    refs.forEach((ref, j) => {
      const value = m?.[j + 1];
      if (value && !out.has(value)) out.set(value, ref[0]);
    });
  });
  return [...out].filter(([v]) => v.length >= MIN_VALUE_CHARS).sort((a, b) => b[0].length - a[0].length);
}

/** `text` with every expanded value of `cmd` replaced by its reference. */
export function redact(text: string, cmd: ShownCommand): string {
  return redactWith(text, expansions(cmd));
}

/** `text` with each value replaced by what is shown instead (pairs longest value first). */
export function redactWith(text: string, pairs: Array<[value: string, shown: string]>): string {
  return compileRedaction(pairs)(text);
}

/**
 * A function that replaces each value of `pairs` (longest first) by what is shown instead, made
 * once (for a child start) and applied to every line the child prints, nearly all of which hold
 * none. Only the values that hold no other value are looked for (a value is present only if
 * those it holds are: `--token=abcd` only with `abcd`), each by a plain substring search, which
 * stays fast on a long line where a regular expression of alternatives does not. A line with one
 * is rewritten in one pass: where two values could match at one place the longer wins, and what
 * a value is replaced by is never searched again. No pairs, no work at all.
 */
export function compileRedaction(pairs: Array<[value: string, shown: string]>): (text: string) => string {
  if (pairs.length === 0) return (text) => text;
  const shown = new Map(pairs);
  const values = [...shown.keys()];
  const atoms = values.filter((v) => !values.some((o) => o !== v && v.includes(o)));
  const each = new RegExp(values.map(escape).join('|'), 'g');
  return (text) => {
    for (const atom of atoms) if (text.includes(atom)) return text.replace(each, (value) => shown.get(value)!);
    return text;
  };
}

/** Variables warden makes up and hands the child that are secrets. */
const SECRET_ENV = ['WARDEN_FORWARD_SHARED_KEY'];

/**
 * What a child's own output must not carry into warden's log: the expanded values of its
 * command's `${VAR}` references, and the secrets warden hands it in its environment (the Forward
 * shared key), each shown as its reference. Other variables of `child.env` are configuration,
 * not secrets: a `LOG_LEVEL: info` must not turn every "info" the child prints into a reference.
 */
export function childOutputPairs(cmd: ShownCommand, env: Record<string, string>): Array<[value: string, shown: string]> {
  const pairs = new Map(expansions(cmd));
  for (const key of SECRET_ENV) {
    const value = env[key];
    if (value !== undefined && value.length >= MIN_VALUE_CHARS && !pairs.has(value)) pairs.set(value, `\${${key}}`);
  }
  return [...pairs].sort((a, b) => b[0].length - a[0].length);
}
