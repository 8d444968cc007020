/**
 * The OAuth token store on AWS: the Secrets Manager secret the workers read their connection from
 * (`{"client_id", "client_secret", "cloud_id", "refresh_token", "access_token"?, "expires_at"?}`).
 * Every worker instance shares it, so a refresh token one instance rotated (and the access token it
 * got) is what the others read next.
 *
 * Reads go through Powertools Parameters with `forceFetch` (the token manager re-reads only when it
 * is about to refresh, so the cache would only hide another instance's rotation) and also refresh
 * the Powertools cache other readers share. Writes are `PutSecretValue` of the whole JSON with the
 * new tokens merged in, keeping every other key as last read.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseSecretJson } from './secret-reader.js';
import {
  parseTokenSet,
  tokenSetFrom,
  type OAuthTokenSet,
  type OAuthTokenStore,
} from '../../core/ports/credentials.js';

export class SecretsManagerTokenStore implements OAuthTokenStore {
  private readonly provider: SecretsProvider;
  /** The secret's JSON as last read: the keys a save must keep (client id/secret, cloud id…). */
  private lastValue: Record<string, unknown> | undefined;

  constructor(
    private readonly secretId: string,
    private readonly client: SecretsManagerClient,
  ) {
    this.provider = new SecretsProvider({ awsSdkV3Client: client });
  }

  async load(): Promise<OAuthTokenSet> {
    const value = await this.readJson();
    return parseTokenSet(value, `secret ${this.secretId}`);
  }

  async save(set: OAuthTokenSet): Promise<void> {
    const base = this.lastValue ?? (await this.readJson());
    const { access_token: _a, expires_at: _e, ...rest } = base;
    await this.client.send(
      new PutSecretValueCommand({
        SecretId: this.secretId,
        SecretString: JSON.stringify({ ...rest, ...tokenSetFrom(set) }),
      }),
    );
  }

  private async readJson(): Promise<Record<string, unknown>> {
    const text = await this.provider.get(this.secretId, { forceFetch: true });
    const value = parseSecretJson(text, this.secretId);
    this.lastValue = value;
    return value;
  }
}
