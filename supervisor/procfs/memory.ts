// A process's memory as /proc tells it: `smaps_rollup` (RSS and PSS) and `status` (VmRSS,
// RssAnon). Values there are in kB; these return bytes.

/** Rss and Pss out of /proc/<pid>/smaps_rollup. */
export function parseSmapsRollup(text: string): { rssBytes: number; pssBytes: number } | null {
  const rss = kbField(text, 'Rss');
  const pss = kbField(text, 'Pss');
  return rss === null || pss === null ? null : { rssBytes: rss, pssBytes: pss };
}

/** VmRSS out of /proc/<pid>/status; null for kernel threads and zombies. */
export function parseStatusVmRss(text: string): number | null {
  return kbField(text, 'VmRSS');
}

/** RssAnon out of /proc/<pid>/status: memory only swap or exit gives back (not file pages of the binary). */
export function parseStatusRssAnon(text: string): number | null {
  return kbField(text, 'RssAnon');
}

function kbField(text: string, key: string): number | null {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : null;
}
