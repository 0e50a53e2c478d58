// The journalctl command line for one journald input. Pure.
import type { JournalInputConfig } from '../../config/schema.js';

/** Where reading starts: after a committed cursor, at a time (the very first start with read_from end), or at the head. */
export type JournalPosition = { cursor: string } | { sinceS: number } | { head: true };

export interface JournalctlCommand {
  args: string[];
  /**
   * True when journalctl keeps running and prints new entries (`--follow`). False for
   * `journal_files`: journalctl cannot follow single files (sd_journal_open_files has no change
   * notification; `--follow --file` fails with "Failed to get journal fd"), so it reads to the end
   * and exits, and is run again later from the cursor.
   */
  follow: boolean;
}

/**
 * `--output=json --all` (every field in full: without --all, fields over 4096 bytes are null),
 * `--follow --no-tail` (with --follow alone journalctl starts at the last 10 entries), the journal
 * to read, where to start, then the matches: each unit as `_SYSTEMD_UNIT=<unit>` (one field: ORed),
 * then `+` and the configured matches, so that an entry is read when it is from one of the units or
 * satisfies the matches. (`--unit=` is not used: journalctl ANDs it with the other matches.)
 */
export function journalctlArgs(input: JournalInputConfig, position: JournalPosition): JournalctlCommand {
  const follow = input.journal_files === undefined;
  const args = ['--output=json', '--all', '--no-pager'];
  if (follow) args.push('--follow', '--no-tail');
  if (input.journal_dir !== undefined) args.push(`--directory=${input.journal_dir}`);
  for (const f of input.journal_files ?? []) args.push(`--file=${f}`);
  if ('cursor' in position) args.push(`--after-cursor=${position.cursor}`);
  else if ('sinceS' in position) args.push(`--since=@${Math.floor(position.sinceS)}`);
  const units = input.units.map((u) => `_SYSTEMD_UNIT=${u}`);
  args.push(...units);
  if (units.length > 0 && input.matches.length > 0) args.push('+');
  args.push(...input.matches);
  return { args, follow };
}
