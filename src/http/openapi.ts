/**
 * The OpenAPI 3.0.1 documents of `OPTIONS /` and `/api-description` (spec §1.9), describing
 * ortserve's own routes, and the per-model documents of `OPTIONS /predictions/{m}` and `OPTIONS /models/{m}`.
 */
import { SERVER_VERSION } from '../registry/model-version.js';

type Json = Record<string, unknown>;

const error = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
const status = { description: 'OK', content: { 'application/json': { schema: { $ref: '#/components/schemas/Status' } } } };

function param(name: string, where: 'path' | 'query', type: 'string' | 'integer' | 'boolean', description: string, required = where === 'path'): Json {
  return { name, in: where, required, description, schema: { type } };
}

function op(summary: string, operationId: string, parameters: Json[], ok: Json, codes: number[]): Json {
  const responses: Json = { '200': ok };
  for (const c of codes) responses[String(c)] = error;
  return { summary, operationId, parameters, responses };
}

const modelName = param('model_name', 'path', 'string', 'Name of the model.');
const modelVersion = param('model_version', 'path', 'string', 'Version of the model.');
const predictBody = { description: 'Input data: any content type, or form fields.', content: { '*/*': { schema: { type: 'string', format: 'binary' } } } };
const prediction = { description: 'The handler output.', content: { '*/*': { schema: { type: 'string', format: 'binary' } } } };

function predictOp(summary: string, id: string, params: Json[]): Json {
  return { ...op(summary, id, params, prediction, [400, 404, 500, 503, 507]), requestBody: predictBody };
}

const registerParams = [
  param('url', 'query', 'string', 'Model archive: a model-store name, a directory, or a URL matching allowed_urls.', true),
  param('model_name', 'query', 'string', 'Overrides the manifest modelName.'),
  param('handler', 'query', 'string', 'Overrides the manifest handler.'),
  param('runtime', 'query', 'string', 'python, python3 or LSP (all run TypeScript handlers in worker threads).'),
  param('batch_size', 'query', 'integer', 'Inference batch size (default 1).'),
  param('max_batch_delay', 'query', 'integer', 'Maximum wait for a batch, ms (default 100).'),
  param('initial_workers', 'query', 'integer', 'Workers to start (default default_workers_per_model).'),
  param('synchronous', 'query', 'boolean', 'Wait for workers to load (default true).'),
  param('response_timeout', 'query', 'integer', 'Seconds before a worker is declared dead (default 120).'),
  param('startup_timeout', 'query', 'integer', 'Seconds a worker may take to load (default 120).'),
];
const scaleParams = [
  param('min_worker', 'query', 'integer', 'Worker count to reach (default 1).'),
  param('max_worker', 'query', 'integer', 'Upper bound (default min_worker).'),
  param('synchronous', 'query', 'boolean', 'Wait for workers to load (default false).'),
];

function document(paths: Json): Json {
  return {
    openapi: '3.0.1',
    info: {
      title: 'ortserve APIs',
      description: 'ortserve is a TorchServe-compatible model server for ONNX models, written in TypeScript',
      version: SERVER_VERSION,
    },
    paths,
    components: {
      schemas: {
        Error: {
          type: 'object',
          required: ['code', 'type', 'message'],
          properties: { code: { type: 'integer' }, type: { type: 'string' }, message: { type: 'string' } },
        },
        Status: { type: 'object', required: ['status'], properties: { status: { type: 'string' } } },
      },
    },
  };
}

const apiDescription = { options: op('API description', 'apiDescription', [], { description: 'This document.' }, []) };

export function inferenceApi(): Json {
  return document({
    '/': apiDescription,
    '/api-description': { get: op('API description', 'apiDescriptionGet', [], { description: 'This document.' }, []) },
    '/ping': { get: op('Health: 200 Healthy, or 500 Unhealthy', 'ping', [], status, [500]) },
    '/predictions/{model_name}': { post: predictOp('Predict with the default version', 'predictions', [modelName]) },
    '/predictions/{model_name}/{model_version}': {
      post: predictOp('Predict with a version', 'versionPredictions', [modelName, modelVersion]),
    },
    '/explanations/{model_name}': { post: predictOp('Explain with the default version', 'explanations', [modelName]) },
    '/explanations/{model_name}/{model_version}': {
      post: predictOp('Explain with a version', 'versionExplanations', [modelName, modelVersion]),
    },
    '/v1/models/{model_name}:predict': { post: predictOp('KServe v1 predict (body passed through)', 'kserveV1Predict', [modelName]) },
    '/v1/models/{model_name}:explain': { post: predictOp('KServe v1 explain (body passed through)', 'kserveV1Explain', [modelName]) },
    '/v2/models/{model_name}/infer': { post: predictOp('KServe v2 infer (body passed through)', 'kserveV2Infer', [modelName]) },
    '/v2/models/{model_name}/explain': { post: predictOp('KServe v2 explain (body passed through)', 'kserveV2Explain', [modelName]) },
  });
}

export function managementApi(): Json {
  const nameVersion = [modelName, modelVersion];
  const listParams = [
    param('limit', 'query', 'integer', 'Page size, 1-100 (default 100).'),
    param('next_page_token', 'query', 'integer', 'Offset returned by the previous page.'),
  ];
  return document({
    '/': apiDescription,
    '/api-description': { get: op('API description', 'apiDescriptionGet', [], { description: 'This document.' }, []) },
    '/models': {
      get: op('List models (default versions)', 'listModels', listParams, { description: 'Models' }, []),
      post: op('Register a model', 'registerModel', registerParams, status, [202, 206, 400, 404, 405, 409, 500]),
    },
    '/models/{model_name}': {
      get: op('Describe the default version', 'describeModel', [modelName, param('customized', 'query', 'boolean', 'Ask the handler for metadata.')], { description: 'Description' }, [404, 503]),
      put: op('Scale workers', 'setAutoScale', [modelName, ...scaleParams], status, [202, 206, 400, 404, 500]),
      delete: op('Unregister the default version', 'unregisterModel', [modelName], status, [403, 404, 405]),
    },
    '/models/{model_name}/{model_version}': {
      get: op('Describe a version, or all versions with "all"', 'describeModelVersion', nameVersion, { description: 'Description' }, [404, 503]),
      put: op('Scale workers of a version', 'setAutoScaleVersion', [...nameVersion, ...scaleParams], status, [202, 206, 400, 404, 500]),
      delete: op('Unregister a version', 'unregisterModelVersion', nameVersion, status, [403, 404, 405]),
    },
    '/models/{model_name}/{model_version}/set-default': {
      put: op('Make a version the default', 'setDefault', nameVersion, status, [404]),
    },
    '/v1/models/{model_name}': { get: op('KServe v1 readiness', 'kserveReady', [modelName], { description: '{"name","ready"}' }, [404]) },
    '/token': {
      get: op('Rotate a key (with the API key)', 'token', [param('type', 'query', 'string', 'inference or management', true)], { description: 'Rotated; the new key is in key_file.json' }, [400]),
    },
  });
}

/** `OPTIONS /predictions/{m}`: the routes of one model. */
export function modelInferenceApi(name: string): Json {
  return document({
    [`/predictions/${name}`]: { post: predictOp(`Predict with ${name}`, 'predictions', []) },
    [`/predictions/${name}/{model_version}`]: { post: predictOp(`Predict with a version of ${name}`, 'versionPredictions', [modelVersion]) },
  });
}

/** `OPTIONS /models/{m}` on the management API. */
export function modelManagementApi(name: string): Json {
  return document({
    [`/models/${name}`]: {
      get: op(`Describe ${name}`, 'describeModel', [], { description: 'Description' }, [404]),
      put: op(`Scale ${name}`, 'setAutoScale', scaleParams, status, [400, 404]),
      delete: op(`Unregister ${name}`, 'unregisterModel', [], status, [403, 404, 405]),
    },
  });
}
