/**
 * The OpenAPI 3.0.1 documents of `OPTIONS /` and `/api-description` (spec §1.9), describing
 * ortserve's own routes, and the per-model documents of `OPTIONS /predictions/{m}` and `OPTIONS /models/{m}`.
 * Their shape follows TorchServe's (pytorch/serve frontend OpenApiUtils): every listener's document
 * lists `/metrics` (the metrics listener's lists nothing else), the per-model documents are titled
 * "RESTful API for: m" / "RESTful Management API for: m", and the response codes are TorchServe's
 * (210 is its "Partial Success").
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
  for (const c of codes) responses[String(c)] = c < 400 ? status : error;
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
const timeoutParam = param('timeout', 'query', 'integer', 'Accepted for TorchServe clients: seconds to wait for pending requests (-1: forever, the default).');
const scaleParams = [
  param('min_worker', 'query', 'integer', 'Worker count to reach (default 1).'),
  param('max_worker', 'query', 'integer', 'Upper bound (default min_worker).'),
  param('number_gpu', 'query', 'integer', 'Accepted for TorchServe clients; ortserve runs on the CPU, so it is ignored.'),
  param('synchronous', 'query', 'boolean', 'Wait for workers to load (default false).'),
  timeoutParam,
];
const unregisterParams = [param('synchronous', 'query', 'boolean', 'Accepted for TorchServe clients (default false).'), timeoutParam];

const metricsPath = {
  get: {
    ...op('Metrics in the Prometheus text format', 'metrics', [param('name[]', 'query', 'string', 'Names of metrics to return (repeatable).')], {
      description: 'Metrics',
      content: { 'text/plain; version=0.0.4; charset=utf-8': { schema: { type: 'string' } } },
    }, [500]),
  },
};

const SERVER_INFO = {
  title: 'ortserve APIs',
  description: 'ortserve is a TorchServe-compatible model server for ONNX models, written in TypeScript',
  version: SERVER_VERSION,
};

/** A listener's document: its paths and, as in every TorchServe API description, `/metrics`. */
function document(paths: Json, info: Json = SERVER_INFO, withMetrics = true): Json {
  return {
    openapi: '3.0.1',
    info,
    paths: withMetrics ? { ...paths, '/metrics': metricsPath } : paths,
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
    '/invocations': { post: predictOp('SageMaker-style predict with the model named by model_name', 'invocations', [param('model_name', 'query', 'string', 'The model (default: the one model loaded at startup).')]) },
    '/models/{model_name}/invoke': { post: predictOp('SageMaker-style predict with a model', 'invokeModel', [modelName]) },
    '/{model_name}/predict': { post: predictOp('Legacy predict with the default version', 'legacyPredict', [modelName]) },
    '/{model_name}/{model_version}/predict': { post: predictOp('Legacy predict with a version', 'legacyVersionPredict', [modelName, modelVersion]) },
  });
}

/** The metrics listener's `OPTIONS /` and `/api-description`: `/metrics` only, as TorchServe's. */
export function metricsApi(): Json {
  return document({});
}

export function managementApi(): Json {
  const listParams = [
    param('limit', 'query', 'integer', 'Page size, 1-100 (default 100).'),
    param('next_page_token', 'query', 'string', 'The token the previous page returned as "nextPageToken".'),
  ];
  return document({
    '/': apiDescription,
    '/api-description': { get: op('API description', 'apiDescriptionGet', [], { description: 'This document.' }, []) },
    '/models': {
      get: op('List models (default versions)', 'listModels', listParams, { description: 'Models' }, [500]),
      post: op('Register a model', 'registerModel', registerParams, status, [202, 210, 400, 404, 405, 409, 500]),
    },
    ...modelPaths(),
    '/v1/models/{model_name}': { get: op('KServe v1 readiness', 'kserveReady', [modelName], { description: '{"name","ready"}' }, [404]) },
    '/token': {
      get: op('Rotate a key (with the API key)', 'token', [param('type', 'query', 'string', 'inference or management', true)], { description: 'Rotated; the new key is in key_file.json' }, [400]),
    },
  });
}

/** The per-model management routes: in the management document and in `OPTIONS /models/{m}`. */
function modelPaths(): Json {
  const nameVersion = [modelName, modelVersion];
  const describeParams = [param('customized', 'query', 'boolean', 'Ask the handler for metadata.')];
  return {
    '/models/{model_name}': {
      get: op('Describe the default version', 'describeModel', [modelName, ...describeParams], { description: 'Description' }, [404, 500, 503]),
      put: op('Scale workers', 'setAutoScale', [modelName, ...scaleParams], status, [202, 210, 400, 404, 500]),
      delete: op('Unregister the default version', 'unregisterModel', [modelName, ...unregisterParams], status, [202, 403, 404, 405, 408, 500]),
    },
    '/models/{model_name}/{model_version}': {
      get: op('Describe a version, or all versions with "all"', 'describeModelVersion', [...nameVersion, ...describeParams], { description: 'Description' }, [404, 500, 503]),
      put: op('Scale workers of a version', 'setAutoScaleVersion', [...nameVersion, ...scaleParams], status, [202, 210, 400, 404, 500]),
      delete: op('Unregister a version', 'unregisterModelVersion', [...nameVersion, ...unregisterParams], status, [202, 403, 404, 405, 408, 500]),
    },
    '/models/{model_name}/{model_version}/set-default': {
      put: op('Make a version the default', 'setDefault', nameVersion, status, [404, 500]),
    },
  };
}

/**
 * `OPTIONS /predictions/{m}`: TorchServe's getModelApi, path names included (its "/prediction/m" is
 * singular there).
 */
export function modelInferenceApi(name: string): Json {
  const entry = { post: op(name, name, [], { description: 'OK' }, [500]) };
  (entry.post as Json)['description'] = `A predict entry point for model: ${name}.`;
  return document(
    { [`/prediction/${name}`]: entry, '/v1/models/{model_name}:predict': entry, '/v2/models/{model_name}/infer': entry },
    { title: `RESTful API for: ${name}`, version: '1.0.0' },
    false,
  );
}

/** `OPTIONS /models/{m}` on the management API: TorchServe's getModelManagementApi. */
export function modelManagementApi(name: string): Json {
  return document(modelPaths(), { title: `RESTful Management API for: ${name}`, version: SERVER_VERSION }, false);
}
