// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const SDK = ['@aws-sdk/*', 'aws-cdk-lib', 'aws-cdk-lib/*', '@aws-lambda-powertools/*'];
const LAMBDAS_MEET_LIB_IN_MODEL = {
  regex: String.raw`^(\.\./)+(lib|client|local)/`,
  message: 'lambdas/ meets lib/ only in model/.',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', '.riq-local/', 'coverage/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use `as const` objects and unions.' },
        {
          selector:
            "ImportDeclaration[source.value='zod'][importKind!='type'] > ImportSpecifier[imported.name='z']",
          message:
            "Use `import * as z from 'zod'`: `{ z }` bundles every zod locale into each Lambda " +
            '(docs/operations.md#bundles-source-maps-and-cold-starts).',
        },
      ],
    },
  },
  // The layers (docs/architecture.md): model/ is the ground floor and imports nothing of the
  // project; the core imports model/ and itself only, never an SDK; client/ and lib/ meet lambdas/
  // only in model/. For files in lambdas/core the last block that matches decides, so it repeats
  // the rule of lambdas/.
  {
    files: ['model/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: SDK, message: 'model/ is plain TypeScript.' },
            {
              regex: String.raw`^(\.\./)+(lambdas|lib|client|local|bench|chaos|compare|test)/`,
              message: 'model/ imports nothing of the project.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['client/**/*.ts', 'lib/**/*.ts', 'bin/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: String.raw`(^|/)lambdas/`, message: 'client/ and lib/ meet lambdas/ only in model/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['lambdas/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [LAMBDAS_MEET_LIB_IN_MODEL] }],
    },
  },
  // The environment is read in one module, lambdas/shared/env.ts, and parsed once.
  {
    files: ['lambdas/**/*.ts'],
    ignores: ['lambdas/shared/env.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read the environment in lambdas/shared/env.ts.' },
      ],
    },
  },
  {
    files: ['lambdas/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            LAMBDAS_MEET_LIB_IN_MODEL,
            { group: SDK, message: 'The core imports no AWS SDK.' },
            {
              regex: String.raw`(^|/)(adapters|api|worker|sweeper|shared)/`,
              message:
                'The core imports model/ and its own ports, never an adapter, a handler or the wiring.',
            },
          ],
        },
      ],
    },
  },
);
