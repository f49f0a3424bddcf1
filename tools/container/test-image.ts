/**
 * `npm run test:container` (issue 19): builds the Dockerfile with podman and runs the image as documented
 * (README "Deploy": its defaults, the repository's model-store/ mounted read-only), then checks
 *   1. GET /ping with the inference key the server wrote into the container's key_file.json: 200 Healthy;
 *   2. a prediction on the bundled taxonomy model (examples/taxonomy/sample.txt): one known label per line;
 *   3. the image's HEALTHCHECK (`podman healthcheck run`), which needs the docker image format;
 *   4. the server runs as a non-root user (uid 1000, the base image's `node`);
 *   5. `podman stop` (SIGTERM) drains: exit code 0 well before the stop timeout, with the drain logged.
 * It prints the build time and the image size.
 *
 * podman here is Debian's, rootful, with tools/container/containers.conf (runc, cgroupfs, ulimits within a
 * sandbox's hard limits). When the Dockerfile's base image cannot be pulled, tools/container/base-standin.sh
 * makes a local stand-in under the same name (kept between runs). The build runs with the host's network,
 * so `npm ci` reaches the registry the host uses, and with the host's CA bundle when NODE_EXTRA_CA_CERTS
 * names one (a machine that intercepts TLS).
 *
 * Exit 0 with a line starting `SKIPPED` only when podman cannot run on this machine (not installed and not
 * installable, or `podman info` fails); any failure after that (base image, build, a check) exits 1.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../deploy/validate.js';
import { freePort } from '../lib/free-port.js';

const SRC = path.join(REPO, 'tools', 'container');
const IMAGE = 'localhost/ortserve:test';
const CONTAINER = `ortserve-test-${process.pid}`;
const TAXONOMIES = ['exhibitions_museums', 'family_kids', 'festivals_nightlife', 'food_drink', 'music', 'performing_arts', 'sports', 'tours_outdoors'];
const STOP_TIMEOUT_S = 30;

const env = { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? path.join(SRC, 'containers.conf') };

function sh(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { env, encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs, maxBuffer: 64 << 20 });
}

/** podman's stdout, or an Error with its stderr. */
function podman(...args: string[]): string {
  const r = sh('podman', args);
  if (r.status !== 0) throw new Error(`podman ${args.join(' ')}: exit ${r.status}\n${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}

function skip(why: string): never {
  console.log(`SKIPPED: the container test did not run (${why}). The image was neither built nor checked.`);
  process.exit(0);
}

/** podman usable, installing Debian's podman, runc and debootstrap first when missing and root. */
function ensurePodman(): void {
  const missing = ['podman', 'runc', 'debootstrap'].filter((b) => sh('sh', ['-c', `command -v ${b} || test -x /usr/sbin/${b}`]).status !== 0);
  if (missing.length > 0) {
    if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) skip(`${missing.join(', ')} missing; as root on Debian: apt-get install ${missing.join(' ')}`);
    console.log(`test:container: installing ${missing.join(' ')} (apt-get)`);
    execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing, 'uidmap', 'containernetworking-plugins'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  if (process.getuid?.() !== 0) skip('podman is used rootful here and this is not root');
  if (!existsSync(env.CONTAINERS_CONF)) throw new Error(`CONTAINERS_CONF ${env.CONTAINERS_CONF} does not exist`);
  const info = sh('podman', ['info'], { timeoutMs: 60_000 });
  if (info.status !== 0) skip(`podman info failed: ${info.stderr.trim().split('\n').at(-1)}`);
}

/** The Dockerfile's base image: present, pulled, or the local stand-in. */
function ensureBase(): string {
  const base = /^FROM\s+(\S+)/m.exec(readFileSync(path.join(REPO, 'Dockerfile'), 'utf8'))![1]!;
  if (sh('podman', ['image', 'exists', base]).status === 0 && !standinOutdated(base)) {
    console.log(`test:container: base image ${base} present`);
    return base;
  }
  const pull = sh('podman', ['pull', '-q', `docker.io/library/${base}`], { timeoutMs: 120_000 });
  if (pull.status === 0) {
    console.log(`test:container: pulled ${base}`);
    return base;
  }
  console.log(`test:container: cannot pull ${base} (${(pull.stderr || 'timeout').trim().split('\n').at(-1)}); using a local stand-in`);
  const r = spawnSync('bash', [path.join(SRC, 'base-standin.sh'), base], { env, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`base-standin.sh ${base} failed (exit ${r.status})`);
  return base;
}

/** A stand-in made with another host node version is rebuilt (base-standin.sh decides; real images are kept). */
function standinOutdated(base: string): boolean {
  const label = sh('podman', ['image', 'inspect', '--format', '{{index .Labels "ortserve.standin.node"}}', base]).stdout.trim();
  return label !== '' && label !== '<no value>' && label !== process.version;
}

function build(): number {
  const args = ['build', '--format', 'docker', '--network', 'host', '-t', IMAGE];
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  if (ca && existsSync(ca)) args.push('--volume', `${ca}:/etc/ssl/certs/host-ca.crt:ro`, '--env', 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca.crt');
  const t0 = Date.now();
  const r = spawnSync('podman', [...args, REPO], { env, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`podman build failed (exit ${r.status})`);
  return (Date.now() - t0) / 1000;
}

async function waitFor(what: string, ms: number, probe: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${sh('podman', ['logs', CONTAINER]).stdout.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`  ok  ${what}`);
}

async function runChecks(): Promise<void> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  podman(
    'run', '-d', '--name', CONTAINER, '-p', `127.0.0.1:${port}:8080`,
    '-v', `${path.join(REPO, 'model-store')}:/home/model-server/model-store:ro`,
    IMAGE,
  );
  const key = (): string => (JSON.parse(podman('exec', CONTAINER, 'cat', 'key_file.json')) as { inference: { key: string } }).inference.key;
  // The archives of the store are registered after the APIs are up: "Model server started." follows them.
  await waitFor('"Model server started." in the log', 180_000, async () => /Model server started\./.test(sh('podman', ['logs', CONTAINER]).stdout));
  await waitFor('key_file.json and GET /ping 200', 60_000, async () => (await fetch(`${base}/ping`, { headers: { authorization: `Bearer ${key()}` } })).status === 200);
  const auth = { authorization: `Bearer ${key()}` };

  const ping = await fetch(`${base}/ping`, { headers: auth });
  check(ping.status === 200 && ((await ping.json()) as { status: string }).status === 'Healthy', 'GET /ping with the key from key_file.json: 200 Healthy');
  check((await fetch(`${base}/ping`)).status === 400, 'GET /ping without the key: 400 (token authorization on by default)');

  const sample = readFileSync(path.join(REPO, 'examples', 'taxonomy', 'sample.txt'), 'utf8');
  const pred = await fetch(`${base}/predictions/taxonomy`, { method: 'PUT', headers: auth, body: sample });
  const labels = (await pred.json()) as unknown;
  const lines = sample.trim().split('\n');
  check(
    pred.status === 200 && Array.isArray(labels) && labels.length === lines.length && labels.every((l) => TAXONOMIES.includes(String(l))),
    `prediction on the bundled taxonomy model: ${JSON.stringify(labels)}`,
  );
  check(Array.isArray(labels) && labels[1] === 'sports', 'the half marathon line of sample.txt is sports');

  const hc = sh('podman', ['healthcheck', 'run', CONTAINER]);
  check(hc.status === 0, `HEALTHCHECK passes (podman healthcheck run: ${(hc.stdout + hc.stderr).trim() || 'healthy'})`);

  const uid = podman('exec', CONTAINER, 'sh', '-c', "awk '/^Uid:/ { print $2 }' /proc/1/status; id -un");
  check(uid === '1000\nnode', `the server (PID 1) runs as uid 1000, user node (${uid.replace('\n', ', ')})`);

  const t0 = Date.now();
  podman('stop', '-t', String(STOP_TIMEOUT_S), CONTAINER);
  const stopS = (Date.now() - t0) / 1000;
  const exit = podman('inspect', '--format', '{{.State.ExitCode}}', CONTAINER);
  const logs = sh('podman', ['logs', CONTAINER]);
  check(exit === '0' && stopS < STOP_TIMEOUT_S - 5, `podman stop: exit code ${exit} after ${stopS.toFixed(1)} s (not killed at ${STOP_TIMEOUT_S} s)`);
  check(/drain/i.test(logs.stdout + logs.stderr), 'the server logged its drain');
}

async function main(): Promise<void> {
  ensurePodman();
  ensureBase();
  const buildS = build();
  const size = Number(podman('image', 'inspect', '--format', '{{.Size}}', IMAGE));
  const healthcheck = podman('image', 'inspect', '--format', '{{json .Config.Healthcheck}}', IMAGE);
  console.log(`test:container: built ${IMAGE} in ${buildS.toFixed(0)} s; image size ${(size / 1e6).toFixed(0)} MB`);
  check(healthcheck.includes('healthcheck.mjs'), 'the image keeps its HEALTHCHECK (docker format)');
  try {
    await runChecks();
  } finally {
    sh('podman', ['rm', '-f', '-t', '0', CONTAINER]);
  }
  console.log('test:container: all checks passed');
}

main().catch((err: unknown) => {
  console.error(`test:container: FAILED: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
