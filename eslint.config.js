// Lint for bugs only (no style rules): ESLint's recommended rules and typescript-eslint's
// type-aware ones, which see what tsc does not: promises nobody awaits or catches, values
// typed `any` flowing into typed code, `await` on something that is not a promise.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Generated from openapi.yaml: fixed by regenerating, not by hand.
    ignores: ['src/generated/**', 'clients/typescript/src/schema.ts', 'dist/**', 'coverage/**', '.tap/**'],
  },
  {
    files: [
      'src/**/*.ts',
      'emulators/**/*.ts',
      'test/**/*.ts',
      'scripts/**/*.ts',
      'bench/**/*.ts',
      'demo/src/**/*.ts',
      'clients/typescript/src/**/*.ts',
    ],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // Each file is checked with the tsconfig.json that includes it (demo/ has its own, with DOM).
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // tap queues each subtest and reports its failure itself: a t.test() nobody awaits is how
      // tap tests are written, not a lost promise.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] },
      ],
      // Fastify plugins, hooks and handlers, and tap's test functions, are `async` to say they
      // finish by returning (no `done` callback); one that needs no `await` is not a bug.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests read response bodies (and parsed manifests) as `any` on purpose: each body has been
    // checked against openapi.yaml by the test service (each manifest by kubernetes-models), and
    // the assertions that follow check its values; a static type there would be a cast, not a
    // check. Helpers (test/helpers) stay under the rules.
    files: ['test/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
