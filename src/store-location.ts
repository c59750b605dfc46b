// How a store location given as a string is read (openStore, the CLI's --store, copy): a
// postgres:// (or postgresql://) URL names a PostgreSQL store; any other URL is refused, never
// taken for a directory; anything else is a directory path.

/** A PostgreSQL store's connection URL. */
export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//.test(s)
}

/** Any `scheme://…` string. */
export function isUrl(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(s)
}

/** The scheme of a URL as `scheme://`, for messages that must not show the rest (credentials). */
export function urlScheme(s: string): string {
  return s.replace(/:\/\/.*/s, '://')
}
