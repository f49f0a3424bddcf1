/**
 * Every configuration problem (unreadable or malformed config.properties, a bad address, an undefined
 * `$$VAR$$`, an invalid regex …). It is not a ServeError: it never reaches an HTTP client. The CLI prints
 * its message and exits 1, as TorchServe's frontend dies on the equivalent Java exceptions at startup.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
