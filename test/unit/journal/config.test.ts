import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../config/load.js';
import { configTextErrors as errorsOf } from '../../support/config.js';

describe('journald inputs in the config', () => {
  it('are split from the file inputs', () => {
    const c = parseConfigText(
      'inputs:\n  - { name: host, paths: [/var/log/*.log], format: plain }\n  - { name: node, format: journald, units: [kubelet.service], journal_dir: /var/log/journal }\n',
      't.yaml',
      {},
    );
    expect(c.inputs).toEqual([{ name: 'host', paths: ['/var/log/*.log'], format: 'plain' }]);
    expect(c.journal).toEqual([{ name: 'node', units: ['kubelet.service'], matches: [], journal_dir: '/var/log/journal' }]);
  });

  it('refuses mixed-up keys, naming each', () => {
    expect(errorsOf('inputs:\n  - { name: a, format: journald }\n')).toEqual(['inputs[0].units: format: journald needs units or matches (got nothing)']);
    expect(errorsOf('inputs:\n  - { name: a, format: journald, units: [k.service], paths: [/x/*.log] }\n')).toEqual([
      'inputs[0].paths: is not for format: journald (select entries with units or matches) (got ["/x/*.log"])',
    ]);
    expect(errorsOf('inputs:\n  - { name: a, paths: [/x/*.log], units: [k.service] }\n')).toEqual(['inputs[0].units: is only for format: journald (got ["k.service"])']);
    expect(errorsOf('inputs:\n  - { name: a, format: journald, units: [k], journal_dir: /j, journal_files: [/j/a.journal] }\n')).toEqual([
      'inputs[0].journal_files: journal_dir and journal_files exclude each other (got ["/j/a.journal"])',
    ]);
    expect(errorsOf('inputs:\n  - { name: a, format: journald, matches: [+, "_COMM=x"] }\n')).toEqual(['inputs[0].matches: + goes only between two matches (got ["+","_COMM=x"])']);
    expect(errorsOf('inputs:\n  - { name: a, format: journald, matches: [comm=x] }\n')[0]).toMatch(/^inputs\[0\]\.matches\[0\]: must be FIELD=value/);
    expect(errorsOf('inputs:\n  - { name: a, format: journald, units: ["a=b"] }\n')[0]).toMatch(/^inputs\[0\]\.units\[0\]: must be a unit name/);
    expect(errorsOf('inputs:\n  - { name: a, format: journald, units: [k], journal_dir: rel }\n')[0]).toMatch(/^inputs\[0\]\.journal_dir: must be an absolute path/);
  });
});
