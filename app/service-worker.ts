// Registers the app's service worker (app/sw.ts, built to <base>sw.js) in production builds and waits until it
// controls the page, so the engine worker started afterwards is controlled too and the model files it reads on the
// first visit already land in the offline cache. The dev server has no service worker. A browser without service
// workers, or a registration that fails (private modes, file://), leaves the app working online only. A new version
// of the worker takes over open pages at once; those pages are told (onUpdate) so that they can offer a reload.

/** Waits at most this long for control on a first visit; the app then starts without it (online only). */
const CONTROL_WAIT_MS = 10_000;

/**
 * Registers the service worker; `onUpdate` is called when a newer one takes over a page that an older one already
 * controlled (app/sw.ts activates at once): this page's code is then older than the files the new worker serves.
 */
export async function registerServiceWorker(onUpdate: () => void = () => {}): Promise<void> {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  const container = navigator.serviceWorker;
  let controlled = container.controller !== null;
  container.addEventListener('controllerchange', () => {
    if (controlled) onUpdate();
    controlled = true;
  });
  try {
    await container.register(`${import.meta.env.BASE_URL}sw.js`, { scope: import.meta.env.BASE_URL });
  } catch (error) {
    console.warn('service worker not registered; the app will need the network', error);
    return;
  }
  if (container.controller) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, CONTROL_WAIT_MS);
    container.addEventListener('controllerchange', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
