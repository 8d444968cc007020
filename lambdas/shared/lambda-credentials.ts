/**
 * What the deployed bundles use in place of `@aws-sdk/credential-provider-node` (an esbuild alias,
 * lib/lambda-bundling.ts): every SDK client's default credential provider, reduced to the one
 * source a Lambda function has. Lambda puts the execution role's credentials in
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; the full chain (SSO, profiles,
 * web identity, process, container and instance metadata) is about 90 KB of each bundle and its
 * module init. The local stack and the CLI run from source with the full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider: typeof fromEnv = (init) => fromEnv(init);
