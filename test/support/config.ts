// The config tests' view of a refused config: the error lines of the ConfigError it is refused with.
import { ConfigError, parseConfigText } from '../../config/load.js';

/** The error lines of the ConfigError `load` throws; throws when it accepts the config, or fails otherwise. */
export function configErrors(load: () => unknown): string[] {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return err.errors;
    throw err;
  }
  throw new Error('expected the config to be refused');
}

/** configErrors of `text` read as the file `file` with the environment `env`. */
export function configTextErrors(text: string, env: NodeJS.ProcessEnv = {}, file = 'test.yaml'): string[] {
  return configErrors(() => parseConfigText(text, file, env));
}
