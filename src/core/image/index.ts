// Shared pure image code: colormaps and value → RGBA mapping, statistics and decimation, ticks. Safe for
// the browser bundles (no Node APIs). The PNG encoder (Node) is imported separately from './png'.
export * from './colormaps';
export * from './stats';
export * from './ticks';
