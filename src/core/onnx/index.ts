// The ONNX graph compiler: a typed builder, an op library with backward rules, reverse-mode autodiff,
// an in-graph Adam step and a zero-dependency protobuf writer (opset 21, IR 10).
export { Graph, Value, sizeOf, shapeStr, OPSET, IR_VERSION, type Shape, type TypedData } from './graph';
export * as op from './ops';
export { gradients, adamUpdate, adamStepSize, adamOutputNames, ADAM_DEFAULTS, type AdamHyper } from './autodiff';
export { encodeModel, attr, ONNX_DTYPE, type DType } from './proto';
