/**
 * TorchServe's Postman suites as its CI ran them (pytorch/serve ts_scripts/api_utils.py, `trigger_*`):
 * which collection, with which data file and which config.properties. Upstream's data files name
 * TorchServe's image models and S3 archives; where a suite needs a model, ortserve runs the same collection
 * with its own data file (data/, same schema, see upstream test/data_file_config.md) for the bundled text
 * classifier, whose expected answers data/reference.ts computes with ONNX Runtime directly.
 */

export interface Suite {
  /** The name TorchServe's CI gives the run (`trigger_<name>_tests`). */
  readonly name: string;
  /** File under torchserve/ (vendored, unmodified). */
  readonly collection: string;
  /** Iteration data: `torchserve/<file>` (upstream's, unmodified) or `data/<file>` (ortserve's own). */
  readonly data?: string;
  /** config.properties lines, as TorchServe's CI wrote them (plus the listeners the runner assigns). */
  readonly properties: Readonly<Record<string, string>>;
  /** Listeners over TLS (the https suites, upstream test/resources/config*.properties). */
  readonly https?: boolean;
  /** Also start with a workflow store (upstream's workflow suites pass `workflow_store`). */
  readonly workflows?: boolean;
}

/**
 * TorchServe's CI starts TorchServe with its default `allowed_urls` (any file or http(s) URL); ortserve's
 * default is stricter (file:// only, docs/security.md), so the suites run with TorchServe's setting.
 */
const CI = { disable_token_authorization: 'true', enable_model_api: 'true', allowed_urls: 'file://.*|http(s)?://.*' };
const PROMETHEUS = { metrics_mode: 'prometheus' };

export const SUITES: readonly Suite[] = [
  { name: 'management', collection: 'management_api_test_collection.json', data: 'torchserve/management_data.json', properties: CI },
  { name: 'inference', collection: 'inference_api_test_collection.json', data: 'data/inference_data.json', properties: { ...PROMETHEUS, ...CI } },
  {
    name: 'increased_timeout_inference',
    collection: 'inference_api_test_collection.json',
    data: 'data/increased_timeout_inference.json',
    properties: { default_response_timeout: '300', ...PROMETHEUS, ...CI },
  },
  { name: 'https', collection: 'https_test_collection.json', properties: CI, https: true },
  { name: 'management_kf', collection: 'management_api_test_collection.json', data: 'torchserve/management_data.json', properties: { ...CI, service_envelope: 'kserve' } },
  { name: 'inference_kf', collection: 'kf_api_test_collection.json', data: 'data/kf_inference_data.json', properties: { service_envelope: 'kserve', ...PROMETHEUS, ...CI } },
  // Vendored upstream beside kf_api_test_collection.json (same requests) but not run by its CI; run here too.
  { name: 'inference_kf_collection', collection: 'kf_inference_api_test_collection.json', data: 'data/kf_inference_data.json', properties: { service_envelope: 'kserve', ...PROMETHEUS, ...CI } },
  { name: 'https_kf', collection: 'kf_https_test_collection.json', properties: { ...CI, service_envelope: 'kserve' }, https: true },
  { name: 'inference_kfv2', collection: 'kfv2_api_test_collection.json', data: 'data/kfv2_inference_data.json', properties: { service_envelope: 'kservev2', ...PROMETHEUS, ...CI } },
  { name: 'https_kfv2', collection: 'kfv2_https_test_collection.json', properties: { ...CI, service_envelope: 'kservev2' }, https: true },
  { name: 'explanation', collection: 'explanation_api_test_collection.json', data: 'data/explanation_data.json', properties: { ...PROMETHEUS, ...CI } },
  // Upstream's CI skips these two as flaky (trigger_all); ortserve runs them.
  { name: 'workflow', collection: 'workflow_api_test_collection.json', data: 'data/workflow_data.json', properties: CI, workflows: true },
  { name: 'workflow_inference', collection: 'workflow_inference_collection.json', data: 'data/workflow_inference_data.json', properties: CI, workflows: true },
];
