// The shared WGSL snippets that kernels pull in with `#include "name"`.
import rowDot from '../../shaders/common/row_dot.wgsl';
import step from '../../shaders/common/step.wgsl';
import weights from '../../shaders/common/weights.wgsl';
import workgroupSum from '../../shaders/common/workgroup_sum.wgsl';

export const WGSL_INCLUDES: Record<string, string> = {
  row_dot: rowDot,
  step,
  weights,
  workgroup_sum: workgroupSum,
};
