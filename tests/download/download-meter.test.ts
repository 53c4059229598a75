// The download meter's figures on a clock the test drives: bytes already stored count toward the progress but not
// toward the rate; the rate covers the last five seconds; time left is what remains at that rate; dropped bytes
// (a shard deleted after a hash mismatch) lower the progress; reports are throttled to one per 200 ms.
import { describe, expect, it } from 'vitest';
import { DownloadMeter } from '../../engine/download/download-meter';
import type { LoadProgress } from '../../engine/worker/protocol';

function meterOnClock(total: number, stored: number) {
  let now = 0;
  const reports: LoadProgress[] = [];
  const meter = new DownloadMeter(total, stored, (p) => reports.push(p), () => now);
  return { meter, reports, advance: (ms: number) => { now += ms; } };
}

describe('download meter', () => {
  it('counts stored bytes in the progress but only received bytes in the rate, and gives the time left', () => {
    const { meter, advance } = meterOnClock(10_000_000, 4_000_000);
    for (let i = 0; i < 10; i++) { advance(100); meter.add(100_000); } // 1 MB in 1 s
    const progress = meter.progress();
    expect(progress).toMatchObject({ phase: 'download', loadedBytes: 5_000_000, totalBytes: 10_000_000 });
    expect(progress.bytesPerSecond).toBeCloseTo(1_000_000, 0);
    expect(progress.secondsLeft).toBeCloseTo(5, 5);
  });

  it('measures the rate over the last five seconds only', () => {
    const { meter, advance } = meterOnClock(1e9, 0);
    for (let i = 0; i < 50; i++) { advance(100); meter.add(400_000); } // 4 MB/s for 5 s
    for (let i = 0; i < 100; i++) { advance(100); meter.add(100_000); } // then 1 MB/s for 10 s
    expect(meter.progress().bytesPerSecond).toBeCloseTo(1_000_000, -3);
  });

  it('lowers the progress when stored bytes are dropped and has no time left before it knows a rate', () => {
    const { meter, advance } = meterOnClock(8_000_000, 6_000_000);
    expect(meter.progress().secondsLeft).toBeUndefined();
    advance(100);
    meter.add(-6_000_000);
    expect(meter.progress().loadedBytes).toBe(0);
  });

  it('reports at most once per 200 ms unless flushed', () => {
    const { meter, reports, advance } = meterOnClock(1e9, 0);
    for (let i = 0; i < 10; i++) { advance(50); meter.add(1000); }
    expect(reports).toHaveLength(3); // at 50 ms (first), 250 ms and 450 ms
    meter.flush();
    expect(reports).toHaveLength(4);
    expect(reports[3]!.loadedBytes).toBe(10_000);
  });
});
