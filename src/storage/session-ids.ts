// The ids the store gives sessions it is not given one for: UUIDv7 (time-ordered, so ids sort by
// creation), from the uuid package. The package is loaded the first time an id is made, so that
// opening a store to read it (every read-only CLI command) does not load its twenty modules.
let v7: Promise<() => string> | undefined

/** A new session id (UUIDv7). */
export async function newSessionId(): Promise<string> {
  v7 ??= import('uuid').then((m) => m.v7 as () => string)
  return (await v7)()
}
