#!/usr/bin/env node
// `npx llm-gateway …`: the CLI runs from the TypeScript sources through tsx (a runtime dependency).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main/cli.ts");
process.exitCode = await main(process.argv.slice(2));
