/**
 * Describe (spec §2.4), shared by REST `GET /models/{m}[/{v}|/all]` and gRPC `DescribeModel`: the list of
 * version descriptions, with the handler's own metadata when `customized` asks for it.
 */
import { randomUUID } from 'node:crypto';
import { ServiceUnavailableException } from '../errors.js';
import { Job } from '../scheduling/job.js';
import { describeVersion } from './describe.js';
import type { ModelRegistry } from './model-registry.js';
import type { ModelVersion } from './model-version.js';

/** `customized=true`: asks a worker for the handler's own metadata (a DESCRIBE job, sent alone). */
export async function customizedMetadata(mv: ModelVersion): Promise<unknown> {
  if (mv.workerList.length === 0) {
    throw new ServiceUnavailableException(
      `Model "${mv.name}" has no worker to serve describe request. Please use scale workers API to add workers.`,
    );
  }
  const job = new Job({ requestId: randomUUID(), headers: { describe: 'True' }, parameters: [] });
  mv.submit(job, false);
  const outcome = await job.outcome;
  if (!outcome.ok) throw outcome.error;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(outcome.response.body).toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/**
 * The describe answer for `name` (`version` null: the default; `'all'`: every version, never customized).
 * Throws the registry's 404s and customizedMetadata's 503.
 */
export async function describeModels(
  registry: ModelRegistry,
  name: string,
  version: string | null,
  customized: boolean,
): Promise<Array<Record<string, unknown>>> {
  if (version === 'all') return registry.versions(name).map((v) => describeVersion(v));
  const mv = registry.get(name, version);
  return [describeVersion(mv, customized ? await customizedMetadata(mv) : undefined)];
}
