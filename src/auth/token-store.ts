/**
 * TorchServe's token authorization (spec §3): three keys in `key_file.json` (mode 0600) in the
 * working directory; the inference and management keys expire after `token_expiration_min` and are
 * rotated with the API key. Keys are compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type TokenKind = 'inference' | 'management';

interface Key {
  key: string;
  /** sha256 of `key`, computed once: check() runs on every request. */
  digest: Buffer;
  expiresAt: number;
}

const BEARER = /^Bearer\s+(\S+)$/;

/** 6 random bytes in base64url: 8 characters, as TorchServe generates them. */
function newKey(): string {
  return randomBytes(6).toString('base64url');
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** `token` against a key's sha256 digest. */
function sameSecret(token: string, keyDigest: Buffer): boolean {
  // Hashing first gives equal lengths, so timingSafeEqual never leaks the key's length either.
  return timingSafeEqual(sha256(token), keyDigest);
}

export class TokenStore {
  private keys: Record<TokenKind, Key>;
  private readonly apiKey = newKey();
  private readonly apiKeyDigest = sha256(this.apiKey);
  readonly file: string;

  constructor(
    dir: string,
    private readonly expirationMin: number,
  ) {
    this.file = path.join(dir, 'key_file.json');
    this.keys = { inference: this.fresh(), management: this.fresh() };
    this.write();
  }

  /** True when `authorization` carries the current, unexpired key of `kind`. */
  check(kind: TokenKind, authorization: string | undefined): boolean {
    const token = authorization?.match(BEARER)?.[1];
    if (!token) return false;
    const k = this.keys[kind];
    return sameSecret(token, k.digest) && Date.now() < k.expiresAt;
  }

  /** `/token?type=…`: rotates `kind` when `authorization` carries the API key. */
  rotate(kind: string | null, authorization: string | undefined): boolean {
    const token = authorization?.match(BEARER)?.[1];
    if (!token || !sameSecret(token, this.apiKeyDigest)) return false;
    if (kind !== 'inference' && kind !== 'management') return false;
    this.keys[kind] = this.fresh();
    this.write();
    return true;
  }

  /** The current key of a kind (tests and the CLI read key_file.json instead in real use). */
  key(kind: TokenKind | 'API'): string {
    return kind === 'API' ? this.apiKey : this.keys[kind].key;
  }

  /** `ortserve --stop` removes the key file, as `torchserve --stop` does. */
  remove(): void {
    rmSync(this.file, { force: true });
  }

  private fresh(): Key {
    const key = newKey();
    return { key, digest: sha256(key), expiresAt: Date.now() + this.expirationMin * 60_000 };
  }

  private write(): void {
    const body = {
      management: { key: this.keys.management.key, 'expiration time': new Date(this.keys.management.expiresAt).toISOString() },
      inference: { key: this.keys.inference.key, 'expiration time': new Date(this.keys.inference.expiresAt).toISOString() },
      API: { key: this.apiKey },
    };
    // Written to a private temporary file and renamed, so no reader ever sees a partial or world-readable file.
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
