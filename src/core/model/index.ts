// The PtychoPINN model: architecture bookkeeping, host-side physics constants and the ONNX graphs.
export * from './architecture';
export * from './physics';
export * from './graphs';
