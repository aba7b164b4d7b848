import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The bundle goes to dist/app, which the Go binary embeds (api/web.go).
// Nothing is fetched at run time: no CDN, no web fonts.
export default defineConfig({
  plugins: [vue()],
  base: '/',
  build: {
    outDir: 'dist/app',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1200,
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/api': process.env.DONGTING_URL ?? 'http://127.0.0.1:8080' },
  },
  test: {
    include: ['src/**/*.test.ts'],
  },
})
