import { crashLoopTests } from './support/crash-loop.js';
import { settings } from './support/settings.js';

crashLoopTests('interval', settings.crashStates.interval, settings.seed);
