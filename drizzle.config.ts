import { defineConfig } from "drizzle-kit";

// Migrations are generated from the one pg-core schema and applied at start-up (src/db/client.ts migrate())
// and by `npm run migrate` (src/main/migrate.ts),
// to PGlite and to PostgreSQL alike.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema/index.ts",
  out: "./drizzle",
  casing: "snake_case",
});
