import { crashLoopTests } from './support/crash-loop.js';
import { settings } from './support/settings.js';

crashLoopTests('always', settings.crashStates.always, settings.seed);
