// The study model: discovery, datasets and validation, the job matrix, manifests and run planning.
export * from './layout';
export * from './config';
export * from './findings';
export * from './dataset';
export * from './discovery';
export * from './jobs';
export * from './manifest';
export * from './fingerprint';
