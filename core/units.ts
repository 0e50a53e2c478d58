// Quantities as warden writes them for people: memory in binary units, CPU in millicores, time
// in seconds. Pure; each format is written here once. `-` stands for an unknown value.
export const KIB = 1024;
export const MIB = 1024 * 1024;

type Maybe = number | null | undefined;

/** `152.0Mi`: Kubernetes' suffix, one decimal; the columns of `warden status`. */
export function mi(bytes: Maybe): string {
  return bytes == null ? '-' : `${(bytes / MIB).toFixed(1)}Mi`;
}

/** `165Mi`, `12.5Mi`: as `mi`, a whole number without its `.0`; the budgets' `how` line. */
export function miCompact(bytes: number): string {
  return `${+(bytes / MIB).toFixed(1)}Mi`;
}

/** `152.0MiB`: memory in the budget policy's reasons. */
export function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)}MiB`;
}

/** `512 B`, `1.5 KiB`, `3.2 MiB`: file sizes and lag. */
export function size(bytes: number): string {
  if (bytes < KIB) return `${bytes} B`;
  if (bytes < MIB) return `${(bytes / KIB).toFixed(1)} KiB`;
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

/** `64KiB/s`, rounded to whole KiB. */
export function kibPerSec(bytesPerSec: number): string {
  return `${Math.round(bytesPerSec / KIB)}KiB/s`;
}

/** `150m`. */
export function millicores(n: Maybe): string {
  return n == null ? '-' : `${n}m`;
}

/** `2.5s` for 2500 ms. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** `4.2s`, `45s`, `12m`, `3h`: an age, coarser as it grows. */
export function age(secondsAgo: number): string {
  if (secondsAgo < 10) return `${secondsAgo.toFixed(1)}s`;
  if (secondsAgo < 120) return `${Math.round(secondsAgo)}s`;
  if (secondsAgo < 7200) return `${Math.round(secondsAgo / 60)}m`;
  return `${Math.round(secondsAgo / 3600)}h`;
}

/** `76%` for 0.76. */
export function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}
