// The growth verdict. Within the longest-lived warden instance, its steady phase (after 20 s of
// warm-up, first half) against its late phase (last quarter): RSS may not rise past 1.25× + 8 MiB
// and descriptors other than log files by more than 16. Descriptors on log files are judged once
// everything is delivered: more than one per live file is a leak.
import type { Sample } from './probe.js';

export interface Growth {
  rss: { startKiB: number; endKiB: number; steadyMaxKiB: number; lateMaxKiB: number };
  fds: { start: number; end: number; steadyMax: number; lateMax: number };
  /** Descriptors other than log files: steady max → late max. */
  otherFds: { steadyMax: number; lateMax: number };
  /** Log-file descriptors once everything was delivered and rotated files settled, and the live files. */
  logFdsAfterDrain: { held: number; live: number };
  grew: boolean;
}

const max = (xs: number[]) => (xs.length ? Math.max(...xs) : 0);

/** The samples of the instance sampled most often. */
function longestInstance(samples: Sample[]): Sample[] {
  const byInstance = new Map<number, Sample[]>();
  for (const s of samples) byInstance.set(s.instance, [...(byInstance.get(s.instance) ?? []), s]);
  return [...byInstance.values()].sort((a, b) => b.length - a.length)[0] ?? [];
}

export function growth(samples: Sample[], logFdsAfterDrain: { held: number; live: number }): Growth {
  const longest = longestInstance(samples);
  const warm = longest.filter((s) => s.t - longest[0]!.t >= 20_000);
  const half = warm.slice(0, Math.max(1, Math.floor(warm.length / 2)));
  const late = warm.slice(Math.floor((warm.length * 3) / 4));
  const rss = {
    startKiB: samples[0]?.rssKiB ?? 0,
    endKiB: samples.at(-1)?.rssKiB ?? 0,
    steadyMaxKiB: max(half.map((s) => s.rssKiB)),
    lateMaxKiB: max(late.map((s) => s.rssKiB)),
  };
  const fds = { start: samples[0]?.fds ?? 0, end: samples.at(-1)?.fds ?? 0, steadyMax: max(half.map((s) => s.fds)), lateMax: max(late.map((s) => s.fds)) };
  const other = (xs: Sample[]) => max(xs.map((s) => s.fds - s.logFds));
  const otherFds = { steadyMax: other(half), lateMax: other(late) };
  const grew =
    (warm.length >= 8 && (rss.lateMaxKiB > rss.steadyMaxKiB * 1.25 + 8192 || otherFds.lateMax > otherFds.steadyMax + 16)) ||
    logFdsAfterDrain.held > logFdsAfterDrain.live;
  return { rss, fds, otherFds, logFdsAfterDrain, grew };
}
