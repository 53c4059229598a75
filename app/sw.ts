// The app's service worker (built by vite-plugin-pwa's injectManifest into sw.js). It makes the app open and chat
// with no network:
// - the app shell (index.html, the JS and CSS bundles, the engine worker's bundle, icons, the web app manifest) is
//   precached by Workbox from the build's list (self.__WB_MANIFEST); navigations answer with the cached index.html.
// - the bundled models under <scope>models/ go to a runtime cache as they are first used: JSON files (index.json,
//   each model's manifest.json and tokenizer files) network first, falling back to the cache offline; shards cache
//   first. The engine reads shards with HTTP Range requests: a miss fetches the whole shard once (no Range), stores
//   it, and every range is then cut from the stored copy (workbox-range-requests), answered 206 like a server would.
//   A model's manifest.json that changes on the network drops that model's cached shards (they are not
//   content-named, so a rebuilt model would otherwise mix old shards with the new manifest).
//   A request made with `cache: 'no-store'` is left to the network: code that stores what it fetches itself (the
//   IndexedDB download manager, resuming with its own Range requests) opts out of this cache that way.
// Until models are downloaded into IndexedDB (issue 5's download manager), this cache is what keeps a used model
// available offline.
import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { createPartialResponse } from 'workbox-range-requests';
import { NavigationRoute, registerRoute } from 'workbox-routing';

declare let self: ServiceWorkerGlobalScope;

const MODELS_CACHE = 'bundled-models-v1';
const modelsPrefix = new URL('models/', self.registration.scope).href;

void self.skipWaiting();
clientsClaim();
precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
registerRoute(new NavigationRoute(createHandlerBoundToURL('index.html')));

registerRoute(
  ({ url, request }) => request.method === 'GET' && request.cache !== 'no-store' && url.href.startsWith(modelsPrefix),
  ({ request, url }) => (url.pathname.endsWith('.json') ? networkFirstJson(request, url) : cachedShard(request, url)),
);

/** The cache key of a models file: its URL without query, method GET, no Range header. */
const keyOf = (url: URL) => new Request(url.origin + url.pathname);

async function networkFirstJson(request: Request, url: URL): Promise<Response> {
  const cache = await caches.open(MODELS_CACHE);
  const key = keyOf(url);
  let response: Response;
  try {
    response = await fetch(request);
  } catch (error) {
    const cached = await cache.match(key);
    if (cached) return cached;
    throw error;
  }
  if (response.ok) {
    if (url.pathname.endsWith('/manifest.json')) await dropShardsIfChanged(cache, key, response.clone());
    await cache.put(key, response.clone());
  }
  return response;
}

/** Deletes the cached shards beside `manifestKey` when the manifest now on the network differs from the cached one. */
async function dropShardsIfChanged(cache: Cache, manifestKey: Request, fresh: Response): Promise<void> {
  const cached = await cache.match(manifestKey);
  if (!cached || (await cached.text()) === (await fresh.text())) return;
  const folder = manifestKey.url.slice(0, manifestKey.url.lastIndexOf('/') + 1);
  for (const key of await cache.keys()) {
    if (key.url.startsWith(folder) && !key.url.endsWith('.json')) await cache.delete(key);
  }
}

/** Whole-shard downloads in progress, so concurrent range reads of one missing shard fetch it once. */
const shardDownloads = new Map<string, Promise<void>>();

async function cachedShard(request: Request, url: URL): Promise<Response> {
  const cache = await caches.open(MODELS_CACHE);
  const key = keyOf(url);
  let stored = await cache.match(key);
  if (!stored) {
    let download = shardDownloads.get(key.url);
    if (!download) {
      download = storeWholeShard(cache, key).finally(() => shardDownloads.delete(key.url));
      shardDownloads.set(key.url, download);
    }
    const failure = await download.then(() => null, (error: unknown) => error);
    stored = await cache.match(key);
    // Not storable (an HTTP error, or the network failed): let the page see what the network says.
    if (!stored) return failure ? Response.error() : fetch(request);
  }
  return request.headers.has('range') ? createPartialResponse(request, stored) : stored;
}

async function storeWholeShard(cache: Cache, key: Request): Promise<void> {
  const response = await fetch(key);
  if (response.status === 200) await cache.put(key, response);
}
