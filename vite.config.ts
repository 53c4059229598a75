// Vite builds the app; Vitest (same config) runs the tests in Node against Dawn (the `webgpu` package).
// `.wgsl` files import as plain strings so the engine's kernels load the same way in the browser and in Node.
// vite-plugin-pwa builds the service worker (app/sw.ts, injectManifest) with the list of app-shell files to precache
// and writes the web app manifest (icons from public/icons, drawn by `npm run pwa-icons`). Not precached: the model
// files under models/ (the service worker caches those as they are used) and onnxruntime's 27 MB .wasm that
// @huggingface/transformers emits (the engine only uses its tokenizer, which never loads it).
import type { Plugin } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';
import { defineConfig } from 'vitest/config';
import { availableParallelism } from 'node:os';
import react from '@vitejs/plugin-react';

function wgslAsText(): Plugin {
  return {
    name: 'wgsl-as-text',
    transform(code, id) {
      if (!id.endsWith('.wgsl')) return null;
      return { code: `export default ${JSON.stringify(code)};`, map: null };
    },
  };
}

export const THEME_COLOUR = '#1f3a8a';

/** Test files run at once outside the browser tests: two even on a 2-CPU machine (each keeps about one busy). */
const TEST_WORKERS = Math.min(4, Math.max(2, availableParallelism()));

const pwa = VitePWA({
  strategies: 'injectManifest',
  srcDir: 'app',
  filename: 'sw.ts',
  registerType: 'autoUpdate',
  injectRegister: false, // app/service-worker.ts registers it, before the engine worker starts
  includeManifestIcons: false, // public/icons/*.png are in globPatterns already
  injectManifest: {
    globPatterns: ['**/*.{html,js,css,png,svg,ico}'], // the plugin adds manifest.webmanifest itself
    globIgnores: ['models/**', '**/*.wasm'],
    maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
  },
  manifest: {
    name: 'DeepSeek on WebGPU',
    short_name: 'DeepSeek',
    description: 'DeepSeek-family chat models running entirely on your GPU, in the browser, also offline.',
    theme_color: THEME_COLOUR,
    background_color: '#ffffff',
    display: 'standalone',
    start_url: '.',
    scope: '.',
    icons: [
      { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
      { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
      { src: 'icons/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
    ],
  },
});

export default defineConfig({
  plugins: [react(), wgslAsText(), pwa],
  worker: { format: 'es', plugins: () => [wgslAsText()] },
  test: {
    setupFiles: ['tests/support/setup-webgpu.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 600_000,
    hookTimeout: 600_000,
    // Each test file keeps about one CPU busy (SwiftShader's pipeline compiles and dispatches, the converter), so
    // files run TEST_WORKERS at a time; the browser files run one at a time after them (they share the app build in
    // .cache/e2e-app and each Chromium takes more than a CPU).
    projects: [
      {
        extends: true,
        test: { name: 'engine', include: ['tests/**/*.test.ts'], exclude: ['tests/e2e/**'], maxWorkers: TEST_WORKERS, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'browser', include: ['tests/e2e/**/*.test.ts'], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
