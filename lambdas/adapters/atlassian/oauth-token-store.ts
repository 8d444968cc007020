/**
 * The OAuth token store's local implementations (the port is lambdas/core/ports/credentials.ts). Atlassian rotates refresh tokens: each
 * refresh returns a new one and disables the one sent, so the newest must be written somewhere that
 * outlives the process (and, on AWS, that every Lambda instance reads) before it is needed again.
 * The token manager only sees this port; lambdas/adapters/secrets-manager/secret-token-store.ts is the AWS one.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import {
  parseTokenSet,
  tokenSetFrom,
  type OAuthTokenSet,
  type OAuthTokenStore,
} from '../../core/ports/credentials.js';

/** Keeps the set in this process: for one local process, where nobody else refreshes. */
export class InMemoryTokenStore implements OAuthTokenStore {
  private set: OAuthTokenSet;

  constructor(initial: OAuthTokenSet) {
    this.set = tokenSetFrom(initial);
  }

  load(): Promise<OAuthTokenSet> {
    return Promise.resolve(this.set);
  }

  save(set: OAuthTokenSet): Promise<void> {
    this.set = tokenSetFrom(set);
    return Promise.resolve();
  }
}

/**
 * Keeps the set in a JSON file (mode 0600), so a restarted local stack still holds the rotated
 * refresh token. Written to a temporary file in the same folder and renamed over the old one: a crash
 * mid-write leaves the previous file whole, never half a token.
 */
export class JsonFileTokenStore implements OAuthTokenStore {
  /**
   * @param initial used while the file does not exist yet (the first refresh token, from the
   * environment); once the file exists it wins, since it holds the newest rotation.
   */
  constructor(
    readonly path: string,
    private readonly initial?: OAuthTokenSet,
  ) {}

  async load(): Promise<OAuthTokenSet> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && this.initial) return this.initial;
      throw new Error(`cannot read the OAuth token file ${this.path}`, { cause: err });
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new Error(`the OAuth token file ${this.path} is not JSON`);
    }
    return parseTokenSet(value, `the OAuth token file ${this.path}`);
  }

  async save(set: OAuthTokenSet): Promise<void> {
    const temp = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, `${JSON.stringify(tokenSetFrom(set), null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      await rename(temp, this.path);
    } catch (err) {
      await rm(temp, { force: true });
      throw new Error(`cannot write the OAuth token file ${this.path}`, { cause: err });
    }
  }
}
