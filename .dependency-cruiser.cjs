/**
 * The dependency rules of ticklake's folders (docs/architecture.md, Layout), checked by
 * dependency-cruiser in `npm run check`: no import cycle between folders, the core imports no
 * adapter and does no I/O, and each folder imports only what sits below it.
 * @type {import("dependency-cruiser").IConfiguration}
 */
const folder = (names) => `^src/(${names.join("|")})/`;

module.exports = {
  forbidden: [
    {
      name: "no-folder-cycle",
      comment: "Folders depend on each other one way: a cycle makes two folders one.",
      severity: "error",
      scope: "folder",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "no-module-cycle",
      comment: "Modules import each other one way, types included.",
      severity: "error",
      from: { path: "^(src|infra)/" },
      to: { circular: true },
    },
    {
      name: "core-imports-no-adapter",
      comment: "src/core is the pure domain (DESIGN §6): it imports nothing else of src/.",
      severity: "error",
      from: { path: "^src/core/" },
      to: { path: "^src/", pathNot: "^src/core/" },
    },
    {
      name: "core-does-no-io",
      comment:
        "src/core has no SDK and no I/O: no AWS SDK, no HTTP framework, no file system, no network, no processes.",
      severity: "error",
      from: { path: "^src/core/" },
      to: {
        path: "(^|/)node_modules/(@aws-sdk|@smithy|fastify|@fastify|@duckdb)/|^(node:)?(fs|fs/promises|net|http|https|http2|child_process|worker_threads|dgram)$",
      },
    },
    {
      name: "adapters-import-only-the-core",
      comment: "src/aws adapts AWS for everyone: it knows no application that uses it.",
      severity: "error",
      from: { path: "^src/aws/" },
      to: { path: folder(["http", "webserver", "dashboard", "local", "functions", "cli"]) },
    },
    {
      name: "http-is-shared",
      comment: "src/http is what every HTTP surface shares; it knows none of them.",
      severity: "error",
      from: { path: "^src/http/" },
      to: { path: folder(["aws", "webserver", "dashboard", "local", "functions", "cli"]) },
    },
    {
      name: "dashboard-is-a-plugin",
      comment: "The dashboard is a plugin a caller registers: it does not know the web server or the CLI.",
      severity: "error",
      from: { path: "^src/dashboard/" },
      to: { path: folder(["webserver", "local", "functions", "cli"]) },
    },
    {
      name: "webserver-knows-no-caller",
      comment: "The web server is assembled for its callers (ECS, `ticklake up`); it imports none of them.",
      severity: "error",
      from: { path: "^src/webserver/" },
      to: { path: folder(["dashboard", "local", "functions", "cli"]) },
    },
    {
      name: "functions-are-wiring",
      comment: "A Lambda entry point wires the core to the AWS adapters, nothing else.",
      severity: "error",
      from: { path: "^src/functions/" },
      to: { path: folder(["http", "webserver", "dashboard", "local", "cli"]) },
    },
    {
      name: "local-aws-knows-no-application",
      comment: "The embedded local AWS runs the functions; it knows neither the web server nor the CLI.",
      severity: "error",
      from: { path: "^src/local/" },
      to: { path: folder(["http", "webserver", "dashboard", "cli"]) },
    },
    {
      name: "product-imports-no-test-or-tooling",
      comment: "What ships imports neither tests, benchmarks nor the CDK app.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench|infra)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Type-only imports are dependencies too: a cycle of types is a cycle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".mjs", ".js", ".json"] },
  },
};
