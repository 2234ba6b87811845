import { crashLoopTests } from './support/crash-loop.js';
import { settings } from './support/settings.js';

crashLoopTests('none', settings.crashStates.none, settings.seed);
