// Samples the JS heap of the app's page and of its engine worker through the Chrome DevTools Protocol while a test
// runs: Runtime.getHeapUsage on the page's own session, and on every dedicated worker through Target.setAutoAttach
// (non-flat sessions, messages relayed with Target.sendMessageToTarget). usedSize is the V8 heap in use; ArrayBuffer
// backing stores (chunks, tensors on their way to the GPU) are outside it and reported apart when Chromium gives
// them (backingStorageSize). Each sample is labelled with the phase the page shows, so a test can report maxima
// per phase (download, load).
import type { BrowserContext, CDPSession, Page } from 'playwright-core';

export interface HeapSample {
  phase: string; // the model progress bar's data-phase, or the model status when there is no bar
  pageUsed: number;
  workerUsed: number; // largest worker heap in this sample (0 when no worker answered)
  workerBacking: number;
}

interface HeapUsage { usedSize: number; totalSize: number; backingStorageSize?: number }

export interface HeapSampler {
  samples: HeapSample[];
  /** Worker targets seen so far. */
  workers(): number;
  stop(): Promise<void>;
}

async function workerHeaps(cdp: CDPSession, sessions: Set<string>, pending: Map<number, (usage: HeapUsage) => void>,
  nextId: () => number): Promise<HeapUsage[]> {
  return Promise.all([...sessions].map((sessionId) => new Promise<HeapUsage>((resolve) => {
    const id = nextId();
    const timer = setTimeout(() => { pending.delete(id); resolve({ usedSize: 0, totalSize: 0 }); }, 5000); // a closed worker never answers
    pending.set(id, (usage) => { clearTimeout(timer); resolve(usage); });
    void cdp.send('Target.sendMessageToTarget' as never, { sessionId, message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }) } as never)
      .catch(() => { sessions.delete(sessionId); });
  })));
}

export async function startHeapSampler(context: BrowserContext, page: Page, everyMs = 200): Promise<HeapSampler> {
  const cdp = await context.newCDPSession(page);
  const sessions = new Set<string>();
  let seen = 0;
  const pending = new Map<number, (usage: HeapUsage) => void>();
  let lastId = 0;
  cdp.on('Target.attachedToTarget' as never, ((event: { sessionId: string; targetInfo: { type: string } }) => {
    if (event.targetInfo.type === 'worker') { sessions.add(event.sessionId); seen++; }
  }) as never);
  cdp.on('Target.detachedFromTarget' as never, ((event: { sessionId: string }) => { sessions.delete(event.sessionId); }) as never);
  cdp.on('Target.receivedMessageFromTarget' as never, ((event: { message: string }) => {
    const reply = JSON.parse(event.message) as { id?: number; result?: HeapUsage };
    if (reply.id !== undefined && reply.result) pending.get(reply.id)?.(reply.result);
    if (reply.id !== undefined) pending.delete(reply.id);
  }) as never);
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });

  const samples: HeapSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const [pageHeap, workers, phase] = await Promise.all([
        cdp.send('Runtime.getHeapUsage') as Promise<HeapUsage>,
        workerHeaps(cdp, sessions, pending, () => ++lastId),
        page.evaluate(() => document.querySelector('[data-testid="model-progress"]')?.getAttribute('data-phase')
          ?? document.querySelector('[data-testid="model-status"]')?.className.replace(/.*status-/, '') ?? 'none'),
      ]).catch(() => [null, [], ''] as const);
      if (pageHeap) {
        samples.push({
          phase,
          pageUsed: pageHeap.usedSize,
          workerUsed: Math.max(0, ...workers.map((w) => w.usedSize)),
          workerBacking: Math.max(0, ...workers.map((w) => w.backingStorageSize ?? 0)),
        });
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    samples,
    workers: () => seen,
    async stop() {
      running = false;
      await loop;
      await cdp.detach().catch(() => {});
    },
  };
}

export const MiB = 1024 * 1024;

/** "page max 12.3 MiB, worker max 45.6 MiB (n samples)" for the samples of one phase group. */
export function heapSummary(samples: HeapSample[]): { pageMax: number; workerMax: number; backingMax: number; text: string } {
  const pageMax = Math.max(0, ...samples.map((s) => s.pageUsed));
  const workerMax = Math.max(0, ...samples.map((s) => s.workerUsed));
  const backing = Math.max(0, ...samples.map((s) => s.workerBacking));
  return {
    pageMax, workerMax, backingMax: backing,
    text: `page JS heap max ${(pageMax / MiB).toFixed(1)} MiB, worker JS heap max ${(workerMax / MiB).toFixed(1)} MiB` +
      `${backing ? ` (worker ArrayBuffer backing max ${(backing / MiB).toFixed(1)} MiB)` : ''}, ${samples.length} samples`,
  };
}
