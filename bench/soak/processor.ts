/** The soak's processor: the fault suite's (real handler, fault middleware), reporting its heap. */
import { reportHeap } from "./heap-report.ts";

reportHeap("processor");

export { handler } from "../../test/faults/processor-with-faults.ts";
