/// <reference types="vitest/config" />
import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The Django backend serves the API, the admin, static files and the cellxgene proxy;
// in development Vite forwards those paths so the SPA talks to one origin, as in production.
const backend = 'http://127.0.0.1:8000'
const proxied = ['/api', '/healthz', '/admin', '/static', '/cellxgene']

export default defineConfig({
  base: '/',
  plugins: [vue()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: {
    proxy: Object.fromEntries(proxied.map((p) => [p, { target: backend, changeOrigin: false }])),
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    // Element Plus is imported whole (one stylesheet, no per-component plugins); its chunk is
    // large but cached across releases.
    chunkSizeWarningLimit: 1200,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.spec.ts'],
    restoreMocks: true,
    // A first mount imports Element Plus whole; on a busy two-core CI machine that alone can
    // take several seconds, so the per-test limit leaves room for it.
    testTimeout: 30_000,
  },
})
