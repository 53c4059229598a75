// Re-export: the float64 reference lives in engine/reference/forward-weights.ts (engine code uses it too); tests keep importing
// it from here.
export * from '../../engine/reference/forward-weights';
