#!/usr/bin/env node
// Starts the bundled CLI (built by `npm install` through the prepare script).
import('../dist/cli.js').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist')) {
    process.stderr.write('graceful: not built yet: run `npm install` (or `npm run build`) in the graceful checkout\n');
    process.exit(70);
  }
  throw error;
});
