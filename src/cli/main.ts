/** The `ticklake` command line, as bin/ticklake.mjs runs it: the program on this process's argv. */
import { run } from "./program.ts";

process.exitCode = await run(process.argv.slice(2));
