/** ortserve's model generator: random-weight DistilBERT classifiers in ONNX, with tokenizer files. */
export { GraphBuilder, attr, tensorProto, type AttrValue, type Dim, type ModelOptions, type TensorData } from './graph.js';
export { DataType, decodeModel, encodeModel, type ModelProtoData } from './onnx-proto.js';
export {
  PRESETS,
  buildDistilBertGraph,
  distilBertParameterCount,
  generateDistilBert,
  type DistilBertOptions,
  type DistilBertPreset,
  type ModelDtype,
} from './distilbert.js';
export { DynamicQuantizer, quantizeInt8Symmetric, quantizeUint8Asymmetric, weightOnlyInt8Linear } from './quantize.js';
export {
  SPECIAL_TOKENS,
  buildTokenizerFiles,
  buildVocab,
  normalizeBert,
  preTokenizeBert,
  type TokenizerConfig,
  type TokenizerFileOptions,
  type TokenizerJson,
} from './tokenizer.js';
export {
  buildConfigJson,
  buildModelFiles,
  writeModelDir,
  type DistilBertConfigJson,
  type ModelDirOptions,
  type ModelDirSummary,
} from './model-dir.js';
export { DEFAULT_CORPUS } from './corpus.js';
export { mulberry32, normalArray } from './rng.js';
