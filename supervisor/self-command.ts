// `warden` as a child's program name means this warden itself (e.g. `[warden, sink]`, the
// embedded default child): the same runtime and script under node, or the same binary when
// warden runs as a single executable. Nothing is looked up on $PATH for it.

export interface SelfInfo {
  execPath: string;
  execArgv: string[];
  /** The script node runs (process.argv[1]); unused inside a single executable. */
  script: string | undefined;
  isSea: boolean;
}

export const SELF_PROGRAM = 'warden';

/** `{file, args}` to spawn for `cmd`; `cmd[0] === 'warden'` resolves to this process's own program. */
export function resolveCommand(cmd: string[], self: SelfInfo = currentSelf()): { file: string; args: string[] } {
  const [program, ...rest] = cmd;
  if (program === undefined || program === '') throw new Error('child.command: must name a program (got [])');
  if (program !== SELF_PROGRAM) return { file: program, args: rest };
  if (self.isSea || !self.script) return { file: self.execPath, args: rest };
  return { file: self.execPath, args: [...self.execArgv, self.script, ...rest] };
}

export function currentSelf(): SelfInfo {
  return { execPath: process.execPath, execArgv: process.execArgv, script: process.argv[1], isSea: runningAsSea() };
}

/**
 * `node:sea` exists from Node 20.12; older runtimes and bundles without `require` must not fail
 * here, so the module is fetched through `process.getBuiltinModule` (Node ≥ 20.16) when present.
 */
export function runningAsSea(): boolean {
  try {
    const get = (process as unknown as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
    const sea = get?.call(process, 'node:sea') as { isSea?: () => boolean } | undefined;
    return sea?.isSea?.() === true;
  } catch {
    return false;
  }
}
