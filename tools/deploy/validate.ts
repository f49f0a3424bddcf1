/**
 * Validation of the deployment files without a cluster (issue 8), used by test/deploy/manifests.test.ts and
 * runnable by hand: `node dist/tools/deploy/validate.js` (after npm run build) prints one line per resource
 * and exits 1 on any problem.
 *
 * - Kubernetes objects (deploy/kubernetes/*.yaml) are validated with kubernetes-models, whose validators are
 *   compiled from Kubernetes' OpenAPI schema (types, formats such as quantities, required fields, enums).
 * - KServe objects (deploy/kserve/*.yaml) are validated with Ajv against the trimmed CRD schemas in
 *   deploy/kserve/crds/ (README there); their embedded Kubernetes types with kubernetes-models, as above.
 * - Unknown fields are errors at every depth, as with `kubectl apply` (server-side strict field
 *   validation): the OpenAPI validators ignore them, so every Kubernetes part is also type-checked, by the
 *   TypeScript compiler, as an object literal of kubernetes-models' interface for it (excess property
 *   checks), and the CRD schemas get `additionalProperties: false` wherever they list properties.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export interface Manifest {
  /** Path relative to the repository. */
  file: string;
  /** Index of the document in its file. */
  index: number;
  doc: Record<string, unknown>;
}

export interface Problem {
  where: string;
  message: string;
}

/** Every YAML document of every `.yaml` file directly in `dir` (relative to the repository). */
export function loadManifests(dir: string): Manifest[] {
  const out: Manifest[] = [];
  for (const name of readdirSync(path.join(REPO, dir)).filter((f) => f.endsWith('.yaml')).sort()) {
    const file = path.join(dir, name);
    parseAllDocuments(readFileSync(path.join(REPO, file), 'utf8')).forEach((d, index) => {
      if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
      const doc = d.toJS() as Record<string, unknown> | null;
      if (doc) out.push({ file, index, doc });
    });
  }
  return out;
}

export const label = (m: Manifest): string =>
  `${m.file}#${m.index} ${String(m.doc.kind)}/${String((m.doc.metadata as { name?: string } | undefined)?.name)}`;

/** A Kubernetes definition: its kubernetes-models schema validator and TypeScript interface. */
interface K8sType {
  /** Module under kubernetes-models/_schemas/ exporting `validate`. */
  schema: string;
  /** Module of kubernetes-models exporting the interface, and the interface's name. */
  module: string;
  iface: string;
}

const core = (name: string): K8sType => ({
  schema: `IoK8sApiCoreV1${name}`,
  module: `kubernetes-models/v1/${name}`,
  iface: `IIoK8sApiCoreV1${name}`,
});

/** The top-level kinds the deploy files use, by `apiVersion kind`. */
const KINDS: Record<string, K8sType> = {
  'apps/v1 Deployment': { schema: 'IoK8sApiAppsV1Deployment', module: 'kubernetes-models/apps/v1/Deployment', iface: 'IDeployment' },
  'v1 Service': { schema: 'IoK8sApiCoreV1Service', module: 'kubernetes-models/v1/Service', iface: 'IService' },
  'v1 ConfigMap': { schema: 'IoK8sApiCoreV1ConfigMap', module: 'kubernetes-models/v1/ConfigMap', iface: 'IConfigMap' },
  'v1 Secret': { schema: 'IoK8sApiCoreV1Secret', module: 'kubernetes-models/v1/Secret', iface: 'ISecret' },
  'policy/v1 PodDisruptionBudget': {
    schema: 'IoK8sApiPolicyV1PodDisruptionBudget',
    module: 'kubernetes-models/policy/v1/PodDisruptionBudget',
    iface: 'IPodDisruptionBudget',
  },
  'autoscaling/v2 HorizontalPodAutoscaler': {
    schema: 'IoK8sApiAutoscalingV2HorizontalPodAutoscaler',
    module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    iface: 'IHorizontalPodAutoscaler',
  },
  'networking.k8s.io/v1 NetworkPolicy': {
    schema: 'IoK8sApiNetworkingV1NetworkPolicy',
    module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    iface: 'INetworkPolicy',
  },
};

/** The definitions the CRD schemas name with `x-ortserve-k8s` / `x-ortserve-k8s-inline`. */
const EMBEDDED: Record<string, K8sType> = {
  Container: core('Container'),
  Volume: core('Volume'),
  Affinity: core('Affinity'),
  Toleration: core('Toleration'),
  EnvVar: core('EnvVar'),
  LocalObjectReference: core('LocalObjectReference'),
  PodSpec: core('PodSpec'),
  DeploymentStrategy: {
    schema: 'IoK8sApiAppsV1DeploymentStrategy',
    module: 'kubernetes-models/apps/v1/DeploymentStrategy',
    iface: 'IIoK8sApiAppsV1DeploymentStrategy',
  },
};

type SchemaValidate = ((data: unknown) => boolean) & {
  errors?: Array<{ instancePath: string; message?: string; keyword?: string; params?: unknown }> | null;
};

/** kubernetes-models 4 (the line for Node 20) ships _schemas/ without exporting it: imported by file. */
const K8S_SCHEMAS = path.join(path.dirname(createRequire(import.meta.url).resolve('kubernetes-models')), '_schemas');

async function schemaValidator(t: K8sType): Promise<SchemaValidate> {
  const file = pathToFileURL(path.join(K8S_SCHEMAS, `${t.schema}.mjs`)).href;
  return ((await import(file)) as { validate: SchemaValidate }).validate;
}

const ajvErrors = (errors: SchemaValidate['errors']): string =>
  [...new Set((errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? `${e.keyword} ${JSON.stringify(e.params)}`}`))].join('; ');

/** A part of a document to check against a Kubernetes definition. */
interface Part {
  where: string;
  type: K8sType;
  value: unknown;
}

// ---------------------------------------------------------------------------------------------------------
// KServe: the CRD schema, made strict, and the embedded Kubernetes parts it marks

interface CrdFile {
  group: string;
  versions: string[];
  kinds: string[];
  openAPIV3Schema: Record<string, unknown>;
}

type Schema = Record<string, unknown>;

/** The Ajv schema: markers become "anything" (checked as Parts), listed properties become closed. */
function strictSchema(s: Schema): Schema {
  if (s['x-ortserve-k8s']) return {};
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-')) continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([p, ps]) => [p, strictSchema(ps)]));
    } else if (k === 'items' || (k === 'additionalProperties' && typeof v === 'object')) {
      out[k] = strictSchema(v as Schema);
    } else {
      out[k] = v;
    }
  }
  if (s.properties && !('additionalProperties' in s) && !s['x-kubernetes-preserve-unknown-fields'] && !s['x-ortserve-k8s-inline']) {
    out.additionalProperties = false;
  }
  // metadata: a closed ObjectMeta subset is enough for these manifests.
  return out;
}

/** The embedded Kubernetes parts of `value`, by the schema's markers. */
function embeddedParts(s: Schema, value: unknown, where: string, out: Part[]): void {
  if (value === undefined || value === null) return;
  const marker = s['x-ortserve-k8s'] as string | undefined;
  if (marker && marker !== 'ObjectMeta') {
    out.push({ where, type: EMBEDDED[marker]!, value });
    return;
  }
  const inline = s['x-ortserve-k8s-inline'] as string | undefined;
  if (inline && typeof value === 'object') {
    const own = new Set(Object.keys((s.properties as Schema | undefined) ?? {}));
    const rest = Object.fromEntries(Object.entries(value as Schema).filter(([k]) => !own.has(k)));
    // The inline type's required fields are the outer object's business (a model's container is named by KServe).
    if (inline === 'PodSpec') rest.containers ??= [];
    if (inline === 'Container') rest.name ??= 'kserve-container';
    out.push({ where: `${where} (inline ${inline})`, type: EMBEDDED[inline]!, value: rest });
  }
  if (s.properties && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, ps] of Object.entries(s.properties as Record<string, Schema>)) {
      embeddedParts(ps, (value as Schema)[k], `${where}.${k}`, out);
    }
  }
  if (s.items && Array.isArray(value)) value.forEach((v, i) => embeddedParts(s.items as Schema, v, `${where}[${i}]`, out));
}

const METADATA: Schema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
    namespace: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
  },
};

function loadCrds(): Map<string, { crd: CrdFile; validate: ValidateFunction }> {
  const ajv = new Ajv({ allErrors: true, strict: false });
  // Kubernetes' integer formats.
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  const byKind = new Map<string, { crd: CrdFile; validate: ValidateFunction }>();
  const dir = 'deploy/kserve/crds';
  for (const name of readdirSync(path.join(REPO, dir)).filter((f) => f.endsWith('.yaml'))) {
    const crd = parseAllDocuments(readFileSync(path.join(REPO, dir, name), 'utf8'))[0]!.toJS() as CrdFile;
    const schema = strictSchema(crd.openAPIV3Schema);
    (schema.properties as Schema).metadata = METADATA;
    schema.required = ['apiVersion', 'kind', 'metadata', 'spec'];
    const validate = ajv.compile(schema);
    for (const v of crd.versions) for (const k of crd.kinds) byKind.set(`${crd.group}/${v} ${k}`, { crd, validate });
  }
  return byKind;
}

// ---------------------------------------------------------------------------------------------------------
// Unknown fields: kubernetes-models' interfaces through the TypeScript compiler

/** Type-checks every part as an object literal of its interface; one Problem per excess or wrong field. */
export function typeCheck(parts: Part[]): Problem[] {
  if (parts.length === 0) return [];
  const file = path.join(REPO, '.deploy-typecheck.ts');
  const imports = new Map<string, string>();
  const lines: string[] = [];
  parts.forEach((p, i) => {
    const alias = `T${imports.size}`;
    const key = `${p.type.module}#${p.type.iface}`;
    if (!imports.has(key)) imports.set(key, alias);
    lines.push(`export const v${i}: ${imports.get(key)} = ${JSON.stringify(p.value)};`);
  });
  const header = [...imports].map(([key, alias]) => {
    const [mod, iface] = key.split('#');
    return `import type { ${iface} as ${alias} } from '${mod}';`;
  });
  const text = [...header, ...lines].join('\n');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    path.resolve(name) === file ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  const source = program.getSourceFile(file)!;
  return ts.getPreEmitDiagnostics(program, source).map((d) => {
    const line = d.start === undefined ? -1 : source.getLineAndCharacterOfPosition(d.start).line - header.length;
    const where = parts[line]?.where ?? '(type check)';
    return { where, message: ts.flattenDiagnosticMessageText(d.messageText, ' ') };
  });
}

// ---------------------------------------------------------------------------------------------------------

/** Every manifest of deploy/kubernetes and deploy/kserve. */
export const deployManifests = (): Manifest[] => [...loadManifests('deploy/kubernetes'), ...loadManifests('deploy/kserve')];

/** Validates `manifests` (by default every deploy file); an empty list of problems means all are valid. */
export async function validateAll(manifests: Manifest[] = deployManifests()): Promise<{ checked: string[]; problems: Problem[] }> {
  const problems: Problem[] = [];
  const checked: string[] = [];
  const parts: Part[] = [];
  const crds = loadCrds();
  for (const m of manifests) {
    const where = label(m);
    const type = `${String(m.doc.apiVersion)} ${String(m.doc.kind)}`;
    if (type === 'kustomize.config.k8s.io/v1beta1 Kustomization') {
      const listed = (m.doc.resources as string[]) ?? [];
      for (const r of listed) {
        try {
          readFileSync(path.join(REPO, path.dirname(m.file), r));
        } catch {
          problems.push({ where, message: `resource ${r} does not exist` });
        }
      }
      checked.push(where);
      continue;
    }
    const k8s = KINDS[type];
    const crd = crds.get(type);
    if (k8s) {
      const validate = await schemaValidator(k8s);
      if (!validate(m.doc)) problems.push({ where, message: ajvErrors(validate.errors) });
      parts.push({ where, type: k8s, value: m.doc });
    } else if (crd) {
      if (!crd.validate(m.doc)) problems.push({ where, message: ajvErrors(crd.validate.errors as SchemaValidate['errors']) });
      const embedded: Part[] = [];
      embeddedParts(crd.crd.openAPIV3Schema, m.doc, where, embedded);
      for (const p of embedded) {
        const validate = await schemaValidator(p.type);
        if (!validate(p.value)) problems.push({ where: p.where, message: ajvErrors(validate.errors) });
      }
      parts.push(...embedded);
    } else {
      problems.push({ where, message: `no schema for ${type}` });
    }
    checked.push(where);
  }
  problems.push(...typeCheck(parts));
  return { checked, problems };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { checked, problems } = await validateAll();
  for (const c of checked) console.log(`checked ${c}`);
  for (const p of problems) console.log(`ERROR ${p.where}: ${p.message}`);
  console.log(problems.length ? `${problems.length} problem(s)` : 'all valid');
  process.exitCode = problems.length ? 1 : 0;
}
