import { describe, expect, it } from 'vitest';
import { ProgressLine, formatProgress, progressMode, type ProgressStream } from '../../../bench/progress.js';

function fakeStream(isTTY: boolean, columns = 80): ProgressStream & { out: string[] } {
  const out: string[] = [];
  return { isTTY, columns, out, write: (text: string) => out.push(text) };
}

function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('formatProgress', () => {
  it('shows the counts it has and the elapsed seconds', () => {
    expect(
      formatProgress({ label: 'drain', done: 120, total: 500, queued: 380, calls: 140, http429: 2 }, 12_345),
    ).toBe('drain  done 120/500  queued 380  calls 140  429s 2  12.3 s');
    expect(formatProgress({ label: 'chaos', phase: 'seeding' }, 900)).toBe('chaos  seeding  0.9 s');
  });
});

describe('progressMode', () => {
  it('is tty on a terminal, plain in a pipe, off under CI', () => {
    expect(progressMode(fakeStream(true), {})).toBe('tty');
    expect(progressMode(fakeStream(false), {})).toBe('plain');
    expect(progressMode(fakeStream(true), { CI: 'true' })).toBe('off');
    expect(progressMode(fakeStream(true), { CI: 'false' })).toBe('tty');
  });
});

describe('ProgressLine', () => {
  it('rewrites one terminal line at most every interval and clears it', () => {
    const stream = fakeStream(true);
    const clock = fakeClock();
    const line = new ProgressLine({
      stream,
      mode: progressMode(stream, {}),
      now: clock.now,
      ttyIntervalMs: 200,
    });
    line.update({ label: 'drain', done: 1 });
    clock.advance(100);
    line.update({ label: 'drain', done: 2 }); // too soon: not written
    clock.advance(100);
    line.update({ label: 'drain', done: 3 });
    expect(stream.out).toEqual(['\r\x1b[Kdrain  done 1  0.0 s', '\r\x1b[Kdrain  done 3  0.2 s']);
    line.clear();
    line.clear();
    expect(stream.out.slice(2)).toEqual(['\r\x1b[K']);
  });

  it('tick renders the latest counts with the time moved on', () => {
    const stream = fakeStream(true);
    const clock = fakeClock();
    const line = new ProgressLine({ stream, mode: progressMode(stream, {}), now: clock.now });
    line.update({ label: 'x', calls: 5 });
    clock.advance(1_500);
    line.tick();
    expect(stream.out.at(-1)).toBe('\r\x1b[Kx  calls 5  1.5 s');
  });

  it('cuts a line longer than the terminal', () => {
    const stream = fakeStream(true, 30);
    const line = new ProgressLine({ stream, mode: progressMode(stream, {}), now: fakeClock().now });
    line.update({ label: 'a-very-long-scenario-name', done: 123456, total: 999999 });
    const shown = stream.out[0]!.slice('\r\x1b[K'.length);
    expect(shown).toHaveLength(29);
    expect(shown.endsWith('…')).toBe(true);
  });

  it('takes a terminal of unknown width (0 columns) as 80 wide', () => {
    const stream = fakeStream(true, 0);
    const line = new ProgressLine({ stream, mode: progressMode(stream, {}), now: fakeClock().now });
    line.update({ label: 'drain-live', done: 120, total: 300, queued: 180, calls: 130, http429: 0 });
    expect(stream.out[0]).toBe('\r\x1b[Kdrain-live  done 120/300  queued 180  calls 130  429s 0  0.0 s');
  });

  it('writes plain lines at most every 10 s when not on a terminal, and clears nothing', () => {
    const stream = fakeStream(false);
    const clock = fakeClock();
    const line = new ProgressLine({ stream, mode: progressMode(stream, {}), now: clock.now });
    for (let i = 0; i < 100; i++) {
      line.update({ label: 'drain', done: i });
      clock.advance(250);
    }
    // 25 s of updates: at 0, 10 and 20 s.
    expect(stream.out).toEqual([
      'drain  done 0  0.0 s\n',
      'drain  done 40  10.0 s\n',
      'drain  done 80  20.0 s\n',
    ]);
    line.clear();
    expect(stream.out).toHaveLength(3);
  });

  it('writes nothing when off', () => {
    const stream = fakeStream(true);
    const line = new ProgressLine({ stream, mode: 'off', now: fakeClock().now });
    line.update({ label: 'drain', done: 1 });
    line.clear();
    expect(stream.out).toEqual([]);
  });
});
