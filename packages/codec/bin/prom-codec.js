#!/usr/bin/env node
// The bin runs the built CLI; `npm run build` (turbo) produces dist/.
import { main } from '../dist/cli.js';

await main();
