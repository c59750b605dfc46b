// One chunk of a scan read ahead: the next chunk's read (a LevelDB nextv on the thread pool, or
// a SQL query) runs while the caller decodes the current one, instead of after it. For passes
// over whole tables (listSessions, figures), where the main thread otherwise waits on each read.

/** `chunks` as they come, with the next one always requested before the current one is used. */
export async function* prefetched<T>(chunks: AsyncIterable<T>): AsyncGenerator<T> {
  const it = chunks[Symbol.asyncIterator]()
  let next: Promise<IteratorResult<T>> | undefined = it.next()
  try {
    for (;;) {
      const r: IteratorResult<T> = await next
      next = undefined
      if (r.done) return
      next = it.next()
      yield r.value
    }
  } finally {
    // Stopped early (or failed): let the read in flight settle before closing the scan under it.
    if (next) await next.catch(() => undefined)
    await it.return?.()
  }
}
