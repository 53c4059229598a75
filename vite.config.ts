// Vite builds the app; Vitest (same config) runs the tests in Node against Dawn (the `webgpu` package).
// `.wgsl` files import as plain strings so the engine's kernels load the same way in the browser and in Node.
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
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

export default defineConfig({
  plugins: [react(), wgslAsText()],
  worker: { format: 'es', plugins: () => [wgslAsText()] },
  test: {
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/support/setup-webgpu.ts'],
    pool: 'forks',
    testTimeout: 600_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
