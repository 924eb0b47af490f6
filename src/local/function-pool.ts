/**
 * Runs a Lambda function module locally the way Lambda does: each execution environment is a
 * worker thread with its own environment variables and module state, loading the function's
 * bundle (src/local/bundle.ts) as Lambda loads the CDK's, one invocation at a time, a timeout
 * after which the environment is discarded, and at most `size` at once. Like Lambda, it can
 * reclaim environments that sit idle (`idleMs`): a worker's memory, WebAssembly's included,
 * goes back to the operating system only when the worker ends.
 */
import { randomUUID } from "node:crypto";
import { Worker } from "node:worker_threads";
import { bundled } from "./bundle.ts";
import { FunctionError } from "./errors.ts";

export interface FunctionPoolOptions {
  functionName: string;
  /** File URL of the module, e.g. `new URL("../functions/bridge.ts", import.meta.url)`; bundled before it runs. */
  moduleUrl: URL;
  /** @default "handler" */
  exportName?: string;
  /** The function's environment variables, as configured on Lambda. */
  env: Record<string, string>;
  /** Execution environments at most, so concurrent invocations at most. */
  size: number;
  timeoutMs: number;
  /** The environment's JavaScript heap, as Lambda's memory setting bounds a function's. @default Node's own limit */
  memoryMb?: number;
  /**
   * An environment idle this long is shut down, as Lambda reclaims idle ones; the next
   * invocation starts a new one. @default never
   */
  idleMs?: number;
}

interface Environment {
  worker: Worker;
  ready: Promise<void>;
  /** Shuts the environment down when it has been idle for `idleMs`. */
  idleTimer?: NodeJS.Timeout;
}

type Reply =
  | { id: string; ok: true; result: unknown }
  | { id: string; ok: false; error: { name: string; message: string } };

const WORKER_ENTRY = new URL("./function-worker.mjs", import.meta.url);

export class FunctionPool {
  readonly #options: FunctionPoolOptions;
  /** The module's bundle: built (or found in the cache) once, when the first environment starts. */
  #bundle: Promise<URL> | undefined;
  readonly #idle: Environment[] = [];
  readonly #waiting: Array<(environment: Environment) => void> = [];
  #created = 0;
  #closed = false;
  invocations = 0;
  errors = 0;
  /** Summed duration of the invocations, each rounded up to the millisecond, as Lambda bills. */
  billedMs = 0;

  constructor(options: FunctionPoolOptions) {
    this.#options = options;
  }

  #spawn(): Environment {
    const worker = new Worker(WORKER_ENTRY, {
      env: { ...this.#options.env },
      // Not the host process's flags: under `node --import tsx` each environment would load tsx
      // and pass its bundle through tsx's loader and source maps, 4 s of CPU a start where
      // Lambda's runtime (and this worker) needs only Node to require plain JavaScript.
      execArgv: [],
      ...(this.#options.memoryMb
        ? { resourceLimits: { maxOldGenerationSizeMb: this.#options.memoryMb } }
        : {}),
      workerData: {
        moduleUrl: this.#options.moduleUrl.href,
        exportName: this.#options.exportName ?? "handler",
        functionName: this.#options.functionName,
      },
    });
    this.#bundle ??= bundled(this.#options.moduleUrl, "function");
    const bundle = this.#bundle;
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: { ready?: boolean }) => {
        if (message.ready) {
          worker.off("error", reject);
          resolve();
        } else {
          worker.once("message", onMessage);
        }
      };
      worker.once("message", onMessage);
      worker.once("error", reject);
      bundle.then(
        (bundle) => worker.postMessage({ load: bundle.href }),
        (error: unknown) => {
          void worker.terminate();
          reject(error);
        },
      );
    });
    // An unhandled error ends the worker; stop Node from crashing the host process over it.
    ready.catch(() => {});
    this.#created++;
    return { worker, ready };
  }

  async #acquire(): Promise<Environment> {
    const idle = this.#idle.pop();
    if (idle) {
      clearTimeout(idle.idleTimer);
      return idle;
    }
    if (this.#created < this.#options.size) return this.#spawn();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(environment: Environment): void {
    const next = this.#waiting.shift();
    if (next) {
      next(environment);
      return;
    }
    this.#idle.push(environment);
    const { idleMs } = this.#options;
    if (idleMs === undefined) return;
    environment.idleTimer = setTimeout(() => {
      const at = this.#idle.indexOf(environment);
      if (at === -1) return;
      this.#idle.splice(at, 1);
      void environment.worker.terminate();
      this.#created--;
    }, idleMs);
    // A pool waiting to reclaim an environment does not keep the process alive.
    environment.idleTimer.unref();
  }

  /** Execution environments running now, busy or idle. */
  get environments(): number {
    return this.#created;
  }

  #discard(environment: Environment): void {
    void environment.worker.terminate();
    this.#created--;
    const next = this.#waiting.shift();
    if (next && !this.#closed) {
      next(this.#spawn());
    }
  }

  /** Invokes the function with `event`; rejects with FunctionError on error or timeout. */
  async invoke<T>(event: unknown): Promise<T> {
    if (this.#closed) throw new FunctionError(`${this.#options.functionName}: pool is closed`);
    const environment = await this.#acquire();
    this.invocations++;
    try {
      await environment.ready;
    } catch (cause) {
      this.errors++;
      this.#discard(environment);
      throw new FunctionError(`${this.#options.functionName}: init failed: ${(cause as Error).message}`, {
        cause,
      });
    }
    const id = randomUUID();
    const deadlineMs = Date.now() + this.#options.timeoutMs;
    const startedAt = performance.now();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        this.errors++;
        // Lambda discards an environment whose invocation timed out; so do we.
        this.#discard(environment);
        reject(
          new FunctionError(`${this.#options.functionName}: timed out after ${this.#options.timeoutMs} ms`),
        );
      }, this.#options.timeoutMs);
      const onMessage = (reply: Reply) => {
        if (reply.id !== id) return;
        cleanup();
        this.#release(environment);
        if (reply.ok) resolve(reply.result as T);
        else {
          this.errors++;
          reject(
            new FunctionError(`${this.#options.functionName}: ${reply.error.name}: ${reply.error.message}`),
          );
        }
      };
      const onError = (error: Error) => {
        cleanup();
        this.errors++;
        this.#discard(environment);
        reject(
          new FunctionError(`${this.#options.functionName}: crashed: ${error.message}`, { cause: error }),
        );
      };
      // The runtime exited mid-invocation (process.exit in the handler): Lambda reports
      // "Runtime exited" at once and starts a new environment for the next event.
      const onExit = (code: number) => onError(new Error(`the runtime exited with code ${code}`));
      const cleanup = () => {
        // Lambda bills each invocation's duration rounded up to the millisecond.
        this.billedMs += Math.ceil(performance.now() - startedAt);
        clearTimeout(timer);
        environment.worker.off("message", onMessage);
        environment.worker.off("error", onError);
        environment.worker.off("exit", onExit);
      };
      environment.worker.on("message", onMessage);
      environment.worker.once("error", onError);
      environment.worker.once("exit", onExit);
      environment.worker.postMessage({ id, event, deadlineMs, requestId: id });
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      this.#idle.splice(0).map((environment) => {
        clearTimeout(environment.idleTimer);
        return environment.worker.terminate();
      }),
    );
  }
}
