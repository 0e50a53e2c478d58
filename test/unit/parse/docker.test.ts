import { describe, expect, it } from 'vitest';
import { parseDocker, parseDockerFast, parseDockerJson } from '../../../agent/parse/docker.js';
import { cases, NOW } from '../../fixtures/parse/cases.js';
import { mutate, randomText, rng } from '../../fixtures/parse/random.js';

const dockerCases = cases.filter((c) => c.format === 'docker');

describe('parseDocker fast path', () => {
  it('takes the common lines docker writes without the full JSON parse', () => {
    const lines = [
      '{"log":"plain, unicode é 😀\\n","stream":"stdout","time":"2026-11-27T18:00:00.123456789Z"}',
      '{"log":"no newline: partial","stream":"stderr","time":"2026-11-27T18:00:00Z"}',
      '{"log":"","stream":"stdout","time":"2026-11-27T18:00:00Z"}',
    ];
    for (const line of lines) expect(parseDockerFast(line), line).not.toBeNull();
    expect(parseDockerFast(lines[0]!)).toStrictEqual({ sec: 1_795_802_400, nsec: 123_456_789, stream: 'stdout', content: 'plain, unicode é 😀', partial: false });
    expect(parseDockerFast(lines[1]!)).toStrictEqual({ sec: 1_795_802_400, nsec: 0, stream: 'stderr', content: 'no newline: partial', partial: true });
  });

  it('declines what it cannot decode exactly, so the JSON path decides', () => {
    for (const line of [
      String.raw`{"log":"q \"x\"\n","stream":"stdout","time":"2026-11-27T18:00:00Z"}`,
      `{"log":"${'x'.repeat(5000)}\\n","stream":"stdout","time":"2026-11-27T18:00:00Z"}`,
      '{"log":"a\\n","stream":"stdout","attrs":{"k":"v"},"time":"2026-11-27T18:00:00Z"}',
      '{"log":"a\\n","stream":"std\\u006fut","time":"2026-11-27T18:00:00Z"}',
      '{"log":"a\\n","stream":"stdout","time":"2026-11-27T18:00:00Z"} ',
      '{"log":"raw\ttab\\n","stream":"stdout","time":"2026-11-27T18:00:00Z"}',
      '{"log":"a\\n","stream":"stdout","time":"\\u0032026-11-27T18:00:00Z"}',
    ]) {
      expect(parseDockerFast(line), line).toBeNull();
    }
    // An escaped time is still a valid docker line: the JSON path reads it.
    expect(parseDocker('{"log":"a\\n","stream":"stdout","time":"\\u0032026-11-27T18:00:00Z"}', 0, 0)).toStrictEqual({
      sec: 1_795_802_400, nsec: 0, stream: 'stdout', content: 'a', partial: false,
    });
  });

  it('decodes any log text exactly as JSON.parse does (random text, round trip)', () => {
    const next = rng(1);
    for (let i = 0; i < 3000; i++) {
      const text = randomText(next, 40);
      const line = `{"log":${JSON.stringify(text)},"stream":"stdout","time":"2026-11-27T18:00:00.5Z"}`;
      const f = parseDocker(line, NOW.sec, NOW.nsec);
      const partial = !text.endsWith('\n');
      expect(f).toStrictEqual({ sec: 1_795_802_400, nsec: 500_000_000, stream: 'stdout', content: partial ? text : text.slice(0, -1), partial });
    }
  });

  it('agrees with the JSON path on mutated lines and never throws', () => {
    const next = rng(2);
    const seeds = dockerCases.flatMap((c) => c.lines).filter((l) => l.length < 2000);
    let fastTaken = 0;
    // Half the lines are mutated anywhere; half only inside the escaped log text, which keeps
    // the docker shape and so exercises the fast path's own string scanning.
    const bodies = ['plain text é 😀 ok\\n', 'partial text, no newline', String.raw`ends with \\`, String.raw`x\u000a`, String.raw`a\"b\n`];
    for (let i = 0; i < 5000; i++) {
      const line =
        i % 2 === 0
          ? mutate(next, seeds[i % seeds.length]!)
          : `{"log":"${mutate(next, bodies[i % bodies.length]!)}","stream":"stdout","time":"2026-11-27T18:00:00Z"}`;
      const viaJson = parseDockerJson(line, NOW.sec, NOW.nsec);
      expect(parseDocker(line, NOW.sec, NOW.nsec), line).toStrictEqual(viaJson);
      if (parseDockerFast(line)) fastTaken++;
      if (viaJson.parseError) expect(viaJson.content).toBe(line);
    }
    // The comparison is only worth something if the fast path decided a good share of them.
    expect(fastTaken).toBeGreaterThan(500);
  });
});

describe('parseDocker never throws', () => {
  it('attrs nested 5,000 deep (JSON.stringify overflows its stack): the raw line as a parse error', () => {
    let deep = '1';
    for (let i = 0; i < 5000; i++) deep = `{"a":${deep}}`;
    const line = `{"log":"x\\n","stream":"stdout","time":"2026-11-27T18:00:00Z","attrs":{"k":${deep}}}`;
    expect(parseDocker(line, NOW.sec, NOW.nsec)).toStrictEqual({ sec: NOW.sec, nsec: NOW.nsec, stream: 'stdout', content: line, partial: false, parseError: true });
  });
});
