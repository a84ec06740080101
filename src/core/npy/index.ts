// Public entry of the NumPy .npy/.npz data layer (pure Node: no `vscode`, no onnxruntime).
export * from './types';
export { parseDescr } from './dtype';
export { parseNpyHeader, npyHeaderLength, formatNpyHeader } from './header';
export { openNpz, openNpy, withNpz, withNpy, NpzArchive, NpyFile, METADATA_MAX_BYTES, fileKind, type MetadataString } from './reader';
export { npyReadStats } from './source';
export { DEFAULT_MAX_BYTES, type ReadOptions } from './arrays';
export { ndarray, scalarString, encodeNpy, writeNpz, writeNpy, NpzWriter, type NpzWriteOptions } from './writer';
export { decodePickledString } from './pickle';
