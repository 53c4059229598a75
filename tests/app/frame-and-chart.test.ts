// Streamed text reaches the store at most once per animation frame and none is lost at the end; the perf chart's
// axes are "nice" (1-2-5 steps from zero) and its paths follow context order.
import { describe, expect, it } from 'vitest';
import { niceAxis, seriesPath } from '../../app/components/chart-geometry';
import { createFrameBatcher } from '../../app/frame-batcher';

/** Frames that run only when the test says so. */
function manualFrames() {
  const queued = new Map<number, () => void>();
  let next = 1;
  return {
    request: (callback: () => void) => { queued.set(next, callback); return next++; },
    cancel: (handle: number) => { queued.delete(handle); },
    runFrame: () => { const callbacks = [...queued.values()]; queued.clear(); callbacks.forEach((c) => c()); },
    pending: () => queued.size,
  };
}

describe('per-frame text batching', () => {
  it('joins the deltas of one frame into one store update', () => {
    const frames = manualFrames();
    const applied: string[] = [];
    const batcher = createFrameBatcher((text) => applied.push(text), frames);
    for (const delta of ['Hel', 'lo', ', ', 'world']) batcher.push(delta);
    expect(applied).toEqual([]);
    expect(frames.pending()).toBe(1);
    frames.runFrame();
    batcher.push('!');
    batcher.push('');
    frames.runFrame();
    frames.runFrame();
    expect(applied).toEqual(['Hello, world', '!']);
  });

  it('flush applies what is left at once and cancels the frame (answers end in hidden tabs too)', () => {
    const frames = manualFrames();
    const applied: string[] = [];
    const batcher = createFrameBatcher((text) => applied.push(text), frames);
    batcher.push('tail');
    batcher.flush();
    expect(applied).toEqual(['tail']);
    expect(frames.pending()).toBe(0);
    batcher.flush();
    expect(applied).toEqual(['tail']);
  });
});

describe('decode chart geometry', () => {
  it('axes start at zero and step by 1, 2 or 5 times a power of ten', () => {
    expect(niceAxis(87)).toEqual({ max: 100, ticks: [0, 20, 40, 60, 80, 100] });
    expect(niceAxis(4)).toEqual({ max: 4, ticks: [0, 1, 2, 3, 4] });
    expect(niceAxis(0.37)).toEqual({ max: 0.4, ticks: [0, 0.1, 0.2, 0.3, 0.4] });
    expect(niceAxis(1900)).toEqual({ max: 2000, ticks: [0, 500, 1000, 1500, 2000] });
    expect(niceAxis(0)).toEqual({ max: 1, ticks: [0, 1] });
  });

  it('a path visits points in context order, scaled into the plot area with y pointing down', () => {
    const area = { left: 10, top: 0, width: 100, height: 50 };
    const path = seriesPath([{ contextTokens: 20, ms: 5 }, { contextTokens: 0, ms: 10 }, { contextTokens: 10, ms: 0 }],
      niceAxis(20), niceAxis(10), area);
    expect(path).toBe('M10.0 0.0 L60.0 50.0 L110.0 25.0');
  });
});
