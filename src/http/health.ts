/** Components report their state to /health; modules register their own checks at start-up. */
export interface ComponentHealth {
  status: "ok" | "degraded" | "down";
  [k: string]: unknown;
}

export type HealthCheck = () => Promise<ComponentHealth> | ComponentHealth;

export class HealthRegistry {
  private readonly checks = new Map<string, HealthCheck>();

  register(name: string, check: HealthCheck): void {
    this.checks.set(name, check);
  }

  async run(timeoutMs = 2000): Promise<Record<string, ComponentHealth>> {
    const out: Record<string, ComponentHealth> = {};
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        try {
          out[name] = await Promise.race([
            Promise.resolve(check()),
            new Promise<ComponentHealth>((r) => setTimeout(() => r({ status: "down", error: "health check timed out" }), timeoutMs).unref()),
          ]);
        } catch (e) {
          out[name] = { status: "down", error: (e as Error).message };
        }
      }),
    );
    return out;
  }
}
