import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';
import bitrix24UIPluginVite from '@bitrix24/b24ui-nuxt/vite';

const root = fileURLToPath(new URL('.', import.meta.url));

// Built into ui/dist; the server serves index.html (with boot data) for POST /app and the
// placement URLs, and the assets under /ui/assets/.
export default defineConfig({
  root,
  base: '/ui/',
  plugins: [
    vue(),
    bitrix24UIPluginVite({
      experimental: { componentDetection: true },
      autoImport: { dts: fileURLToPath(new URL('./src/auto-imports.d.ts', import.meta.url)) },
      components: { dts: fileURLToPath(new URL('./src/components.d.ts', import.meta.url)) },
    }),
  ],
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    sourcemap: false,
  },
  logLevel: 'warn',
});
