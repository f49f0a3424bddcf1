#!/usr/bin/env node
/**
 * The image's HEALTHCHECK: GET /ping on the inference API, healthy on 200 only ({"status": "Healthy"}:
 * every model's default version has its minimum of healthy workers).
 *
 * With token authorization on (the image's default) /ping needs the inference key, as in TorchServe, so
 * this reads it from key_file.json in the working directory (the server writes it there, mode 0600, and
 * rewrites it when the key is rotated). When that key has expired (token_expiration_min, 60 by default,
 * and nobody rotated it) no key can check the models: a 400 InvalidKeyException then still proves the
 * server answers, and counts as healthy, with a message. With token authorization off there is no key
 * file and /ping is sent as it is.
 *
 * ORTSERVE_PING_URL overrides the address (default http://127.0.0.1:8080/ping), ORTSERVE_KEY_FILE the file.
 */
import { readFileSync } from 'node:fs';

const url = process.env.ORTSERVE_PING_URL || 'http://127.0.0.1:8080/ping';
const keyFile = process.env.ORTSERVE_KEY_FILE || 'key_file.json';

function inferenceKey() {
  try {
    const k = JSON.parse(readFileSync(keyFile, 'utf8')).inference;
    return { key: k.key, expired: Date.parse(k['expiration time']) <= Date.now() };
  } catch {
    return null;
  }
}

async function main() {
  const k = inferenceKey();
  const headers = k && !k.expired ? { authorization: `Bearer ${k.key}` } : {};
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(4000) });
  const body = await res.text();
  if (res.status === 200) return 0;
  if (res.status === 400 && k?.expired && body.includes('InvalidKeyException')) {
    console.log('ortserve answers, but the inference key in key_file.json has expired: rotate it (POST /token).');
    return 0;
  }
  console.log(`GET ${url}: ${res.status} ${body.trim()}`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.log(`GET ${url}: ${err?.message ?? err}`);
    process.exit(1);
  },
);
