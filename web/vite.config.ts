import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The gateway serves the build under /dashboard; `npm run dev` proxies API calls to a running gateway.
const gateway = process.env.GATEWAY_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  base: "/dashboard/",
  plugins: [react(), tailwindcss()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 900 },
  server: {
    host: "127.0.0.1",
    port: 5173,
    proxy: Object.fromEntries(["/v1", "/admin", "/payments", "/openapi.json", "/health"].map((p) => [p, { target: gateway, changeOrigin: false }])),
  },
});
