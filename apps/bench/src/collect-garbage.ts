import v8 from 'node:v8';
import vm from 'node:vm';

// The bench runs without --expose-gc; the flag can still be set now, and a
// new context then has `gc`.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/**
 * A full GC, so that a case does not pay for the garbage the case before it
 * left (a million-key structure dropped is a long major GC for whoever is
 * running when it comes).
 */
export function collectGarbage(): void {
  gc();
}
