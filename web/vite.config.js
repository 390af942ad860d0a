import { defineConfig } from 'vite';
import { resolve } from 'node:path';

const pages = ['index', 'cliffwalk', 'sumtree', 'adaptive', 'reward'];

export default defineConfig({
  base: './',
  build: {
    target: 'es2022',
    rollupOptions: { input: Object.fromEntries(pages.map((p) => [p, resolve(import.meta.dirname, `${p}.html`)])) },
  },
  worker: { format: 'es' },
  test: { include: ['tests/**/*.spec.js'] },
});
