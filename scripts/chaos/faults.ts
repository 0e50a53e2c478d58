// Fault injection: the child kill -9'd every ~KILL_CHILD_EVERY_MS, warden kill -9'd once at
// KILL_WARDEN_AT_MS and restarted DOWN_MS later, after its orphaned child is killed.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { sleep } from '../lib/util.js';
import type { ChaosWarden } from './warden.js';

const KILL_CHILD_EVERY_MS = 4000;
const KILL_WARDEN_AT_MS = 12_000;
/** How long warden stays down after its kill -9 (a pod restart takes seconds). */
const DOWN_MS = 5000;

export interface FaultPlan {
  warden: ChaosWarden;
  forwardPort: number;
  t0: number;
  deadline: number;
  r: () => number;
  log: (s: string) => void;
}

/** Injects faults until the deadline; returns how many of each it did. */
export async function injectFaults(p: FaultPlan): Promise<Record<string, number>> {
  const actions: Record<string, number> = { kill_child: 0, kill_warden: 0 };
  let nextChildKill = Date.now() + KILL_CHILD_EVERY_MS;
  let wardenKilled = false;
  while (Date.now() < p.deadline) {
    await sleep(250);
    if (!wardenKilled && Date.now() - p.t0 >= KILL_WARDEN_AT_MS) {
      wardenKilled = true;
      actions.kill_warden!++;
      await restartWarden(p);
      continue;
    }
    if (Date.now() < nextChildKill) continue;
    nextChildKill = Date.now() + KILL_CHILD_EVERY_MS - 500 + Math.floor(p.r() * 1000);
    const pid = await p.warden.childPid();
    if (pid) {
      actions.kill_child!++;
      p.log(`kill -9 child ${pid}`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
  return actions;
}

async function restartWarden(p: FaultPlan): Promise<void> {
  p.log(`kill -9 warden (instance ${p.warden.instance})`);
  await p.warden.kill9();
  // Its child is now an orphan still holding the Forward port: kill it the way a container
  // runtime would tear the pod down, then start warden again. Writes and rotations go on
  // meanwhile: DOWN_MS covers a rotation of every file, so some are created, written and
  // rotated while warden is not looking.
  await sleep(DOWN_MS);
  killPort(p.forwardPort);
  p.warden.start();
}

/** Inodes of the sockets listening on port `port` (any address). */
function listeningInodes(port: number): Set<string> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A') inodes.add(cols[9]!);
      }
    } catch {}
  }
  return inodes;
}

/** Kills the process group of whatever listens on 127.0.0.1:port (the orphaned child of a kill -9'd warden). */
function killPort(port: number): void {
  const inodes = listeningInodes(port);
  if (!inodes.size) return;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSafe(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) {
          process.kill(-Number(pid), 'SIGKILL');
          break;
        }
      }
    } catch {}
  }
}

function readlinkSafe(p: string): string {
  try {
    return readlinkSync(p);
  } catch {
    return '';
  }
}
