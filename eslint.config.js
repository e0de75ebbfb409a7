// ESLint for the front end (ipt_groups/static): plain ES modules in the browser,
// one classic script shared with the service worker, and the service worker itself.
// `make lint` runs it when Node is installed; the app needs no build step.
import js from '@eslint/js';
import globals from 'globals';

const rules = {
  'no-unused-vars': ['error', { args: 'after-used' }],
  eqeqeq: ['error', 'always', { null: 'ignore' }],
  'no-undef': 'error',
};

export default [
  { ignores: ['node_modules/**'] },
  js.configs.recommended,
  {
    // The app: ES modules loaded by index.html, views imported on first visit.
    files: ['ipt_groups/static/js/**/*.js'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.browser },
    },
    rules,
  },
  {
    // The offline store: a classic script, loaded by the page with <script> and
    // by the service worker with importScripts(), so it runs in both.
    files: ['ipt_groups/static/js/outbox-core.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { ...globals.browser, ...globals.serviceworker },
    },
  },
  {
    files: ['ipt_groups/static/sw.js'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'script',
      globals: {
        ...globals.serviceworker,
        // A placeholder the server replaces with the precache list when it serves
        // /sw.js (ipt_groups/frontend.py); never an identifier at run time.
        __PRECACHE__: 'readonly',
      },
    },
    rules,
  },
];
