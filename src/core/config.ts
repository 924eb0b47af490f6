/**
 * Typed settings from environment variables (DESIGN §4): parsed once, at start, and an error
 * names every variable that is wrong, its value and what is allowed.
 */
import type { z } from "zod";
import { ConfigError } from "./errors.ts";

/**
 * Parses `env` with `schema`, or throws a ConfigError naming what it validated (`subject`, e.g.
 * "web server configuration") and every variable that is wrong.
 */
export function readConfig<T extends z.ZodType>(
  schema: T,
  env: NodeJS.ProcessEnv,
  subject = "configuration",
): z.infer<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join(".");
    const value = env[name];
    return `${name} ${issue.message} (got ${value === undefined ? "nothing" : JSON.stringify(value)})`;
  });
  throw new ConfigError(`Invalid ${subject}: ${problems.join("; ")}`);
}
