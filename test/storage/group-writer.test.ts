// Group commit: writes queued while a batch is in flight go out together in the next batch, and
// that batch is fsynced if the writer is `sync` or any write in it was made under syncRequested
// (how a holding process serves a caller that opened the store with `sync`).
import { describe, expect, it } from 'vitest'
import { GroupWriter, syncRequested, type BatchOp } from '../../src/storage/group-writer.js'

const put = (k: number): BatchOp => ({ type: 'put', key: Uint8Array.of(k), value: Uint8Array.of(k) })

/** A target whose batches resolve when the test releases them. */
function target() {
  const batches: { keys: number[]; sync: boolean }[] = []
  const waiting: (() => void)[] = []
  return {
    batches,
    release: () => waiting.splice(0).forEach((f) => f()),
    batch(ops: BatchOp[], o: { sync: boolean }) {
      batches.push({ keys: ops.map((op) => op.key[0]!), sync: o.sync })
      return new Promise<void>((resolve) => waiting.push(resolve))
    },
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0))

describe('GroupWriter', () => {
  it('merges the writes queued behind a batch in flight into one batch, in order', async () => {
    const t = target()
    const w = new GroupWriter(t, false)
    const a = w.write([put(1)])
    const b = w.write([put(2), put(3)])
    const c = w.write([put(4)])
    await tick()
    t.release()
    await a
    await tick()
    t.release()
    await Promise.all([b, c])
    expect(t.batches).toEqual([
      { keys: [1], sync: false },
      { keys: [2, 3, 4], sync: false },
    ])
    expect(w.batches).toBe(2)
    expect(w.syncedBatches).toBe(0)
  })

  it('fsyncs a merged batch when one of its writes was made under syncRequested, and only that batch', async () => {
    const t = target()
    const w = new GroupWriter(t, false)
    const first = w.write([put(1)])
    const relaxed = w.write([put(2)])
    const synced = syncRequested.run(true, () => w.write([put(3)]))
    await tick()
    t.release()
    await first
    await tick()
    t.release()
    await Promise.all([relaxed, synced])
    const after = w.write([put(4)])
    await tick()
    t.release()
    await after
    expect(t.batches).toEqual([
      { keys: [1], sync: false },
      { keys: [2, 3], sync: true },
      { keys: [4], sync: false },
    ])
    expect(w.syncedBatches).toBe(1)
  })

  it('a sync writer fsyncs every batch whatever the context says', async () => {
    const t = target()
    const w = new GroupWriter(t, true)
    const a = syncRequested.run(false, () => w.write([put(1)]))
    await tick()
    t.release()
    await a
    expect(t.batches).toEqual([{ keys: [1], sync: true }])
  })
})
