// The shipped configurations adapted to the bench: a checkout's deploy/docker/fluent.conf and
// deploy/docker/warden.yaml with paths under the bench's dirs and ports on loopback; nothing else
// changed.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../warden.js';

/**
 * deploy/docker/fluent.conf with its example output replaced by out_forward (acks) to the
 * receiver, its in_forward on `inPort` and its file buffer under `dir`. Everything else as shipped.
 */
export function shippedFluentConf(dir: string, inPort: number, receiverPort: number, checkoutRoot = ROOT): string {
  const text = readFileSync(join(checkoutRoot, 'deploy/docker/fluent.conf'), 'utf8');
  const out = text
    .replace(/^(\s*port) 24224$/m, `$1 ${inPort}`)
    .replace(/^(\s*path) \/var\/lib\/warden\/fluentd-buffer$/m, `$1 ${join(dir, 'fluentd-buffer')}`)
    // The example output of `<match **>` (not the `<match fluent.**>` of @FLUENT_LOG before it).
    .replace(/^(<match \*\*>\n)(\s*)@type (?:stdout|null)$/m, `$1$2@type forward\n$2require_ack_response true\n$2<server>\n$2  host 127.0.0.1\n$2  port ${receiverPort}\n$2</server>`);
  for (const must of [`port ${inPort}`, join(dir, 'fluentd-buffer'), `<match **>\n  @type forward\n`, `port ${receiverPort}`]) {
    if (!out.includes(must)) throw new Error(`${join(checkoutRoot, 'deploy/docker/fluent.conf')}: could not adapt it for the bench (no ${must} after rewriting)`);
  }
  const conf = join(dir, 'fluent.conf');
  writeFileSync(conf, out);
  return conf;
}

function shippedWardenYaml(checkoutRoot: string): Record<string, any> {
  return parse(readFileSync(join(checkoutRoot, 'deploy/docker/warden.yaml'), 'utf8')) as Record<string, any>;
}

/**
 * deploy/docker/warden.yaml with its paths under the tree's root, its ports on loopback and
 * `read_from: head` (the backlog is the workload); the child command is the shipped one with
 * `fluentd` and the fluent.conf path replaced (in `reload.watch_also` too). Budgets and log level as shipped (budgets derived
 * from the cgroup; the governor's transitions are logged at info).
 */
export function shippedWardenConfig(root: string, dir: string, health: number, childPort: number, child: string[], checkoutRoot = ROOT): Record<string, unknown> {
  const c = shippedWardenYaml(checkoutRoot);
  const under = (p: string) => join(root, p);
  c.node_name = 'bench';
  c.state_dir = join(dir, 'state');
  c.health = { ...c.health, listen: `127.0.0.1:${health}` };
  c.inputs = (c.inputs as Array<{ paths: string[] }>).map((i) => ({ ...i, paths: i.paths.map(under) }));
  c.tail = { ...c.tail, read_from: 'head', roots: (c.tail.roots as string[]).map(under) };
  c.forward = { ...c.forward, to: `tcp://127.0.0.1:${childPort}` };
  c.child = { ...c.child, command: child };
  delete c.child.check_command;
  // The shipped watch on fluent.conf follows the bench's copy (shippedFluentConf writes it in
  // `dir`), wherever the child command names it (after the pod's wrapper, too); none with a sink child.
  const conf = join(dir, 'fluent.conf');
  if (c.reload?.watch_also) c.reload = { ...c.reload, watch_also: child.includes(conf) ? [conf] : [] };
  return c;
}

/** The shipped child command (`fluentd --no-supervisor -c …`) with this fluentd and conf. */
export function shippedFluentdCommand(fluentd: string, conf: string, checkoutRoot = ROOT): string[] {
  const c = shippedWardenYaml(checkoutRoot) as { child: { command: string[] } };
  return c.child.command.map((a) => (a === 'fluentd' ? fluentd : a === '/etc/fluent/fluent.conf' ? conf : a));
}
