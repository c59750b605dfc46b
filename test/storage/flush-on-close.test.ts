// Stores opened by path use a 32 MiB LevelDB write buffer; so that the next open does not replay
// up to that much log, a clean close after a large write flushes the memtable to a table first.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FLUSH_ON_CLOSE_BYTES } from '../../src/storage/session-store.js'
import { Store } from '../../src/store.js'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'chainlog-flush-'))
  dirs.push(d)
  return d
}

/** Bytes in LevelDB's write-ahead log files (what the next open must replay). */
async function logBytes(dir: string): Promise<number> {
  let n = 0
  for (const f of await readdir(dir)) if (f.endsWith('.log')) n += (await stat(join(dir, f))).size
  return n
}

async function writeSession(dir: string, entries: number, textBytes: number): Promise<{ sessionId: string; texts: string[] }> {
  const store = await Store.open({ path: dir, durability: 'relaxed' })
  const { sessionId } = await store.createSession({ ts: 1 })
  const texts: string[] = []
  for (let i = 0; i < entries; i++) {
    const text = `${i}:`.padEnd(textBytes, 'abcdefghij'[i % 10])
    texts.push(text)
    await store.append(sessionId, { kind: 'user_input', ts: 2 + i, item: { role: 'user', content: text } })
  }
  await store.close()
  return { sessionId, texts }
}

describe('close after a large write', () => {
  it('leaves no log to replay, and every entry is there on reopen', async () => {
    const dir = await tempDir()
    // 600 entries of 3 KB (below the blob threshold, so they stay in the entry rows): ~1.8 MB.
    const { sessionId, texts } = await writeSession(dir, 600, 3000)
    expect(600 * 3000).toBeGreaterThan(FLUSH_ON_CLOSE_BYTES)
    expect(await logBytes(dir)).toBe(0)
    const store = await Store.open({ path: dir })
    const state = await store.restore(sessionId)
    expect(state.history.map((i) => (i as { content: string }).content)).toEqual(texts)
    expect((await store.verify()).ok).toBe(true)
    await store.close()
  })

  it('a small write is left in the log (no table per close)', async () => {
    const dir = await tempDir()
    const { sessionId } = await writeSession(dir, 5, 100)
    expect(await logBytes(dir)).toBeGreaterThan(0)
    const store = await Store.open({ path: dir })
    expect((await store.readHead(sessionId))?.seq).toBe(5)
    await store.close()
  })
})
