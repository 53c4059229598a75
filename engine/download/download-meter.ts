// Download progress as the UI shows it: bytes stored or received of the package's total, the rate over the last few
// seconds (bytes received in this session only, so a resumed download does not count what was already stored) and
// the time left at that rate. Reports are throttled to a few per second: each one crosses the worker boundary.
import type { LoadProgress } from '../worker/protocol';

const RATE_WINDOW_MS = 5000;
const REPORT_EVERY_MS = 200;

export class DownloadMeter {
  private loaded: number;
  private received = 0;
  private readonly samples: { at: number; received: number }[] = [];
  private lastReport = -Infinity;

  constructor(private readonly totalBytes: number, alreadyStored: number,
    private readonly report: (progress: LoadProgress) => void, private readonly now: () => number = () => performance.now()) {
    this.loaded = alreadyStored;
    this.samples.push({ at: this.now(), received: 0 });
  }

  /** Counts `delta` bytes (negative when stored bytes were dropped) and reports if the last report is old enough. */
  add(delta: number): void {
    this.loaded += delta;
    if (delta > 0) this.received += delta;
    const at = this.now();
    this.samples.push({ at, received: this.received });
    while (this.samples.length > 2 && at - this.samples[1].at > RATE_WINDOW_MS) this.samples.shift();
    if (at - this.lastReport >= REPORT_EVERY_MS) this.flush();
  }

  /** Reports now. */
  flush(): void {
    this.lastReport = this.now();
    this.report(this.progress());
  }

  progress(): LoadProgress {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const seconds = (last.at - first.at) / 1000;
    const bytesPerSecond = seconds > 0.25 ? (last.received - first.received) / seconds : 0;
    const left = Math.max(0, this.totalBytes - this.loaded);
    return {
      phase: 'download',
      loadedBytes: Math.min(this.loaded, this.totalBytes),
      totalBytes: this.totalBytes,
      bytesPerSecond,
      secondsLeft: bytesPerSecond > 0 ? left / bytesPerSecond : undefined,
    };
  }
}
