// The shared WGSL snippets that kernels pull in with `#include "name"`.
import step from '../../shaders/common/step.wgsl';
import weights from '../../shaders/common/weights.wgsl';

export const WGSL_INCLUDES: Record<string, string> = {
  step,
  weights,
};
