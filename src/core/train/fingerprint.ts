// What a training checkpoint depends on, from the run's configuration alone: the parts of its fingerprint
// (Trainer.configKey adds what the data and the plan decide), the launch key a checkpoint records so that the
// launcher can refuse a resume with other settings before it writes anything, and the settings two
// configurations differ in, for that refusal's message.
import type { RunConfig } from '../run/plan';
import { resolveGridsizeTwoSwitch, resolveObjectSupport } from '../study/config';
import { configKeyOf } from './checkpoint';

/**
 * The settings a checkpoint depends on, from the run's configuration alone (configKey adds what the data and the
 * plan decide: the number of training patterns, the canvas, the batch).
 */
export function fingerprintParts(config: RunConfig, rampOrigin = true): Record<string, unknown> {
  const c = config;
  const { epochs: _e, executionProvider: _p, earlyStoppingPatience: _s, patienceRestartsOnLrReduction: _r, allowIntensityData: _a, ...rest } = c.training;
  // Settings added later count only when they differ from the behaviour before them, so a checkpoint written
  // by an earlier version still resumes.
  // Stitching never touches training: its switch is pinned to the value earlier checkpoints recorded.
  // The preview window is monitoring only: a resume may move it.
  const { warmupSteps, weightInit, probeBig, rampHead, energyAmplitude, objectSupport, residualBlocks, regroupEachEpoch, symmetryAugment, backprojectedInput, stitchPhaseAlignment: _stitch, stitchFillHoles: _fill, stitchCrosstalkCorrection: _crosstalk, stitchCentroidRefinement: _centroids, groupRefinement: _groupRefinement, stitchBlend: _blend, stitchAmplitudeFilter: _amplitudeFilter, stitchPhaseFilter: _phaseFilter, stitchContrastCalibration: _contrast, previewCenter: _pc, previewSize: _ps, ...stable } = rest;
  const training = { ...stable, stitchPhaseAlignment: false };
  // The support the network was built with: 'auto' and what it resolves to are one model.
  const support = resolveObjectSupport({ objectSupport, probeBig }, c.gridsize);
  // rampOrigin: gridsize-2 ramp planes share the group's origin (graphs.ts phaseRamp); checkpoints from before that
  // change hold a different model and do not resume.
  const later = { ...(warmupSteps !== 0 ? { warmupSteps } : {}), ...(weightInit !== 'glorot' ? { weightInit } : {}), ...(probeBig ? { probeBig } : {}), ...(rampHead ? { rampHead, ...(c.gridsize > 1 && rampOrigin ? { rampOrigin: 'group' } : {}) } : {}), ...(energyAmplitude ? { energyAmplitude } : {}), ...(support !== 'centre' ? { objectSupport: support } : {}), ...(residualBlocks ? { residualBlocks } : {}), ...(regroupEachEpoch && c.gridsize > 1 ? { regroupEachEpoch } : {}), ...(resolveGridsizeTwoSwitch(symmetryAugment, c.gridsize) ? { symmetryAugment: true } : {}), ...(backprojectedInput ? { backprojectedInput } : {}) };
  return { n: c.n, gridsize: c.gridsize, nGroups: c.nGroups, training: { ...training, ...later }, trainPath: c.trainPath, dose: c.dose };
}

/**
 * The fingerprint of a run's configuration alone, recorded in its checkpoints (`launchKey`): the launcher refuses
 * a resume with other settings before it writes anything, so the job stays as it was.
 */
export function launchKeyOf(config: RunConfig): string {
  return configKeyOf({ launch: fingerprintParts(config) });
}

/**
 * The settings in which `ran` (the configuration that wrote a checkpoint) and `next` differ, as "name old → new"
 * (dotted names under training), for the message of a refused resume; empty when they agree on every one.
 */
export function fingerprintDifferences(ran: RunConfig, next: RunConfig): string[] {
  return keyDifferences(fingerprintParts(ran), fingerprintParts(next));
}

/** The entries in which two fingerprints' parts differ, as "name old → new", nested objects' names dotted (training.lr). */
export function keyDifferences(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const out: string[] = [];
  const show = (v: unknown): string => (v === undefined ? 'unset' : JSON.stringify(v));
  const isRecord = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);
  const compare = (x: Record<string, unknown>, y: Record<string, unknown>, prefix: string): void => {
    for (const key of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
      const u = x[key], v = y[key];
      if (isRecord(u) && isRecord(v)) {
        compare(u, v, `${prefix}${key}.`);
      } else if (configKeyOf({ v: u }) !== configKeyOf({ v: v })) {
        out.push(`${prefix}${key} ${show(u)} → ${show(v)}`);
      }
    }
  };
  compare(a, b, '');
  return out;
}
