import { describe, expect, it } from 'vitest';
import { journalctlArgs } from '../../../agent/journal/args.js';

const base = { name: 'j', units: ['kubelet.service', 'containerd.service'], matches: [] as string[] };

describe('journalctl arguments', () => {
  it('follows the system journal from the head, units as _SYSTEMD_UNIT matches', () => {
    expect(journalctlArgs(base, { head: true })).toEqual({
      args: ['--output=json', '--all', '--no-pager', '--follow', '--no-tail', '_SYSTEMD_UNIT=kubelet.service', '_SYSTEMD_UNIT=containerd.service'],
      follow: true,
    });
  });

  it('resumes after a cursor, or from a time; reads a directory', () => {
    const { args } = journalctlArgs({ ...base, journal_dir: '/var/log/journal' }, { cursor: 's=1;i=2' });
    expect(args).toContain('--directory=/var/log/journal');
    expect(args).toContain('--after-cursor=s=1;i=2');
    expect(journalctlArgs(base, { sinceS: 1700000000.7 }).args).toContain('--since=@1700000000');
  });

  it('ORs units with the matches through +, and keeps the matches as given', () => {
    const { args } = journalctlArgs({ ...base, units: ['kubelet.service'], matches: ['SYSLOG_IDENTIFIER=a', '+', '_COMM=b'] }, { head: true });
    expect(args.slice(-5)).toEqual(['_SYSTEMD_UNIT=kubelet.service', '+', 'SYSLOG_IDENTIFIER=a', '+', '_COMM=b']);
    expect(journalctlArgs({ ...base, units: [], matches: ['_COMM=b'] }, { head: true }).args.slice(-1)).toEqual(['_COMM=b']);
  });

  it('journal_files: no --follow (journalctl cannot follow single files), one --file each', () => {
    const c = journalctlArgs({ ...base, journal_files: ['/a.journal', '/b.journal'] }, { head: true });
    expect(c.follow).toBe(false);
    expect(c.args).not.toContain('--follow');
    expect(c.args).toEqual(expect.arrayContaining(['--file=/a.journal', '--file=/b.journal']));
  });
});
