// The session store contract on classic-level, in a fresh directory per test, with durable
// (fsynced) appends; plus what only an on-disk store shows: data survives close and reopen.
// Stores are opened `exclusive: true`: this process holds the directory itself (no sharing
// with other processes), which is the Store the contract is about.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeCanonical } from '../../src/encoding/cbor.js'
import { ChainlogError, ErrorCodes } from '../../src/errors.js'
import { openStore } from '../../src/open.js'
import { storeContract } from './contract.js'

storeContract('classic-level', () => {
  let dir: string | undefined
  return {
    async open() {
      dir = await mkdtemp(join(tmpdir(), 'chainlog-classic-'))
      return openStore({ path: dir, exclusive: true, durability: 'sync' })
    },
    reopen: () => openStore({ path: dir!, exclusive: true, durability: 'sync' }),
    async cleanup() {
      if (dir) await rm(dir, { recursive: true, force: true })
    },
  }
})

describe('classic-level on disk', () => {
  const dirs: string[] = []
  const fresh = async () => {
    const d = await mkdtemp(join(tmpdir(), 'chainlog-classic-'))
    dirs.push(d)
    return d
  }
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })

  it('defaults to sync durability and creates the directory', async () => {
    const dir = join(await fresh(), 'nested', 'store')
    const store = await openStore({ path: dir, exclusive: true })
    expect(store.durability).toBe('sync')
    await store.createSession({ sessionId: 'a', ts: 1 })
    await store.close()
    const again = await openStore({ path: dir, exclusive: true })
    expect((await again.listSessions()).map((s) => s.sessionId)).toEqual(['a'])
    await again.close()
  })

  it('many sessions and turns survive several close/reopen cycles, by path or by db', async () => {
    const dir = await fresh()
    const expected = new Map<string, { head: string; length: number }>()
    for (let cycle = 0; cycle < 3; cycle++) {
      const store = cycle === 1 ? await openStore({ db: new ClassicLevel(dir), durability: 'sync' }) : await openStore({ path: dir, exclusive: true })
      // Everything written before is still there, exactly.
      for (const [sid, want] of expected) {
        expect(await store.head(sid)).toBe(want.head)
        let n = 0
        for await (const e of store.entries(sid)) expect(e.seq).toBe(n++)
        expect(n).toBe(want.length)
      }
      for (let s = 0; s < 5; s++) {
        const sid = `c${cycle}-s${s}`
        await store.createSession({ sessionId: sid, ts: cycle })
        const results = await Promise.all(
          [0, 1, 2].map((k) => store.appendTurn(sid, [{ role: 'user', content: `q${k}` }, { role: 'assistant', content: `a${k}` }], { ts: k })),
        )
        expect(results.flatMap((r) => r.entries)).toHaveLength(6)
        expected.set(sid, { head: await store.head(sid), length: 7 })
      }
      // Earlier sessions keep taking appends with the head they last saw.
      for (const [sid, want] of expected) {
        if (sid.startsWith(`c${cycle}-`)) continue
        const r = await store.append(sid, { kind: 'cache_unlocked', ts: 9 }, { expectedHead: want.head })
        expected.set(sid, { head: r.hash, length: want.length + 1 })
      }
      expect((await store.listSessions()).map((s) => [s.sessionId, s.head, s.length])).toEqual(
        [...expected].sort(([a], [b]) => (a < b ? -1 : 1)).map(([sid, v]) => [sid, v.head, v.length]),
      )
      await store.close()
    }
  })

  // A refused open must not leave this process holding the directory's lock.
  for (const [what, value, codes] of [
    ['a newer format version', encodeCanonical({ version: 99 }), [ErrorCodes.UNSUPPORTED_VERSION]],
    ['a format row that is not CBOR', new Uint8Array([0xff, 0x00]), [ErrorCodes.DECODE_FAILED, ErrorCodes.CORRUPT_STORE, ErrorCodes.UNSUPPORTED_VERSION]],
    ['a format row of CBOR null', new Uint8Array([0xf6]), [ErrorCodes.DECODE_FAILED, ErrorCodes.CORRUPT_STORE, ErrorCodes.UNSUPPORTED_VERSION]],
  ] as const) {
    it(`a store with ${what} is refused, and the refusal releases the directory`, async () => {
      const dir = await fresh()
      const raw = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
      await raw.put(new Uint8Array([0x46]), value)
      await raw.close()
      for (let attempt = 0; attempt < 2; attempt++) {
        let err: unknown
        try {
          const s = await openStore({ path: dir, exclusive: true })
          await s.close()
        } catch (e) {
          err = e
        }
        expect(err, `attempt ${attempt}`).toBeInstanceOf(ChainlogError)
        expect(codes, `attempt ${attempt}: ${(err as ChainlogError).code}`).toContain((err as ChainlogError).code)
      }
      const again = new ClassicLevel(dir)
      await again.open()
      await again.close()
    })
  }
})
