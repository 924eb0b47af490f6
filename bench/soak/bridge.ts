/** The soak's bridge: the real one, reporting its heap. */
import { reportHeap } from "./heap-report.ts";

reportHeap("bridge");

export { handler } from "../../src/functions/bridge.ts";
