// Issue 15 item 13: what is wrong with a config is said without its content. A file given as
// --config by mistake (a shadow file, a credentials file) must not be echoed into check-config's
// errors, the log or /status: YAML errors name the file, the line and column and the kind of
// problem; an unknown key's value is shown by its kind, and a key that is no key name not at all.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../config/load.js';
import { configTextErrors } from '../../support/config.js';

const MARK = 'hunter2';

/** The errors of `text` read as `mistake.yaml`, the name each message must give the file by. */
const errorsOf = (text: string) => configTextErrors(text, {}, 'mistake.yaml');

let warnings: string[] = [];
const onWarning = (w: Error) => warnings.push(w.message);
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});

// [what, text, the error lines expected]
const cases: Array<[string, string, string[]]> = [
  [
    'a shadow file (its lines end in ":", so YAML reads them as keys)',
    `root:$6$${MARK}salt$Zq0:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n`,
    ['(root): unknown keys that are no key names; is this a warden configuration? (got 2 such keys, not shown)'],
  ],
  ['a one-line shadow entry (one string)', `root:$6$${MARK}salt$Zq0:19000:0:99999:7\n`, ['(root): must be a mapping of keys (got a string)']],
  ['a misspelt forward.shared_key', `forward: { shared_kye: ${MARK} }\n`, ['forward.shared_kye: unknown key; did you mean forward.shared_key? (got a string)']],
  ['a credentials file', `aws_secret_access_key: ${MARK}\n`, ['aws_secret_access_key: unknown key (got a string)']],
  ['a block scalar header with text after it', `x: |${MARK}\n  a\n`, ['(file): mistake.yaml is not valid YAML or JSON: unexpected text (UNEXPECTED_TOKEN) at line 1, column 5']],
  ['an alias without its anchor', `log: *${MARK}\n`, ['(file): mistake.yaml is not valid YAML or JSON: an alias (*name) with no anchor (&name) before it']],
  ['an invalid escape', `log: "\\x${MARK}"\n`, ['(file): mistake.yaml is not valid YAML or JSON: an invalid escape in a double-quoted string (BAD_DQ_ESCAPE) at line 1, column 7']],
  ['a key given twice', `${MARK}: 1\n${MARK}: 2\n`, ['(file): mistake.yaml is not valid YAML or JSON: a key given twice (DUPLICATE_KEY) at line 2, column 1']],
  ['a mapping nested in a one-line one', `log: level: ${MARK}\n`, ['(file): mistake.yaml is not valid YAML or JSON: a mapping nested in a one-line one (a: b: c) (BLOCK_AS_IMPLICIT_KEY) at line 1, column 6']],
];

describe('config errors never quote the file', () => {
  it.each(cases)('%s', (_what, text, expected) => {
    const errors = errorsOf(text);
    expect(errors).toEqual(expected);
    expect(errors.join('\n')).not.toContain(MARK);
  });

  it('an unknown tag is no warning printed with its line', async () => {
    expect(parseConfigText(`log: !${MARK} { level: debug }\n`, 'tagged.yaml', {}).log.level).toBe('debug');
    // process.emitWarning emits on the next tick.
    await new Promise((r) => setImmediate(r));
    expect(warnings).toEqual([]);
  });

  it('a typed key still shows the value it was given', () => {
    expect(errorsOf('tail: { read_from: middle }\n')).toEqual([expect.stringMatching(/^tail\.read_from: .*\(got "middle"\)$/)]);
  });
});
