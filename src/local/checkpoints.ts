/** Per-shard checkpoints of the local Kinesis event source, kept in a file across restarts. */
import { readFile } from "node:fs/promises";
import { writeJsonAtomic } from "./state.ts";

export class CheckpointStore {
  readonly #path: string;
  #positions: Record<string, string> = {};
  #writing: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.#path = path;
  }

  async load(): Promise<void> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.#path, "utf8"));
      if (parsed !== null && typeof parsed === "object") {
        this.#positions = Object.fromEntries(
          Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
        );
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }

  /** A copy of every shard's position. */
  snapshot(): Record<string, string> {
    return { ...this.#positions };
  }

  get(stream: string, shardId: string): string | undefined {
    return this.#positions[`${stream}/${shardId}`];
  }

  /** Records the last sequence number processed; resolves once it is on disk. */
  async set(stream: string, shardId: string, sequenceNumber: string): Promise<void> {
    this.#positions[`${stream}/${shardId}`] = sequenceNumber;
    const snapshot = { ...this.#positions };
    this.#writing = this.#writing.then(() => writeJsonAtomic(this.#path, snapshot));
    await this.#writing;
  }
}
