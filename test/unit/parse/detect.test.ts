import { describe, expect, it } from 'vitest';
import { detectFormat } from '../../../agent/parse/detect.js';
import { cases } from '../../fixtures/parse/cases.js';
import { parseCri } from '../../../agent/parse/cri.js';
import { parseDocker } from '../../../agent/parse/docker.js';
import { parseHostLine } from '../../../agent/parse/plain.js';

const parsers = { docker: parseDocker, cri: parseCri, plain: parseHostLine };

describe('detectFormat', () => {
  it.each(cases.filter((c) => c.lines[0] !== '').map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(detectFormat(Buffer.from(c.lines[0]!, 'utf8')[0]!)).toBe(c.detectsAs ?? c.format);
  });

  it('a wrong guess loses nothing: the guessed parser ships the raw line as a parse error', () => {
    for (const c of cases.filter((x) => x.detectsAs)) {
      const f = parsers[c.detectsAs!](c.lines[0]!, 1, 2);
      expect(f).toMatchObject({ parseError: true, content: c.lines[0] });
    }
  });

  it('bytes: { docker, digits cri, anything else plain', () => {
    expect(detectFormat(0x7b)).toBe('docker');
    for (let d = 0x30; d <= 0x39; d++) expect(detectFormat(d)).toBe('cri');
    for (const b of [0x00, 0x20, 0x2f, 0x3a, 0x5b, 0xef /* UTF-8 BOM */, 0xff]) expect(detectFormat(b)).toBe('plain');
  });
});
