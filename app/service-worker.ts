// Registers the app's service worker (app/sw.ts, built to <base>sw.js) in production builds and waits until it
// controls the page, so the engine worker started afterwards is controlled too and the model files it reads on the
// first visit already land in the offline cache. The dev server has no service worker. A browser without service
// workers, or a registration that fails (private modes, file://), leaves the app working online only.

/** Waits at most this long for control on a first visit; the app then starts without it (online only). */
const CONTROL_WAIT_MS = 10_000;

export async function registerServiceWorker(): Promise<void> {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  const container = navigator.serviceWorker;
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
