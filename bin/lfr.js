#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript (npm run build puts it in dist/).
import '../dist/src/cli/entry.js';
