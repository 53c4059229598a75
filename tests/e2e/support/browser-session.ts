// One real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) per test file, on a fresh
// profile folder, showing the built app served by static-server.ts on 127.0.0.1. WebGPU runs on SwiftShader.
// Offline proof: every request whose origin is not the local server is aborted and recorded, and so is any such
// request the browser reports at all; tests assert that list is empty. Console output, page errors, failed local
// requests and dialogs are recorded for printing when a test fails. `reload()` keeps IndexedDB (same page, same
// profile); `restart()` closes the whole browser and opens it again on the same profile, like a user would.
// Tests that inject faults add their own `session.context.route(...)` for the local URLs they break (routes added
// later are asked first) and hand the rest on with `route.fallback()`; `session.server.bytesSent` counts what was
// actually served per path.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page, type Request } from 'playwright-core';
import { startStaticServer, type StaticServer } from './static-server';

const CHROMIUM = '/usr/bin/chromium';
const BASE_ARGS = [
  '--no-sandbox', '--headless', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run',
];
const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];
// Any host name other than 127.0.0.1/localhost is not a secure context, and browsers expose navigator.gpu only in
// secure contexts: the app served from here sees no WebGPU API at all, in the page and in its workers.
export const INSECURE_HOST = 'chat-app.test';

/**
 * How WebGPU looks to the app: 'swiftshader' works; 'no-adapter' has navigator.gpu but requestAdapter() gives null
 * (Chromium without the unsafe-WebGPU flag on a machine with no supported GPU); 'no-api' has no navigator.gpu.
 */
export type WebGpuSetup = 'swiftshader' | 'no-adapter' | 'no-api';

export interface AppSession {
  page: Page;
  context: BrowserContext;
  server: StaticServer;
  /** The app's URL (its origin plus '/'). */
  appUrl: string;
  /** Requests to anything but the local server, each aborted: must stay empty. */
  externalRequests: string[];
  /** Messages of alert/confirm/prompt dialogs the page opened (each dismissed). */
  dialogs: string[];
  /** Console lines, page errors and failed local requests, in order. */
  log: string[];
  reload(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface SessionOptions {
  webgpu?: WebGpuSetup;
  viewport?: { width: number; height: number };
  /** Extra folders the local server serves under URL prefixes (see static-server.ts). */
  mounts?: Record<string, string>;
  /**
   * Other local origins (`http://127.0.0.1:PORT`, e.g. a second server playing a cross-origin host) whose requests
   * go through instead of being aborted; read when the session opens, so a test may fill it in an earlier beforeAll.
   */
  otherOrigins?: string[];
}

export async function openAppSession(appDir: string, options: SessionOptions = {}): Promise<AppSession> {
  const webgpu = options.webgpu ?? 'swiftshader';
  const server = await startStaticServer(appDir, { mounts: options.mounts });
  const port = new URL(server.origin).port;
  const origin = webgpu === 'no-api' ? `http://${INSECURE_HOST}:${port}` : server.origin;
  const args = [...BASE_ARGS, ...(webgpu === 'swiftshader' ? WEBGPU_ARGS : [])];
  // Belt and braces beside the request routing: no host name resolves except the local server's.
  const hostRules = webgpu === 'no-api' ? `MAP ${INSECURE_HOST} 127.0.0.1, ` : '';
  args.push(`--host-resolver-rules=${hostRules}MAP * ~NOTFOUND, EXCLUDE 127.0.0.1`);
  const profileDir = await mkdtemp(join(tmpdir(), 'e2e-chromium-'));
  const externalRequests: string[] = [];
  const dialogs: string[] = [];
  const log: string[] = [];
  const allowed = [origin, ...(options.otherOrigins ?? [])];
  const isLocal = (url: string) => allowed.some((o) => url.startsWith(`${o}/`)) || url.startsWith('data:') || url.startsWith('blob:');

  async function launch(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args,
      viewport: options.viewport ?? { width: 1280, height: 820 },
      serviceWorkers: 'allow',
    });
    const recorded = new WeakSet<Request>();
    const recordExternal = (request: Request) => {
      if (isLocal(request.url()) || recorded.has(request)) return;
      recorded.add(request);
      externalRequests.push(request.url());
    };
    await context.route('**/*', (route) => {
      if (isLocal(route.request().url())) return route.continue();
      recordExternal(route.request());
      return route.abort('blockedbyclient');
    });
    context.on('request', recordExternal);
    context.on('requestfailed', (request) => {
      if (isLocal(request.url())) log.push(`[request failed] ${request.url()}: ${request.failure()?.errorText}`);
    });
    context.on('weberror', (error) => log.push(`[page error] ${error.error().stack ?? error.error().message}`));
    context.on('console', (message) => log.push(`[console.${message.type()}] ${message.text()}`));
    context.on('dialog', (dialog) => {
      dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss();
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${origin}/`);
    return { context, page };
  }

  const session: AppSession = {
    ...(await launch()),
    server,
    appUrl: `${origin}/`,
    externalRequests,
    dialogs,
    log,
    async reload() {
      log.push('--- reload ---');
      await session.page.reload();
    },
    async restart() {
      log.push('--- browser restart ---');
      await session.context.close();
      Object.assign(session, await launch());
    },
    async close() {
      await session.context.close().catch(() => undefined);
      await server.close();
      await rm(profileDir, { recursive: true, force: true });
    },
  };
  return session;
}

/** The recorded browser output, for a failing test's report. */
export function formatSessionLog(session: AppSession): string {
  const lines = [...session.log];
  if (session.externalRequests.length) lines.push(`[external requests] ${session.externalRequests.join(', ')}`);
  if (session.dialogs.length) lines.push(`[dialogs] ${session.dialogs.join(', ')}`);
  return `--- browser log (${lines.length} lines) ---\n${lines.join('\n')}`;
}
