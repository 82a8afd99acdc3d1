/** A setting or stored configuration that can't work; start-up stops with this message (never a stack trace). */
export class ConfigError extends Error {
  override name = "ConfigError";
}
