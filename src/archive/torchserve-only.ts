/**
 * What a TorchServe archive may hold that ortserve cannot run, in one place: the archiver warns about
 * it (and fails with --strict), and the server's messages name it when such an archive is registered.
 * docs/migrating-from-torchserve.md says what to do instead.
 */
import path from 'node:path';

/** The built-in handlers ortserve has (workers/handler-source.ts maps each to its module). */
export const ORTSERVE_BUILTIN_HANDLERS = ['text_classifier', 'image_classifier', 'object_detector', 'image_segmenter'] as const;
export type OrtserveBuiltinHandler = (typeof ORTSERVE_BUILTIN_HANDLERS)[number];

export function isOrtserveBuiltin(name: string): name is OrtserveBuiltinHandler {
  return (ORTSERVE_BUILTIN_HANDLERS as readonly string[]).includes(name);
}

/** Extensions of PyTorch (and Hugging Face) weight files: TorchScript, pickled state dicts, safetensors. */
const PYTORCH_WEIGHT_EXTENSIONS = ['.pt', '.pth', '.bin', '.ckpt', '.pkl', '.safetensors'];

export function isPyTorchWeights(file: string): boolean {
  return PYTORCH_WEIGHT_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

export const MIGRATION_HINT = 'see docs/migrating-from-torchserve.md (ortserve-migrate converts TorchServe archives)';

/** Why a PyTorch weights file cannot be served. */
export function pytorchWeightsMessage(file: string): string {
  return `${path.basename(file)} is a PyTorch weights file: ortserve runs ONNX models. Export the model with torch.onnx.export; ${MIGRATION_HINT}`;
}

export interface ArchiveInputs {
  handler: string;
  serializedFile?: string | null | undefined;
  requirementsFile?: string | null | undefined;
}

/**
 * The archiver's warnings: what in an archive about to be written ortserve will not run. `handlerIsFile`
 * tells whether the handler names a file (otherwise it is a built-in handler's name).
 */
export function servabilityWarnings(o: ArchiveInputs, handlerIsFile: boolean): string[] {
  const warnings: string[] = [];
  const handlerFile = o.handler.replace(/:[A-Za-z_$][\w$]*$/, '');
  if (handlerFile.endsWith('.py')) {
    warnings.push(`The handler ${path.basename(handlerFile)} is a Python file: ortserve runs handlers written in TypeScript or JavaScript, or its built-in handlers (${ORTSERVE_BUILTIN_HANDLERS.join(', ')}); ${MIGRATION_HINT}`);
  } else if (!handlerIsFile && !isOrtserveBuiltin(o.handler)) {
    warnings.push(`The handler "${o.handler}" is not one of ortserve's built-in handlers (${ORTSERVE_BUILTIN_HANDLERS.join(', ')}): the server will not find it`);
  }
  if (o.serializedFile && isPyTorchWeights(o.serializedFile)) warnings.push(pytorchWeightsMessage(o.serializedFile));
  if (o.requirementsFile) {
    warnings.push(`ortserve installs no Python packages: ${path.basename(o.requirementsFile)} will be packed but not used (handlers import only ortserve's own dependencies)`);
  }
  return warnings;
}
