import { describe, expect, it } from 'vitest';
import { isRotationOf } from '../../../agent/tail/rotations.js';

describe('isRotationOf', () => {
  it('takes what rotation makes: a number or a time after the name', () => {
    for (const n of ['0.log.20261201-101010', 'x-json.log.1', 'x.log.12', '0.log.1733047810123-4', 'a.log.2026-12-01T10:10:10Z'])
      expect(isRotationOf(`/d/${n}`, n.startsWith('x-json') ? 'x-json.log' : n.split('.log')[0] + '.log'), n).toBe(true);
  });

  it('not another file that starts with the name, nor a compressed rotation', () => {
    for (const n of ['app.log.secret', 'app.log.notes', 'app.log.bak', 'app.log.1.gz', 'app.log.', 'app.log', 'app.logx.1', 'app.log.ledger'])
      expect(isRotationOf(`/d/${n}`, 'app.log'), n).toBe(false);
  });
});
