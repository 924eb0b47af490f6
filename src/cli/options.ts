/**
 * Command-line options: the ones several commands share, and their validation. Errors name the
 * option, the value and what is allowed.
 */
import { Option } from "@commander-js/extra-typings";
import { z } from "zod";
import { ConfigError } from "../core/errors.ts";
import { resourceSpec } from "../core/spec.ts";

export function option<T>(name: string, value: unknown, schema: z.ZodType<T>, allowed: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ConfigError(`--${name} must be ${allowed} (got ${JSON.stringify(value)})`);
  }
  return result.data;
}

/**
 * A commander argument parser from a schema: the option's value arrives parsed and typed, and
 * a bad one stops the command with a ConfigError (exit code 2).
 */
export function parsed<T>(name: string, schema: z.ZodType<T>, allowed: string): (value: string) => T {
  return (value) => option(name, value, schema, allowed);
}

export const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
export const number = (min: number, max: number) => z.coerce.number().min(min).max(max);
export const TARGETS = ["local", "localstack", "aws"] as const;
export const Target = z.enum(TARGETS);
export type Target = z.infer<typeof Target>;

const AGO = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * An instant given as ISO-8601 with a zone (`2026-11-26T09:30:00Z`) or as a span before now
 * (`90s`, `15m`, `2h`, `1d`); epoch milliseconds.
 */
export function instant(name: string, value: unknown, nowMs = Date.now()): number {
  const text = String(value ?? "").trim();
  const ago = AGO.exec(text);
  if (ago) return nowMs - Number(ago[1]) * UNIT_MS[ago[2] as keyof typeof UNIT_MS];
  const zoned = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text);
  const ms = zoned ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new ConfigError(
      `--${name} must be an ISO-8601 time with a zone (e.g. 2026-11-26T09:30:00Z) or a span before now (e.g. 90s, 15m, 2h, 1d) (got ${JSON.stringify(value)})`,
    );
  }
  return ms;
}

/** `--target`: where the pipeline runs. */
export const targetOption = () =>
  new Option("--target <target>", "where the pipeline runs").choices(TARGETS).default("local");

/** The stack of stage `dev`, which `--target aws` commands read by default. */
export const DEFAULT_STACK = resourceSpec({ stage: "dev" }).prefix;

/** `--stack`: with --target aws, the deployed stack whose outputs name the resources. */
export const stackOption = () =>
  new Option(
    "--stack <name>",
    "with --target aws: the deployed stack whose outputs name the resources",
  ).default(DEFAULT_STACK);
