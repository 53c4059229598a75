// `--experts N [--calibration FILE]` as the CLIs (convert, verify) apply it to a checkpoint in Node: read the
// calibration ids, choose the experts from routing statistics (printing progress and the choice on stderr), and
// return the reduced model as a TensorSource with the selection a package records in its manifest.
import type { TensorSource } from '../weights/tensor-source';
import { readCalibrationFile } from './calibration-node';
import { chooseExperts, reduceExperts, type ExpertSelection } from './expert-reduction';

export interface ReducedCheckpoint {
  source: TensorSource;
  selection: ExpertSelection;
}

export async function reduceCheckpointExperts(
  checkpoint: TensorSource,
  keep: number,
  calibrationPath: string | undefined,
  log: (line: string) => void,
): Promise<ReducedCheckpoint> {
  const calibration = calibrationPath ? readCalibrationFile(calibrationPath, checkpoint.config.vocabSize) : undefined;
  const selection = await chooseExperts(checkpoint, keep, {
    calibration,
    onProgress: (done, all) => log(`routing statistics, layer ${done}/${all}`),
  });
  for (const { layer, kept } of selection.perLayer) log(`layer ${layer} keeps experts [${kept.join(', ')}]`);
  return { source: reduceExperts(checkpoint, selection), selection };
}
