import { describe, expect, it } from 'vitest';
import { fieldText, JournalEntryError, parseJournalLine } from '../../../agent/journal/entry.js';

const CURSOR = 's=d35;i=1;b=0123;m=3e8;t=60a;x=8b8';
const line = (fields: Record<string, unknown>) => JSON.stringify({ __CURSOR: CURSOR, ...fields });

describe('journal entry → record', () => {
  it('takes time from __REALTIME_TIMESTAMP (µs), tag from the unit, and the small record', () => {
    const e = parseJournalLine(
      line({ __REALTIME_TIMESTAMP: '1700000000123456', _SYSTEMD_UNIT: 'kubelet.service', SYSLOG_IDENTIFIER: 'kubelet', MESSAGE: 'hi', PRIORITY: '6', _PID: '42', _HOSTNAME: 'other' }),
      'node-a',
      0,
    );
    expect(e).toEqual({
      tag: 'journal.kubelet_service',
      sec: 1_700_000_000,
      nsec: 123_456_000,
      cursor: CURSOR,
      record: { log: 'hi', host: 'node-a', systemd_unit: 'kubelet.service', syslog_identifier: 'kubelet', priority: 6, pid: 42 },
    });
  });

  it('tags by SYSLOG_IDENTIFIER without a unit, `_` without either; sanitises like the file tags', () => {
    expect(parseJournalLine(line({ SYSLOG_IDENTIFIER: 'my app.v2', MESSAGE: 'x' }), 'h', 0).tag).toBe('journal.my_app_v2');
    expect(parseJournalLine(line({ MESSAGE: 'x' }), 'h', 0).tag).toBe('journal._');
  });

  it('an entry without a realtime timestamp gets the read time; one without MESSAGE an empty log', () => {
    const e = parseJournalLine(line({}), 'h', 1_700_000_000_250);
    expect([e.sec, e.nsec, e.record.log]).toEqual([1_700_000_000, 250_000_000, '']);
  });

  it('a realtime timestamp past what an EventTime holds (2106-02-07) gets the read time, flagged; the last second that fits is kept', () => {
    const far = parseJournalLine(line({ __REALTIME_TIMESTAMP: '7258118400000000', MESSAGE: 'y2200' }), 'h', 1_700_000_000_250);
    expect([far.sec, far.nsec, far.record.time_out_of_range]).toEqual([1_700_000_000, 250_000_000, true]);
    const last = parseJournalLine(line({ __REALTIME_TIMESTAMP: '4294967295999999', MESSAGE: 'last' }), 'h', 0);
    expect([last.sec, last.nsec, last.record.time_out_of_range]).toEqual([4_294_967_295, 999_999_000, undefined]);
  });

  it('decodes byte arrays as UTF-8 (invalid bytes → U+FFFD), takes the first of repeated values, ignores malformed numbers', () => {
    expect(fieldText([0xc3, 0xa9, 0xff])).toBe('é\ufffd');
    expect(fieldText(['a', 'b'])).toBe('a');
    expect(fieldText([[0x41], 'b'])).toBe('A');
    expect(fieldText(null)).toBeNull();
    expect(fieldText('\ud800x')).toBe('\ufffdx');
    const e = parseJournalLine(line({ MESSAGE: [104, 105], PRIORITY: 'high', _PID: '-1' }), 'h', 0);
    expect(e.record).toEqual({ log: 'hi', host: 'h' });
  });

  it('refuses lines that are not entries, naming why', () => {
    expect(() => parseJournalLine('{"MESSAGE":', 'h', 0)).toThrow(JournalEntryError);
    expect(() => parseJournalLine('[1]', 'h', 0)).toThrow(/not a JSON object/);
    expect(() => parseJournalLine('{"MESSAGE":"x"}', 'h', 0)).toThrow(/no __CURSOR/);
  });
});
