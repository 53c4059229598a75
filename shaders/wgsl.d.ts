// WGSL sources are imported as text: Vite/Vitest through the plugin in vite.config.ts, the Node CLIs through
// esbuild's text loader (scripts/run-ts.mjs).
declare module '*.wgsl' {
  const source: string;
  export default source;
}
