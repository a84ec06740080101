// Options from an opened study dataset (train/data.ts openTrainingDataset): positions, probeGuess and the
// objectGuess grid. Its `patterns` source delivers loader-normalised amplitudes, whose mean energy is (N/2)²
// by construction, so the probe scaling needs no extra pass over the data.
import type { TrainingDataset } from '../train/data';
import type { ReconstructionOptions } from './types';

type Rest = Omit<ReconstructionOptions, 'n' | 'probe' | 'positions' | 'objectShape' | 'measuredEnergy'> & {
  /** Needed when the dataset has no objectGuess. */
  objectShape?: { width: number; height: number };
};

export function optionsFromDataset(ds: TrainingDataset, rest: Rest = {}): ReconstructionOptions {
  const objectShape = rest.objectShape ?? (ds.object ? { width: ds.object.width, height: ds.object.height } : undefined);
  if (!objectShape) throw new Error(`${ds.path}: no objectGuess to take the object grid from; give objectShape`);
  return {
    ...rest,
    n: ds.n,
    probe: ds.probe,
    positions: { xs: ds.xs, ys: ds.ys },
    objectShape,
    measuredEnergy: ds.meanEnergy * ds.normalization * ds.normalization,
  };
}
