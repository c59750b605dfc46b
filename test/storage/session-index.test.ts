// Session index rows (`I`): written only in an append's commit, so a refused append writes none;
// bad input is refused before anything is written; deleting a session deletes its rows.
import { afterEach, describe, expect, it } from 'vitest'
import { ErrorCodes } from '../../src/errors.js'
import * as K from '../../src/storage/keys.js'
import type { Store } from '../../src/store.js'
import { closeStores, memStoreOpener } from '../support/stores.js'
import { rejects as expectChainlogError } from '../support/errors.js'

const opened: Store[] = []
const openMem = memStoreOpener(opened)
afterEach(() => closeStores(opened))

const note = (n: number) => ({ kind: 'custom', namespace: 'test', type: 'note', data: { n } }) as const

describe('session index rows', () => {
  it('land with the append that carries them, for the appended session or another existing one, and read back in name order', async () => {
    const store = await openMem()
    const { head } = await store.createSession({ sessionId: 'a' })
    await store.createSession({ sessionId: 'b' })
    await store.append('a', note(1), { expectedHead: head, index: { rows: [['k:2', { x: 2 }], ['k:1', [1, 'one']], ['z', 'last']] } })
    await store.append('b', note(2), { index: { sessionId: 'a', rows: [['k:3', 3], ['z', null]] } })
    expect(await store.readIndex('a', 'k:1')).toEqual([1, 'one'])
    expect(await store.readIndex('a', 'z')).toBeUndefined()
    expect(await store.scanIndex('a')).toEqual([['k:1', [1, 'one']], ['k:2', { x: 2 }], ['k:3', 3]])
    expect(await store.scanIndex('a', { gte: 'k:', lt: 'k;', reverse: true, limit: 2 })).toEqual([['k:3', 3], ['k:2', { x: 2 }]])
    expect(await store.scanIndex('a', { lt: 'k:2' })).toEqual([['k:1', [1, 'one']]])
    expect(await store.scanIndex('b')).toEqual([])
    expect((await store.verify()).ok).toBe(true)
  })

  it('a refused append (stale head) writes none of its rows', async () => {
    const store = await openMem()
    const { head } = await store.createSession({ sessionId: 's' })
    await store.append('s', note(1), { expectedHead: head, index: { rows: [['n', 1]] } })
    await expectChainlogError(store.append('s', note(2), { expectedHead: head, index: { rows: [['n', 2], ['other', true]] } }), ErrorCodes.HEAD_CONFLICT)
    expect(await store.scanIndex('s')).toEqual([['n', 1]])
  })

  it('bad rows are refused with CHAINLOG_INVALID_ARGUMENT and nothing is written', async () => {
    const store = await openMem()
    await store.createSession({ sessionId: 's' })
    const bad: unknown[] = [
      { rows: 'no' },
      { rows: [['', 1]] },
      { rows: [['x'.repeat(513), 1]] },
      { rows: [['k', undefined]] },
      { rows: [['k']] },
      { sessionId: 7, rows: [] },
      { rows: [['k', () => 1]] },
    ]
    for (const index of bad) {
      await expectChainlogError(store.append('s', note(1), { index } as never), ErrorCodes.INVALID_ARGUMENT)
    }
    await expectChainlogError(store.append('s', note(1), { index: { sessionId: 'nope', rows: [['k', 1]] } }), ErrorCodes.SESSION_NOT_FOUND)
    expect(await store.scanIndex('s')).toEqual([])
    expect(await store.scanIndex('nope')).toEqual([])
    const entries = []
    for await (const e of store.entries('s')) entries.push(e)
    expect(entries).toHaveLength(1)
  })

  it("rows for another session are refused when that session is deleted between the append's read and its commit", async () => {
    const store = await openMem()
    await store.createSession({ sessionId: 'writer' })
    await store.createSession({ sessionId: 'target' })
    await store.append('writer', note(1), { index: { sessionId: 'target', rows: [['k', 1]] } })
    // The next append's commit is preceded by a delete of the target (as another process could
    // do at that moment): the first commit with index rows deletes it before passing on.
    const commit = store.commit.bind(store)
    let deleted = false
    store.commit = async (ops, expect) => {
      if (!deleted && ops.some((op) => op.type === 'put' && op.key[0] === K.TAG.index)) {
        deleted = true
        await store.deleteSession('target')
      }
      return commit(ops, expect)
    }
    await expectChainlogError(store.append('writer', note(2), { index: { sessionId: 'target', rows: [['k', 2], ['late', true]] } }), ErrorCodes.SESSION_NOT_FOUND)
    expect(deleted).toBe(true)
    expect(await store.scanIndex('target')).toEqual([])
    const seqs = []
    for await (const e of store.entries('writer')) seqs.push(e.seq)
    expect(seqs).toEqual([0, 1])
  })

  it('deleting a session deletes its rows', async () => {
    const store = await openMem()
    await store.createSession({ sessionId: 'gone' })
    await store.createSession({ sessionId: 'gone2' })
    await store.append('gone', note(1), { index: { rows: [['a', 1], ['b', 2]] } })
    await store.append('gone2', note(1), { index: { rows: [['a', 1]] } })
    await store.deleteSession('gone')
    expect(await store.scanIndex('gone')).toEqual([])
    expect(await store.scanIndex('gone2')).toEqual([['a', 1]])
  })

  it('appendTurn carries index rows in its commit too, and a refused one writes none', async () => {
    const store = await openMem()
    const { head } = await store.createSession({ sessionId: 't' })
    await store.appendTurn('t', [{ role: 'user', content: 'hi' }], { expectedHead: head, index: { rows: [['op:1', { ok: true }]] } })
    expect(await store.readIndex('t', 'op:1')).toEqual({ ok: true })
    await expect(store.appendTurn('t', [{ role: 'user', content: 'again' }], { expectedHead: head, index: { rows: [['op:2', 2]] } })).rejects.toMatchObject({ code: 'CHAINLOG_HEAD_CONFLICT' })
    expect(await store.readIndex('t', 'op:2')).toBeUndefined()
  })
})
