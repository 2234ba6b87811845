export { main } from './cli.js';
export { Exit } from './command.js';
export type { Io } from './output.js';
