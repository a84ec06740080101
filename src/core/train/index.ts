// Training, inference and stitching on top of the model graphs (pure Node; onnxruntime is passed in).
export * from './data';
export * from './groups';
export * from './checkpoint';
export * from './runtime';
export * from './stitch';
export * from './halfSetFilter';
export * from './contrastCalibration';
export * from './centroids';
export * from './groupRefinement';
export * from './reconstruct';
export * from './trainer';
export * from './fingerprint';
export * from './qualityMonitor';
export * from './phaseSync';
export * from './schedule';
export * from './refinementSelection';
export * from './patternFit';
