/**
 * The CDK app for the CDK CLI: `npx cdk synth` (offline) and `npm run deploy`. What it builds,
 * and the context it reads: ./ticklake-app.ts.
 */
import { App } from "aws-cdk-lib";
import { buildTicklakeApp } from "./ticklake-app.ts";

buildTicklakeApp(new App());
