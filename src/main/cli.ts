// The CLI lives in ./cli/ (index: parse and dispatch; ops: one operations interface, local and remote).
export { CliError, main, processIo, type CliIo } from "./cli/index.js";
