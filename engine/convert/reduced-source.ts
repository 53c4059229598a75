// The reduced model as a TensorSource view (nothing is copied up front): in every MoE layer the selection names,
// routed expert j is original expert kept[j] (`mlp.experts.{j}.*`), the router `mlp.gate.weight` [E, H] keeps the
// kept rows [N, H] in that order, V3's `mlp.gate.e_score_correction_bias` [E] keeps the kept entries [N], and the
// dropped experts are gone. The config gets n_routed_experts = N and the reduced routing fields of the selection.
// Every other tensor passes through, including a V3 MTP layer (`model.layers.{numLayers}`), which transformers and
// this engine ignore and which keeps its E experts.
import type { ModelConfig } from '../config';
import { badCheckpoint } from '../errors';
import type { TensorInfo, TensorSource } from '../weights/tensor-source';
import { checkKeep, reducedRouting } from './expert-groups';
import type { ExpertSelection } from './expert-reduction';

/** How one name of the view is served from the original source. */
interface ViewEntry {
  original: string;
  /** Router rows / bias entries to keep (original expert ids), or undefined for a tensor served as is. */
  keptRows?: number[];
}

const EXPERT = /^model\.layers\.(\d+)\.mlp\.experts\.(\d+)\.(.+)$/;
const ROUTER = /^model\.layers\.(\d+)\.mlp\.gate\.(weight|e_score_correction_bias)$/;

/** Throws BAD_CHECKPOINT unless `selection` fits `config` (expert count, layers, kept ids, the group rule). */
export function checkSelection(config: ModelConfig, selection: ExpertSelection): void {
  const subject = 'expert selection';
  const E = config.nRoutedExperts;
  if (selection.originalExperts !== E) {
    throw badCheckpoint(`${subject}: originalExperts`, `this checkpoint's n_routed_experts (${E})`, String(selection.originalExperts),
      'Was the selection made for another checkpoint?');
  }
  checkKeep(config, selection.keep);
  const routing = reducedRouting(config, selection.keep);
  const found = { nGroup: selection.nGroup, topkGroup: selection.topkGroup, numExpertsPerTok: selection.numExpertsPerTok };
  if (JSON.stringify(found) !== JSON.stringify(routing)) {
    throw badCheckpoint(`${subject}: routing`, `the group rule's ${JSON.stringify(routing)}`, JSON.stringify(found));
  }
  const moeLayers = config.numLayers - config.firstKDense;
  const layers = selection.perLayer.map((l) => l.layer);
  if (layers.length !== moeLayers || layers.some((layer, i) => layer !== config.firstKDense + i)) {
    throw badCheckpoint(`${subject}: perLayer`, `one entry per MoE layer ${config.firstKDense}..${config.numLayers - 1}`,
      `layers [${layers.join(', ')}]`);
  }
  const groupSize = E / routing.nGroup;
  for (const { layer, kept } of selection.perLayer) {
    const ascending = kept.every((e, i) => Number.isInteger(e) && e >= 0 && e < E && (i === 0 || e > kept[i - 1]));
    if (kept.length !== selection.keep || !ascending) {
      throw badCheckpoint(`${subject}: layer ${layer} kept`, `${selection.keep} distinct expert ids in [0, ${E}), ascending`,
        `[${kept.join(', ')}]`);
    }
    for (let g = 0; g < routing.nGroup; g++) {
      const inGroup = kept.filter((e) => Math.floor(e / groupSize) === g).length;
      if (inGroup !== selection.keep / routing.nGroup) {
        throw badCheckpoint(`${subject}: layer ${layer} kept`, `${selection.keep / routing.nGroup} experts in each of the ${routing.nGroup} groups`,
          `${inGroup} in group ${g}`);
      }
    }
  }
}

function viewEntries(source: TensorSource, selection: ExpertSelection): Map<string, ViewEntry> {
  const keptByLayer = new Map(selection.perLayer.map((l) => [l.layer, l.kept]));
  const entries = new Map<string, ViewEntry>();
  for (const name of source.names()) {
    const expert = EXPERT.exec(name);
    const router = ROUTER.exec(name);
    const kept = keptByLayer.get(Number((expert ?? router)?.[1]));
    if (expert && kept) {
      const j = kept.indexOf(Number(expert[2]));
      if (j >= 0) entries.set(`model.layers.${expert[1]}.mlp.experts.${j}.${expert[3]}`, { original: name });
    } else if (router && kept) {
      entries.set(name, { original: name, keptRows: kept });
    } else {
      entries.set(name, { original: name });
    }
  }
  return entries;
}

/** Rows `rows` of a row-major [E, cols] tensor, in that order. */
function gatherRows(values: Float32Array, E: number, rows: readonly number[]): Float32Array {
  const cols = values.length / E;
  const out = new Float32Array(rows.length * cols);
  rows.forEach((e, j) => out.set(values.subarray(e * cols, (e + 1) * cols), j * cols));
  return out;
}

export function reduceExperts(source: TensorSource, selection: ExpertSelection): TensorSource {
  const original = source.config;
  checkSelection(original, selection);
  const E = original.nRoutedExperts;
  const config: ModelConfig = {
    ...original,
    nRoutedExperts: selection.keep,
    nGroup: selection.nGroup,
    topkGroup: selection.topkGroup,
    numExpertsPerTok: selection.numExpertsPerTok,
  };
  const entries = viewEntries(source, selection);
  const entry = (name: string): ViewEntry => {
    const found = entries.get(name);
    if (!found) throw badCheckpoint(name, 'a tensor of this name', `no such tensor in ${source.description} with ${selection.keep} of ${E} experts`);
    return found;
  };
  const info = (name: string): TensorInfo | undefined => {
    const found = entries.get(name);
    const base = found && source.info(found.original);
    if (!found || !base) return undefined;
    if (found.keptRows && base.shape[0] !== E) {
      throw badCheckpoint(found.original, `${E} rows (one per routed expert)`, `shape [${base.shape.join(', ')}]`);
    }
    const shape = found.keptRows ? [found.keptRows.length, ...base.shape.slice(1)] : base.shape;
    const blockScale = base.blockScale && { ...base.blockScale, name: `${name}_scale_inv` };
    return { ...base, name, shape, ...(blockScale ? { blockScale } : {}) };
  };
  const readPacked = source.readPacked?.bind(source);
  return {
    config,
    description: `${source.description} (${selection.keep} of ${E} routed experts)`,
    names: () => [...entries.keys()],
    info,
    readF32: async (name) => {
      const { original: from, keptRows } = entry(name);
      const values = await source.readF32(from);
      if (!keptRows) return values;
      info(name); // checks the row count
      return gatherRows(values, E, keptRows);
    },
    // Routers and biases are always re-encoded from f32 (their rows change); experts keep their stored form.
    ...(readPacked && {
      readPacked: async (name: string) => {
        const { original: from, keptRows } = entry(name);
        return keptRows ? undefined : readPacked(from);
      },
    }),
  };
}
