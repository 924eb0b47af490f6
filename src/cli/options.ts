/** Validation of command-line options: errors name the option, the value and what is allowed. */
import { z } from "zod";
import { ConfigError } from "../core/errors.ts";

export function option<T>(name: string, value: unknown, schema: z.ZodType<T>, allowed: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ConfigError(`--${name} must be ${allowed} (got ${JSON.stringify(value)})`);
  }
  return result.data;
}

export const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
export const number = (min: number, max: number) => z.coerce.number().min(min).max(max);
export const TARGETS = ["local", "localstack", "aws"] as const;
export const Target = z.enum(TARGETS);
export type Target = z.infer<typeof Target>;
