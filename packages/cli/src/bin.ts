#!/usr/bin/env node
import { main } from './cli.js';

// `wal dump | head` closes the pipe early: that is success, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2), process);
