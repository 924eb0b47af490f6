/** The local state folder: emulator data, checkpoints and the endpoints file. */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { z } from "zod";
import { ConfigError } from "../core/errors.ts";

/** @default `.ticklake` under the current directory, or TICKLAKE_STATE_DIR. */
export function stateDirFrom(env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  return resolve(cwd, env.TICKLAKE_STATE_DIR ?? ".ticklake");
}

export const Endpoints = z.object({
  kinesis: z.url(),
  sqs: z.url(),
  sns: z.url(),
  s3: z.url(),
  region: z.string(),
  pid: z.int(),
});
export type Endpoints = z.infer<typeof Endpoints>;

export const ENDPOINTS_FILE = "endpoints.json";

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

/** Reads the endpoints written by a running `ticklake up`, or says how to get them. */
export async function readEndpoints(stateDir: string): Promise<Endpoints> {
  const path = join(stateDir, ENDPOINTS_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new ConfigError(`No local endpoints at ${path}: start the pipeline with \`npm start\` first`);
  }
  const result = Endpoints.safeParse(JSON.parse(text));
  if (!result.success)
    throw new ConfigError(`${path} is not a ticklake endpoints file: ${result.error.message}`);
  return result.data;
}

/** Where a running `ticklake up` serves its API and dashboard, for other commands. */
export const UpInfo = z.object({ pid: z.int(), api: z.url(), dashboard: z.url(), startedAt: z.string() });
export type UpInfo = z.infer<typeof UpInfo>;

export const UP_FILE = "up.json";

/** The running `up` of this state folder, or undefined when none runs. */
export async function readUpInfo(stateDir: string): Promise<UpInfo | undefined> {
  const text = await readFile(join(stateDir, UP_FILE), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const result = UpInfo.safeParse(JSON.parse(text));
  if (!result.success) return undefined;
  try {
    process.kill(result.data.pid, 0);
    return result.data;
  } catch {
    return undefined;
  }
}
