// deploy/docker: no Docker engine here, so the image recipe is checked for its key lines only;
// fluent.conf is checked against the warden.yaml shipped beside it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../config/load.js';

const root = join(import.meta.dirname, '../../..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const dockerfile = read('deploy/docker/Dockerfile');
const fluentConf = read('deploy/docker/fluent.conf');
const config = parseConfigText(read('deploy/docker/warden.yaml'), 'deploy/docker/warden.yaml', {});

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function instructions(text: string): string[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}
const lines = instructions(dockerfile);
const stage = (i: number) => {
  const froms = lines.map((l, n) => (l.startsWith('FROM ') ? n : -1)).filter((n) => n >= 0);
  return lines.slice(froms[i], froms[i + 1]);
};

/** The body of the first `<tag …>` … `</tag>` section. */
function section(text: string, tag: string): string {
  const m = new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`).exec(text);
  if (!m) throw new Error(`fluent.conf has no <${tag}> section`);
  return m[1]!;
}
const directive = (body: string, key: string) => new RegExp(`^\\s*${key}\\s+(.+?)\\s*$`, 'm').exec(body)?.[1];

describe('Dockerfile (static check of key lines: no Docker engine here)', () => {
  it('builds the single executable with Node 24 in a build stage', () => {
    const build = stage(0);
    expect(build[0]).toMatch(/^FROM node:24[^ ]* AS build$/);
    expect(build.some((l) => /RUN npm ci .*--ignore-scripts/.test(l))).toBe(true);
    expect(build.some((l) => /RUN npm run build:binary/.test(l))).toBe(true);
  });

  it('runs on a Ruby base with fluentd from gems, tini and the binary', () => {
    const run = stage(1);
    expect(run[0]).toMatch(/^FROM ruby:[^ ]*slim/);
    expect(run.some((l) => /gem install .*fluentd/.test(l))).toBe(true);
    expect(run.some((l) => /apt-get install .*\btini\b/.test(l))).toBe(true);
    expect(run).toContain('COPY --from=build /src/dist/warden /usr/local/bin/warden');
  });

  it('puts the configs where warden.yaml and the child command expect them, 0640: readable by group 0, not by others', () => {
    // They will hold output credentials. COPY makes them root:root; the image's user is in group 0.
    expect(lines).toContain('COPY --chmod=0640 deploy/docker/warden.yaml /etc/warden/warden.yaml');
    const c = config.child.command;
    expect(lines).toContain(`COPY --chmod=0640 deploy/docker/fluent.conf ${c[c.indexOf('-c') + 1]}`);
    expect(lines.filter((l) => l.startsWith('USER ')).pop()).toMatch(/^USER \d+:0$/);
    expect(lines).toContain('CMD ["--config", "/etc/warden/warden.yaml"]');
  });

  it('tini in front of warden run; HEALTHCHECK with warden probe', () => {
    expect(lines).toContain('ENTRYPOINT ["tini", "--", "/usr/local/bin/warden", "run"]');
    const hc = lines.find((l) => l.startsWith('HEALTHCHECK'));
    expect(hc).toMatch(/CMD \["\/usr\/local\/bin\/warden", "probe", "live"\]$/);
  });

  it('runs as a non-root user that owns the state dir', () => {
    const user = lines.filter((l) => l.startsWith('USER ')).pop();
    expect(user).toBeDefined();
    const uid = user!.slice(5).split(':')[0]!;
    expect(uid).not.toMatch(/^(0|root)$/);
    expect(lines.some((l) => l.includes(`chown ${uid}`) && l.includes(config.state_dir))).toBe(true);
  });
});

describe('fluent.conf agrees with warden.yaml', () => {
  const source = section(fluentConf, 'source');

  it('in_forward on loopback, at the port forward.to names', () => {
    expect(directive(source, '@type')).toBe('forward');
    expect(directive(source, 'bind')).toBe('127.0.0.1');
    expect(config.forward.to).toBe(`tcp://127.0.0.1:${directive(source, 'port')}`);
  });

  it('the shared key comes from $WARDEN_FORWARD_SHARED_KEY', () => {
    expect(config.forward.shared_key).not.toBe('none');
    const security = section(source, 'security');
    expect(directive(security, 'shared_key')).toBe(`"#{ENV['WARDEN_FORWARD_SHARED_KEY']}"`);
    expect(directive(security, 'self_hostname')).toBeDefined();
  });

  it('a file buffer under state_dir, and an example output that is not printed back into the tailed logs', () => {
    // fluentd's own events go to @FLUENT_LOG (dropped there), not to the example output.
    const label = /<label @FLUENT_LOG>([\s\S]*?)<\/label>/.exec(fluentConf);
    expect(label).not.toBeNull();
    expect(label![1]).toMatch(/<match fluent\.\*\*>\s*@type null\s*<\/match>/);
    const match = section(fluentConf.replace(label![0], ''), 'match');
    expect(directive(match, '@type')).toBe('null');
    const buffer = section(match, 'buffer');
    expect(directive(buffer, '@type')).toBe('file');
    expect(directive(buffer, 'path')!.startsWith(`${config.state_dir}/`)).toBe(true);
  });
});
