#!/usr/bin/env node
// The `ticklake` command. TypeScript runs through tsx, so a fresh clone needs no build step.
import { register } from "tsx/esm/api";

// The SDK warns that its releases after January 2027 need Node.js 22; the lockfile pins one that
// runs on 20, so the warning is for maintainers (docs/operations.md), not for every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

register();
await import("../src/cli/main.ts");
