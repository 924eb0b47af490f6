/**
 * Progress bars for long commands, on stderr and only on a terminal: piped or captured output
 * (CI, tests, `| tee`) stays free of redraws.
 */
import { Presets, SingleBar } from "cli-progress";

export interface Progress {
  update(value: number, detail?: string): void;
  stop(): void;
}

/** A bar of `total` steps labelled `label` on `stream`; `detail` is shown after the count. */
export function progressBar(label: string, total: number, stream: NodeJS.WritableStream): Progress {
  const bar = new SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% | {detail}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0, { detail: "" });
  return {
    update: (value, detail = "") => bar.update(value, { detail }),
    stop: () => bar.stop(),
  };
}
